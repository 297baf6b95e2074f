#include "engine/event/event_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "engine/core/time.h"

namespace storepulse {
namespace {

using ::testing::HasSubstr;

// Minimal valid bodies per type, to which a case adds or breaks one field.
constexpr const char* kClick = R"({"customer_id":"c1","sku":"s1","ts":1700000000000})";

std::string nested(size_t depth) {
  return R"({"customer_id":"c1","sku":"s1","ts":1,"x":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string manyItems(size_t n) {
  std::string items;
  for (size_t i = 0; i < n; ++i) items += std::string(i ? "," : "") + R"({"sku":"s","qty":1,"price":1})";
  return R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[)" + items + "]}";
}

struct BadCase {
  std::string name;  // the test's name suffix
  EventType type;
  std::string json;
  InvalidReason reason;
  std::string detail;  // a substring of the rejection's detail
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

std::vector<BadCase> badCases() {
  const std::string long_id(257, 'x');
  return {
      // Not JSON at all.
      {"NotJson", EventType::kClick, "hello", InvalidReason::kInvalidJson, "not valid JSON"},
      {"EmptyMessage", EventType::kClick, "", InvalidReason::kInvalidJson, "not valid JSON"},
      {"TruncatedJson", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":17)",
       InvalidReason::kInvalidJson, "not valid JSON"},
      {"TrailingGarbage", EventType::kClick, std::string(kClick) + " x", InvalidReason::kInvalidJson,
       "not valid JSON"},
      {"TwoObjects", EventType::kClick, std::string(kClick) + kClick, InvalidReason::kInvalidJson, "not valid JSON"},
      {"InvalidUtf8", EventType::kClick, "{\"customer_id\":\"c\xff\",\"sku\":\"s1\",\"ts\":1}",
       InvalidReason::kInvalidJson, "UTF-8"},
      {"NestedDeeperThanMaxDepth", EventType::kClick, nested(40), InvalidReason::kInvalidJson, "deep"},
      {"Oversized", EventType::kClick,
       R"({"customer_id":"c1","sku":"s1","ts":1,"pad":")" + std::string(70000, 'p') + "\"}",
       InvalidReason::kOversized, "exceeds the limit of 65536"},
      // JSON, but not an object.
      {"ArrayInsteadOfObject", EventType::kClick, std::string("[") + kClick + "]", InvalidReason::kNotAnObject,
       "must be a JSON object"},
      {"StringInsteadOfObject", EventType::kClick, R"("click")", InvalidReason::kNotAnObject, "JSON object"},
      {"NumberInsteadOfObject", EventType::kClick, "42", InvalidReason::kNotAnObject, "JSON object"},
      {"NullInsteadOfObject", EventType::kClick, "null", InvalidReason::kNotAnObject, "JSON object"},
      // Each required field of each type, missing.
      {"ClickWithoutCustomerId", EventType::kClick, R"({"sku":"s1","ts":1})", InvalidReason::kMissingField,
       "required field 'customer_id' of click events is missing"},
      {"ClickWithoutSku", EventType::kClick, R"({"customer_id":"c1","ts":1})", InvalidReason::kMissingField,
       "field 'sku'"},
      {"ClickWithoutTs", EventType::kClick, R"({"customer_id":"c1","sku":"s1"})", InvalidReason::kMissingField,
       "field 'ts'"},
      {"ScanWithoutStoreId", EventType::kScan, R"({"customer_id":"c1","ts":1,"sku":"s1"})",
       InvalidReason::kMissingField, "required field 'store_id' of scan events"},
      {"PurchaseWithoutOrderId", EventType::kPurchase,
       R"({"customer_id":"c1","ts":1,"items":[{"sku":"s","qty":1,"price":1}]})", InvalidReason::kMissingField,
       "field 'order_id' of purchase events"},
      {"PurchaseWithoutItems", EventType::kPurchase, R"({"order_id":"o1","customer_id":"c1","ts":1})",
       InvalidReason::kMissingField, "field 'items'"},
      {"PurchaseItemWithoutSku", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"qty":1,"price":1}]})",
       InvalidReason::kMissingField, "field 'sku' of items[0]"},
      {"PurchaseItemWithoutPrice", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"sku":"s","qty":1},{"sku":"s","qty":1}]})",
       InvalidReason::kMissingField, "field 'price' of items[0]"},
      {"InventoryWithoutAvailable", EventType::kInventory, R"({"sku":"s1","store_id":"st1","ts":1})",
       InvalidReason::kMissingField, "required field 'available'"},
      {"InventoryWithoutSku", EventType::kInventory, R"({"available":3,"store_id":"st1","ts":1})",
       InvalidReason::kMissingField, "field 'sku'"},
      {"CustomerWithoutTs", EventType::kCustomer, R"({"customer_id":"c1","name":"Li"})",
       InvalidReason::kMissingField, "field 'ts' of customer events"},
      {"StoreWithoutStoreId", EventType::kStore, R"({"name":"Shop","ts":1})", InvalidReason::kMissingField,
       "field 'store_id' of store events"},
      {"NullForRequiredField", EventType::kClick, R"({"customer_id":null,"sku":"s1","ts":1})",
       InvalidReason::kMissingField, "field 'customer_id'"},
      // Wrong JSON types.
      {"CustomerIdNumber", EventType::kClick, R"({"customer_id":42,"sku":"s1","ts":1})",
       InvalidReason::kWrongType, "field 'customer_id' must be a string"},
      {"TsFloat", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":1700000000000.5})",
       InvalidReason::kWrongType, "field 'ts' must be an integer"},
      {"TsBool", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":true})", InvalidReason::kWrongType,
       "field 'ts'"},
      {"TsObject", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":{"ms":1}})",
       InvalidReason::kWrongType, "field 'ts'"},
      {"QtyString", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"sku":"s","qty":"2","price":1}]})",
       InvalidReason::kWrongType, "field 'qty' of items[0] must be an integer"},
      {"ItemPriceString", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"sku":"s","qty":2,"price":"9.90"}]})",
       InvalidReason::kWrongType, "field 'price' of items[0] must be a number"},
      {"ClickPriceString", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":1,"price":"9.90"})",
       InvalidReason::kWrongType, "field 'price' must be a number"},
      {"AvailableDouble", EventType::kInventory, R"({"sku":"s1","store_id":"st1","ts":1,"available":2.5})",
       InvalidReason::kWrongType, "field 'available' must be an integer"},
      {"ItemsObject", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":{"sku":"s","qty":1,"price":1}})",
       InvalidReason::kWrongType, "field 'items' must be an array"},
      {"ItemNotAnObject", EventType::kPurchase, R"({"order_id":"o1","customer_id":"c1","ts":1,"items":["s"]})",
       InvalidReason::kWrongType, "items[0] must be an object"},
      {"TagsNotArray", EventType::kCustomer, R"({"customer_id":"c1","ts":1,"tags":"vip"})",
       InvalidReason::kWrongType, "field 'tags' must be an array of strings"},
      {"TagsWithNonString", EventType::kCustomer, R"({"customer_id":"c1","ts":1,"tags":["vip",7]})",
       InvalidReason::kWrongType, "every entry of field 'tags' must be a string"},
      {"TypeNotAString", EventType::kClick, R"({"type":1,"customer_id":"c1","sku":"s1","ts":1})",
       InvalidReason::kWrongType, "field 'type' must be a string"},
      {"NameNotAString", EventType::kStore, R"({"store_id":"st1","name":["Shop"]})", InvalidReason::kWrongType,
       "field 'name' must be a string"},
      // Right type, impossible value.
      {"EmptyCustomerId", EventType::kClick, R"({"customer_id":"","sku":"s1","ts":1})",
       InvalidReason::kInvalidValue, "field 'customer_id' must not be empty"},
      {"NegativePrice", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":1,"price":-0.01})",
       InvalidReason::kInvalidValue, "field 'price' must not be negative"},
      {"NegativeItemPrice", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"sku":"s","qty":1,"price":-5}]})",
       InvalidReason::kInvalidValue, "field 'price' of items[0] must not be negative"},
      {"NegativeTotal", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"total":-1,"items":[{"sku":"s","qty":1,"price":5}]})",
       InvalidReason::kInvalidValue, "field 'total' must not be negative"},
      {"QtyZero", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"sku":"s","qty":0,"price":1}]})",
       InvalidReason::kInvalidValue, "field 'qty' of items[0] must be > 0"},
      {"QtyNegative", EventType::kPurchase,
       R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[{"sku":"a","qty":1,"price":1},{"sku":"s","qty":-2,"price":1}]})",
       InvalidReason::kInvalidValue, "field 'qty' of items[1] must be > 0"},
      {"ItemsEmpty", EventType::kPurchase, R"({"order_id":"o1","customer_id":"c1","ts":1,"items":[]})",
       InvalidReason::kInvalidValue, "field 'items' must not be empty"},
      {"TooManyItems", EventType::kPurchase, manyItems(1001), InvalidReason::kInvalidValue,
       "more than 1000 entries"},
      {"TsNegative", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":-1})", InvalidReason::kInvalidValue,
       "outside years 1970..9999"},
      {"TsAfterYear9999", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":253402300800000})",
       InvalidReason::kInvalidValue, "outside years 1970..9999"},
      {"TsBadString", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":"yesterday"})",
       InvalidReason::kInvalidValue, "RFC 3339"},
      {"TsStringWithoutOffset", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":"2024-05-01T10:00:00"})",
       InvalidReason::kInvalidValue, "RFC 3339"},
      {"Lat91", EventType::kStore, R"({"store_id":"st1","lat":91,"lon":0})", InvalidReason::kInvalidValue,
       "field 'lat' is out of range"},
      {"LonMinus181", EventType::kStore, R"({"store_id":"st1","lat":0,"lon":-181.5})", InvalidReason::kInvalidValue,
       "field 'lon' is out of range"},
      {"IdLongerThanMaxIdLength", EventType::kClick,
       R"({"customer_id":")" + long_id + R"(","sku":"s1","ts":1})", InvalidReason::kInvalidValue,
       "field 'customer_id' is longer than 256 bytes"},
      {"AvailablePastInt64", EventType::kInventory,
       R"({"sku":"s1","store_id":"st1","ts":1,"available":18446744073709551615})", InvalidReason::kInvalidValue,
       "field 'available' is out of range"},
      // Numbers past what the parser represents are rejected whole (simdjson
      // does not hand out big integers): still dead-lettered, never wrapped.
      {"AvailablePastUint64", EventType::kInventory,
       R"({"sku":"s1","store_id":"st1","ts":1,"available":99999999999999999999})", InvalidReason::kInvalidJson,
       "number"},
      {"PricePastDouble", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":1,"price":1e400})",
       InvalidReason::kInvalidJson, "number"},
      {"EmptyTag", EventType::kCustomer, R"({"customer_id":"c1","ts":1,"tags":[""]})",
       InvalidReason::kInvalidValue, "must not be empty"},
      // Ambiguous or mislabelled messages.
      {"DuplicateField", EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":1,"customer_id":"c2"})",
       InvalidReason::kDuplicateField, "field 'customer_id' appears more than once"},
      {"DuplicateFieldFirstNull", EventType::kClick, R"({"customer_id":null,"sku":"s1","ts":1,"customer_id":"c2"})",
       InvalidReason::kDuplicateField, "field 'customer_id' appears more than once"},
      {"UnknownType", EventType::kClick, R"({"type":"clik","customer_id":"c1","sku":"s1","ts":1})",
       InvalidReason::kUnknownType, "unknown event type 'clik'"},
      {"TypeMismatchingTopic", EventType::kClick,
       R"({"type":"purchase","customer_id":"c1","sku":"s1","ts":1})", InvalidReason::kTypeMismatch,
       "a 'purchase' event on a topic of 'click' events"},
  };
}

