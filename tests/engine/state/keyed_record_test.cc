#include "engine/state/keyed_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace storepulse {
namespace {

std::string record(std::initializer_list<std::pair<uint64_t, std::string>> entries) {
  std::string out;
  keyed_record::begin(out, entries.size());
  for (const auto& [id, bytes] : entries) keyed_record::add(out, id, bytes);
  return out;
}

std::string merged(const std::string* base, const std::vector<std::string>& operands) {
  std::vector<std::string_view> views(operands.begin(), operands.end());
  const std::string_view base_view = base ? std::string_view(*base) : std::string_view();
  std::string out;
  EXPECT_TRUE(keyed_record::merge(base ? &base_view : nullptr, views, out));
  return out;
}

TEST(KeyedRecord, MergeReplacesByIdInPlaceAndAppendsNewIdsInOrder) {
  const std::string base = record({{7, "seven"}, {1, "one"}});
  EXPECT_EQ(merged(&base, {record({{1, "uno"}, {9, "nine"}}), record({{9, "nueve"}, {3, "three"}})}),
            record({{7, "seven"}, {1, "uno"}, {9, "nueve"}, {3, "three"}}));
  EXPECT_EQ(merged(nullptr, {record({{2, "x"}})}), record({{2, "x"}}));
  EXPECT_EQ(merged(&base, {}), base);
  const std::string binary = record({{0, std::string("\0\xff", 2)}});
  EXPECT_EQ(merged(&binary, {record({{1, ""}})}), record({{0, std::string("\0\xff", 2)}, {1, ""}}));
}

// Operands combined first (RocksDB's partial merge) give what applying them
// one by one gives.
TEST(KeyedRecord, CombiningOperandsFirstGivesTheSameRecord) {
  const std::string base = record({{1, "a"}, {2, "b"}});
  const std::vector<std::string> operands = {record({{2, "b2"}, {3, "c"}}), record({{1, "a2"}}), record({{3, "c2"}})};
  const std::string combined = merged(nullptr, operands);
  EXPECT_EQ(merged(&base, {combined}), merged(&base, operands));
}

TEST(KeyedRecord, RefusesWhatIsNotAKeyedRecord) {
  std::string out;
  const std::string_view garbage = "\x01\x01";
  const std::string good = record({{1, "a"}});
  const std::string_view good_view = good;
  EXPECT_FALSE(keyed_record::merge(&garbage, {}, out));
  EXPECT_FALSE(keyed_record::merge(&good_view, std::vector<std::string_view>{garbage}, out));
  const std::string truncated = good.substr(0, good.size() - 1);
  const std::string_view truncated_view = truncated;
  EXPECT_FALSE(keyed_record::merge(nullptr, std::vector<std::string_view>{truncated_view}, out));
}

}  // namespace
}  // namespace storepulse
