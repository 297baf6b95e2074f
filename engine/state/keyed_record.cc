#include "engine/state/keyed_record.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/state/codec.h"

namespace storepulse::keyed_record {

void begin(std::string& out, uint64_t count) {
  Encoder w(out);
  w.u64(kFormat);
  w.u64(count);
}

void add(std::string& out, uint64_t id, std::string_view bytes) {
  Encoder w(out);
  w.fixed64(id);
  w.str(bytes);
}

namespace {

// Appends the entries of `record` to `entries`, replacing those with the
// same id in place; false when `record` is not a keyed record.
bool apply(std::string_view record, std::vector<std::pair<uint64_t, std::string_view>>& entries) {
  Decoder r(record);
  if (r.u64() != kFormat || r.failed()) return false;
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    const uint64_t id = r.fixed64();
    const std::string_view bytes = r.view();
    if (r.failed()) break;
    auto it = std::find_if(entries.begin(), entries.end(), [id](const auto& e) { return e.first == id; });
    if (it != entries.end()) {
      it->second = bytes;
    } else {
      entries.emplace_back(id, bytes);
    }
  }
  return !r.failed() && r.atEnd();
}

}  // namespace

bool merge(const std::string_view* base, std::span<const std::string_view> operands, std::string& out) {
  std::vector<std::pair<uint64_t, std::string_view>> entries;  // views into base and operands
  if (base != nullptr && !apply(*base, entries)) return false;
  for (std::string_view operand : operands) {
    if (!apply(operand, entries)) return false;
  }
  out.clear();
  begin(out, entries.size());
  for (const auto& [id, bytes] : entries) add(out, id, bytes);
  return true;
}

}  // namespace storepulse::keyed_record