class RejectsBadMessage : public ::testing::TestWithParam<BadCase> {};

TEST_P(RejectsBadMessage, WithReasonAndDetail) {
  const BadCase& c = GetParam();
  EventDecoder decoder;
  Event event;
  const auto rejection = decoder.decode(c.type, c.json, event);
  ASSERT_TRUE(rejection.has_value()) << "accepted: " << c.json.substr(0, 200);
  EXPECT_EQ(invalidReasonName(rejection->reason), invalidReasonName(c.reason));
  EXPECT_THAT(rejection->detail, HasSubstr(c.detail));
}

INSTANTIATE_TEST_SUITE_P(EventDecoder, RejectsBadMessage, ::testing::ValuesIn(badCases()),
                         [](const auto& info) { return info.param.name; });

TEST(EventDecoderTable, CoversAtLeastTwentyFiveKindsOfBadMessageAndEveryReason) {
  const auto cases = badCases();
  EXPECT_GE(cases.size(), 25u);
  bool reasons[kInvalidReasonCount] = {};
  for (const auto& c : cases) reasons[static_cast<size_t>(c.reason)] = true;
  for (size_t r = 0; r < kInvalidReasonCount; ++r) {
    EXPECT_TRUE(reasons[r]) << invalidReasonName(static_cast<InvalidReason>(r)) << " has no case";
  }
}

