#include "engine/alerts/alert.h"

#include <fmt/format.h>

#include "engine/core/time.h"

namespace storepulse {
namespace {

// FNV-1a over the parts with a separator that cannot occur in them
// unescaped: stable across processes and versions, as ids must be.
class IdHash {
 public:
  void add(std::string_view s) {
    for (unsigned char c : s) step(c);
    step(0xff);
  }

  uint64_t value() const { return h_; }

 private:
  void step(unsigned char c) {
    h_ ^= c;
    h_ *= 0x100000001b3ull;
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace

std::string alertId(std::string_view rule, const std::vector<std::string>& parts, int64_t event_ts_ms) {
  IdHash h;
  h.add(rule);
  for (const std::string& p : parts) h.add(p);
  h.add(std::to_string(event_ts_ms));
  return fmt::format("{:016x}", h.value());
}

nlohmann::ordered_json Alert::toJson() const {
  nlohmann::ordered_json j = {
      {"id", id},
      {"rule", rule},
      {"severity", severity},
      {"title", title},
      {"recipient", {{"kind", recipient_kind}, {"id", recipient}}},
      {"event_ts", formatRfc3339Millis(event_ts_ms)},
      {"fired_ts", formatRfc3339Millis(fired_ts_ms)},
      {"facts", facts},
  };
  if (!body.empty()) j["body"] = body;
  if (!customer_id.empty()) j["customer_id"] = customer_id;
  if (!store_id.empty()) j["store_id"] = store_id;
  if (!guide_id.empty()) j["guide_id"] = guide_id;
  if (!recommendations.empty()) j["recommendations"] = recommendations;
  if (shadow) j["shadow"] = true;
  return j;
}

}  // namespace storepulse
