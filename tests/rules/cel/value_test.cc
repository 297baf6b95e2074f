#include "rules/cel/value.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "rules/cel/json.h"

namespace storepulse::cel {
namespace {

using ::testing::HasSubstr;

Value list(std::vector<Value> items) { return Value::ofList(std::make_shared<ListValue>(std::move(items))); }

std::optional<int> compare(const Value& a, const Value& b) {
  bool comparable;
  return compareValues(a, b, &comparable);
}

TEST(CelValue, ScalarsAndViewsOwnNothing) {
  static_assert(sizeof(Value) <= 40, "a Value stays small enough to pass around by value");
  std::string text = "borrowed";
  Value v = Value::stringView(text);
  EXPECT_EQ(v.stringValue().data(), text.data());
  Value owned = Value::ownedString("owned");
  Value view = owned.view();
  EXPECT_EQ(view.stringValue().data(), owned.stringValue().data());
}

TEST(CelValue, NumbersAreEqualAcrossKinds) {
  EXPECT_TRUE(valuesEqual(Value::ofInt(1), Value::ofDouble(1.0)));
  EXPECT_TRUE(valuesEqual(Value::ofUint(1), Value::ofInt(1)));
  EXPECT_FALSE(valuesEqual(Value::ofInt(-1), Value::ofUint(std::numeric_limits<uint64_t>::max())));
  EXPECT_FALSE(valuesEqual(Value::ofDouble(NAN), Value::ofDouble(NAN)));
  EXPECT_FALSE(valuesEqual(Value::ofInt(1), Value::stringView("1")));
  EXPECT_TRUE(valuesEqual(Value::null(), Value::null()));
}

TEST(CelValue, ListsAndMapsCompareElementWise) {
  EXPECT_TRUE(valuesEqual(list({Value::ofInt(1), Value::stringView("a")}),
                          list({Value::ofDouble(1.0), Value::ownedString("a")})));
  EXPECT_FALSE(valuesEqual(list({Value::ofInt(1)}), list({Value::ofInt(1), Value::ofInt(2)})));
  Value m1 = MapValue::make({{Value::ofInt(1), Value::stringView("x")}, {Value::stringView("k"), Value::ofBool(true)}});
  Value m2 = MapValue::make({{Value::stringView("k"), Value::ofBool(true)}, {Value::ofUint(1), Value::stringView("x")}});
  EXPECT_TRUE(valuesEqual(m1, m2));  // order does not matter, 1 and 1u are the same key
}

TEST(CelValue, OrdersNumbersOnOneLine) {
  EXPECT_EQ(compare(Value::ofInt(-1), Value::ofUint(0)), -1);
  EXPECT_EQ(compare(Value::ofUint(2), Value::ofDouble(1.5)), 1);
  EXPECT_EQ(compare(Value::ofInt(std::numeric_limits<int64_t>::max()), Value::ofDouble(1e19)), -1);
  EXPECT_EQ(compare(Value::ofDouble(NAN), Value::ofInt(1)), std::nullopt);
  EXPECT_EQ(compare(Value::stringView("a"), Value::stringView("b")), -1);
  EXPECT_EQ(compare(Value::stringView("\xC3\xA9"), Value::stringView("z")), 1);  // by code point: é > z
  bool comparable = true;
  EXPECT_EQ(compareValues(Value::ofInt(1), Value::stringView("1"), &comparable), std::nullopt);
  EXPECT_FALSE(comparable);
}

TEST(CelValue, MapFindsNumericKeysAcrossKinds) {
  Value m = MapValue::make({{Value::ofInt(1), Value::stringView("one")}, {Value::ofInt(-2), Value::stringView("neg")}});
  ASSERT_EQ(m.kind(), ValueKind::kMap);
  ASSERT_NE(m.mapValue().find(Value::ofUint(1)), nullptr);
  EXPECT_EQ(m.mapValue().find(Value::ofDouble(1.0))->stringValue(), "one");
  EXPECT_EQ(m.mapValue().find(Value::ofDouble(-2.0))->stringValue(), "neg");
  EXPECT_EQ(m.mapValue().find(Value::ofDouble(1.5)), nullptr);
  EXPECT_EQ(m.mapValue().find(Value::stringView("1")), nullptr);
}

TEST(CelValue, MapRejectsRepeatedAndUnsupportedKeys) {
  Value repeated = MapValue::make({{Value::ofInt(1), Value::null()}, {Value::ofUint(1), Value::null()}});
  ASSERT_TRUE(repeated.isError());
  EXPECT_THAT(repeated.errorMessage(), HasSubstr("duplicate map key"));
  Value bad = MapValue::make({{Value::ofDouble(1.5), Value::null()}});
  ASSERT_TRUE(bad.isError());
  EXPECT_THAT(bad.errorMessage(), HasSubstr("unsupported map key type: double"));
}

TEST(CelValue, CountsCodePointsAndValidatesUtf8) {
  EXPECT_EQ(utf8Length("h\xC3\xA9llo \xF0\x9F\x98\x80"), 7);
  EXPECT_TRUE(isValidUtf8("\xE4\xB8\xAD\xE6\x96\x87"));
  EXPECT_FALSE(isValidUtf8("\xC3"));          // truncated
  EXPECT_FALSE(isValidUtf8("\xC0\x80"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(isValidUtf8("\xFF"));
}

TEST(CelValue, ConvertsToTypedJson) {
  EXPECT_EQ(toTypedJson(Value::ofInt(-3)).dump(), R"({"type":"int","value":"-3"})");
  EXPECT_EQ(toTypedJson(Value::ofDouble(0.1)).dump(), R"({"type":"double","value":"0.1"})");
  EXPECT_EQ(toTypedJson(Value::ofDouble(-INFINITY)).dump(), R"({"type":"double","value":"-Infinity"})");
  EXPECT_EQ(toTypedJson(Value::bytesView(std::string_view("\xFF\x00", 2))).dump(), R"({"type":"bytes","value":"/wA="})");
  EXPECT_EQ(toTypedJson(Value::ofDuration({1'500'000'000})).dump(), R"({"type":"duration","value":"1.5s"})");
  EXPECT_EQ(toTypedJson(MapValue::make({{Value::stringView("k"), Value::null()}})).dump(),
            R"({"type":"map","value":[{"key":{"type":"string","value":"k"},"value":{"type":"null","value":null}}]})");
}

TEST(CelValue, ReadsJsonIntegersAsIntAndOtherNumbersAsDouble) {
  auto v = fromJson(nlohmann::json::parse(R"({"n": 2, "x": 2.5, "l": [true, null], "s": "é"})"));
  ASSERT_TRUE(v.isOk());
  const MapValue& m = v->mapValue();
  EXPECT_EQ(m.find(Value::stringView("n"))->kind(), ValueKind::kInt);
  EXPECT_EQ(m.find(Value::stringView("x"))->kind(), ValueKind::kDouble);
  EXPECT_EQ(m.find(Value::stringView("l"))->listValue().size(), 2u);
  EXPECT_FALSE(fromJson(nlohmann::json::parse("18446744073709551615")).isOk());
}

}  // namespace
}  // namespace storepulse::cel