TEST(EventDecoder, ReasonNamesAreDistinctMetricLabels) {
  std::set<std::string_view> names;
  for (size_t r = 0; r < kInvalidReasonCount; ++r) names.insert(invalidReasonName(static_cast<InvalidReason>(r)));
  EXPECT_EQ(names.size(), kInvalidReasonCount);
  EXPECT_EQ(invalidReasonName(InvalidReason::kMissingField), "missing_field");
}

TEST(EventDecoder, DecodesClickWithAllOptionalFields) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kClick,
                           R"({"type":"click","customer_id":"c1","sku":"s1","ts":1700000000000,"channel":"app",
                               "session_id":"sess-9","category":"shoes","price":59.5})",
                           e),
            std::nullopt);
  EXPECT_EQ(e.type, EventType::kClick);
  EXPECT_EQ(e.customer_id, "c1");
  EXPECT_EQ(e.sku, "s1");
  EXPECT_EQ(e.ts_ms, 1700000000000);
  EXPECT_EQ(e.channel, "app");
  EXPECT_EQ(e.session_id, "sess-9");
  EXPECT_EQ(e.category, "shoes");
  EXPECT_EQ(e.price, 59.5);
}

TEST(EventDecoder, DecodesScanWithAllOptionalFields) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kScan,
                           R"({"customer_id":"c1","ts":5,"store_id":"st1","sku":"s1","guide_id":"g7",
                               "category":"bags","price":120})",
                           e),
            std::nullopt);
  EXPECT_EQ(e.type, EventType::kScan);
  EXPECT_EQ(e.store_id, "st1");
  EXPECT_EQ(e.sku, "s1");
  EXPECT_EQ(e.guide_id, "g7");
  EXPECT_TRUE(e.has_guide_id);
  EXPECT_EQ(e.category, "bags");
  EXPECT_EQ(e.price, 120.0);  // an integer is a fine price
}

TEST(EventDecoder, DecodesJoinScanWithoutSku) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kScan, R"({"customer_id":"c1","ts":5,"store_id":"st1","guide_id":"g7"})", e),
            std::nullopt);
  EXPECT_TRUE(e.sku.empty());
  EXPECT_TRUE(e.has_guide_id);
}

TEST(EventDecoder, DecodesPurchaseWithAllOptionalFieldsAndGivenTotal) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kPurchase,
                           R"({"order_id":"o1","customer_id":"c1","ts":7,"store_id":"st1","channel":"store",
                               "guide_id":"g7","total":20,
                               "items":[{"sku":"a","qty":2,"price":10.5,"category":"tea"},
                                        {"sku":"b","qty":1,"price":3.25}]})",
                           e),
            std::nullopt);
  EXPECT_EQ(e.order_id, "o1");
  EXPECT_EQ(e.store_id, "st1");
  EXPECT_EQ(e.channel, "store");
  EXPECT_EQ(e.guide_id, "g7");
  EXPECT_DOUBLE_EQ(e.total, 20.0);  // the given total wins (a discount)
  ASSERT_EQ(e.items.size(), 2u);
  EXPECT_EQ(e.items[0].sku, "a");
  EXPECT_EQ(e.items[0].qty, 2);
  EXPECT_DOUBLE_EQ(e.items[0].price, 10.5);
  EXPECT_EQ(e.items[0].category, "tea");
  EXPECT_EQ(e.items[1].sku, "b");
  EXPECT_TRUE(e.items[1].category.empty());
}

TEST(EventDecoder, PurchaseTotalDefaultsToSumOfQtyTimesPrice) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kPurchase,
                           R"({"order_id":"o1","customer_id":"c1","ts":7,
                               "items":[{"sku":"a","qty":2,"price":10.5},{"sku":"b","qty":1,"price":3.25}]})",
                           e),
            std::nullopt);
  EXPECT_DOUBLE_EQ(e.total, 24.25);
}

TEST(EventDecoder, PurchaseTotalNullFallsBackToSum) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kPurchase,
                           R"({"order_id":"o1","customer_id":"c1","ts":7,"total":null,
                               "items":[{"sku":"a","qty":3,"price":2}]})",
                           e),
            std::nullopt);
  EXPECT_DOUBLE_EQ(e.total, 6.0);
}

TEST(EventDecoder, DecodesInventory) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kInventory, R"({"sku":"s1","store_id":"st1","available":0,"ts":9})", e),
            std::nullopt);
  EXPECT_EQ(e.sku, "s1");
  EXPECT_EQ(e.store_id, "st1");
  EXPECT_EQ(e.available, 0);
  EXPECT_EQ(e.ts_ms, 9);
  // Oversold stock is a fact, not a malformed message.
  ASSERT_EQ(decoder.decode(EventType::kInventory, R"({"sku":"s1","store_id":"st1","available":-3,"ts":9})", e),
            std::nullopt);
  EXPECT_EQ(e.available, -3);
}

TEST(EventDecoder, DecodesCustomerWithAllOptionalFields) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kCustomer,
                           R"({"customer_id":"c1","ts":3,"name":"Li Wei","tier":"gold","guide_id":"g1",
                               "home_store":"st2","tags":["vip","tea-lover"]})",
                           e),
            std::nullopt);
  EXPECT_EQ(e.name, "Li Wei");
  EXPECT_EQ(e.tier, "gold");
  EXPECT_EQ(e.guide_id, "g1");
  EXPECT_TRUE(e.has_guide_id);
  EXPECT_EQ(e.home_store, "st2");
  ASSERT_TRUE(e.tags.has_value());
  EXPECT_EQ(*e.tags, (std::vector<std::string>{"vip", "tea-lover"}));
}

TEST(EventDecoder, EmptyTagListIsPresentAndEmpty) {
  // An explicit [] clears the tags, unlike an absent field.
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kCustomer, R"({"customer_id":"c1","ts":3,"tags":[]})", e), std::nullopt);
  ASSERT_TRUE(e.tags.has_value());
  EXPECT_TRUE(e.tags->empty());
}

TEST(EventDecoder, DecodesStoreWithAllOptionalFields) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kStore,
                           R"({"store_id":"st1","name":"Jing'an","lat":31.22,"lon":121.45,
                               "timezone":"Asia/Shanghai","daily_target":50000,"manager_id":"m1",
                               "ts":"2024-05-01T00:00:00Z"})",
                           e),
            std::nullopt);
  EXPECT_EQ(e.store_id, "st1");
  EXPECT_EQ(e.name, "Jing'an");
  EXPECT_EQ(e.lat, 31.22);
  EXPECT_EQ(e.lon, 121.45);
  EXPECT_EQ(e.timezone, "Asia/Shanghai");
  EXPECT_EQ(e.daily_target, 50000.0);
  EXPECT_EQ(e.manager_id, "m1");
  EXPECT_EQ(e.ts_ms, parseRfc3339Millis("2024-05-01T00:00:00Z"));
}

TEST(EventDecoder, StoreWithoutTsHasTsZero) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kStore, R"({"store_id":"st1"})", e), std::nullopt);
  EXPECT_EQ(e.ts_ms, 0);
  EXPECT_FALSE(e.name.has_value());
}

TEST(EventDecoder, AcceptsTsAsRfc3339String) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kClick, R"({"customer_id":"c1","sku":"s1","ts":"2024-05-01T18:30:00.250+08:00"})", e),
            std::nullopt);
  EXPECT_EQ(e.ts_ms, parseRfc3339Millis("2024-05-01T10:30:00.250Z"));
}

TEST(EventDecoder, AcceptsExtraUnknownFields) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kClick,
                           R"({"customer_id":"c1","campaign":"618","nested":{"a":[1,{"b":null}]},"sku":"s1",
                               "available":"not-a-click-field","ts":1,"x":1.5e3})",
                           e),
            std::nullopt);
  EXPECT_EQ(e.customer_id, "c1");
  EXPECT_EQ(e.sku, "s1");
  EXPECT_EQ(e.available, 0);  // a known field of another type is ignored, not read
}

TEST(EventDecoder, TreatsNullOptionalFieldsAsAbsent) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kClick,
                           R"({"customer_id":"c1","sku":"s1","ts":1,"price":null,"channel":null,"category":null})", e),
            std::nullopt);
  EXPECT_FALSE(e.price.has_value());
  EXPECT_TRUE(e.channel.empty());
  EXPECT_TRUE(e.category.empty());

  ASSERT_EQ(decoder.decode(EventType::kCustomer,
                           R"({"customer_id":"c1","ts":1,"name":null,"tags":null,"guide_id":null})", e),
            std::nullopt);
  EXPECT_FALSE(e.name.has_value());
  EXPECT_FALSE(e.tags.has_value());
  EXPECT_FALSE(e.has_guide_id);
}

TEST(EventDecoder, AcceptsMatchingTypeField) {
  EventDecoder decoder;
  Event e;
  EXPECT_EQ(decoder.decode(EventType::kInventory,
                           R"({"type":"inventory","sku":"s1","store_id":"st1","available":2,"ts":1})", e),
            std::nullopt);
}

TEST(EventDecoder, ReusedDecoderClearsOptionalFieldsOfThePreviousEvent) {
  EventDecoder decoder;
  Event e;
  ASSERT_EQ(decoder.decode(EventType::kCustomer,
                           R"({"customer_id":"c1","ts":3,"name":"Li","tier":"gold","guide_id":"g1",
                               "home_store":"st2","tags":["vip"]})",
                           e),
            std::nullopt);
  ASSERT_EQ(decoder.decode(EventType::kCustomer, R"({"customer_id":"c2","ts":4})", e), std::nullopt);
  EXPECT_EQ(e.customer_id, "c2");
  EXPECT_FALSE(e.name.has_value());
  EXPECT_FALSE(e.tier.has_value());
  EXPECT_FALSE(e.home_store.has_value());
  EXPECT_FALSE(e.tags.has_value());
  EXPECT_FALSE(e.has_guide_id);
  EXPECT_TRUE(e.guide_id.empty());

  ASSERT_EQ(decoder.decode(EventType::kPurchase,
                           R"({"order_id":"o1","customer_id":"c1","ts":7,"store_id":"st1","channel":"store",
                               "total":99,"items":[{"sku":"a","qty":1,"price":5,"category":"tea"}]})",
                           e),
            std::nullopt);
  ASSERT_EQ(decoder.decode(EventType::kClick, R"({"customer_id":"c3","sku":"s9","ts":8})", e), std::nullopt);
  EXPECT_EQ(e.type, EventType::kClick);
  EXPECT_TRUE(e.order_id.empty());
  EXPECT_TRUE(e.store_id.empty());
  EXPECT_TRUE(e.channel.empty());
  EXPECT_TRUE(e.items.empty());
  EXPECT_EQ(e.total, 0);
  EXPECT_FALSE(e.price.has_value());

  ASSERT_EQ(decoder.decode(EventType::kStore, R"({"store_id":"st1","lat":1,"lon":2,"daily_target":3,"timezone":"UTC"})", e),
            std::nullopt);
  ASSERT_EQ(decoder.decode(EventType::kStore, R"({"store_id":"st2"})", e), std::nullopt);
  EXPECT_FALSE(e.lat.has_value());
  EXPECT_FALSE(e.lon.has_value());
  EXPECT_FALSE(e.daily_target.has_value());
  EXPECT_FALSE(e.timezone.has_value());
}

TEST(EventDecoder, KeepsWorkingAcrossManyMixedMessages) {
  // A rejection must leave no state behind that changes the next decode.
  EventDecoder decoder;
  Event e;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "c" + std::to_string(i);
    if (i % 3 == 0) {
      ASSERT_TRUE(decoder.decode(EventType::kClick, "{\"customer_id\":\"" + id + "\",\"sku\":", e).has_value());
    } else if (i % 3 == 1) {
      ASSERT_TRUE(decoder.decode(EventType::kClick, nested(100), e).has_value());
    } else {
      ASSERT_EQ(decoder.decode(EventType::kClick,
                               "{\"customer_id\":\"" + id + "\",\"sku\":\"s\",\"ts\":" + std::to_string(i) + "}", e),
                std::nullopt);
      ASSERT_EQ(e.customer_id, id);
      ASSERT_EQ(e.ts_ms, i);
    }
  }
}

TEST(EventDecoder, HonoursMaxDepthOption) {
  DecoderOptions options;
  options.max_depth = 4;
  EventDecoder decoder(options);
  Event e;
  EXPECT_EQ(decoder.decode(EventType::kClick, nested(2), e), std::nullopt);  // object + 2 arrays
  const auto rejection = decoder.decode(EventType::kClick, nested(8), e);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->reason, InvalidReason::kInvalidJson);
}

TEST(EventDecoder, HonoursMaxMessageBytesExactly) {
  const std::string message = kClick;
  DecoderOptions options;
  options.max_message_bytes = message.size();
  EventDecoder decoder(options);
  Event e;
  EXPECT_EQ(decoder.decode(EventType::kClick, message, e), std::nullopt);
  const auto rejection = decoder.decode(EventType::kClick, message + " ", e);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->reason, InvalidReason::kOversized);
}

TEST(EventDecoder, HonoursMaxIdLengthOption) {
  DecoderOptions options;
  options.max_id_length = 4;
  EventDecoder decoder(options);
  Event e;
  EXPECT_EQ(decoder.decode(EventType::kClick, R"({"customer_id":"abcd","sku":"s1","ts":1})", e), std::nullopt);
  const auto rejection = decoder.decode(EventType::kClick, R"({"customer_id":"abcde","sku":"s1","ts":1})", e);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->reason, InvalidReason::kInvalidValue);
  EXPECT_THAT(rejection->detail, HasSubstr("longer than 4 bytes"));
}

TEST(EventDecoder, DecodesMessageThatIsNotNulTerminated) {
  // Kafka payloads are views into a larger buffer: bytes past the view
  // must not be read as part of the message.
  const std::string buffer = std::string(kClick) + "garbage";
  EventDecoder decoder;
  Event e;
  EXPECT_EQ(decoder.decode(EventType::kClick, std::string_view(buffer).substr(0, std::string(kClick).size()), e),
            std::nullopt);
  EXPECT_EQ(e.sku, "s1");
}

}  // namespace
}  // namespace storepulse
