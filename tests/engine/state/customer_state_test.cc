#include "engine/state/customer_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace storepulse {
namespace {

Event click(const std::string& sku, int64_t ts, const std::string& category = "") {
  Event e;
  e.type = EventType::kClick;
  e.customer_id = "c1";
  e.sku = sku;
  e.ts_ms = ts;
  e.category = category;
  return e;
}

Event scan(const std::string& sku, int64_t ts, const std::string& store, const std::string& category = "") {
  Event e;
  e.type = EventType::kScan;
  e.customer_id = "c1";
  e.sku = sku;
  e.ts_ms = ts;
  e.store_id = store;
  e.category = category;
  return e;
}

Event joinScan(int64_t ts, const std::string& store, const std::string& guide) {
  Event e = scan("", ts, store);
  e.guide_id = guide;
  e.has_guide_id = true;
  return e;
}

Event purchase(const std::string& order, int64_t ts, double total, std::vector<LineItem> items,
               const std::string& store = "") {
  Event e;
  e.type = EventType::kPurchase;
  e.customer_id = "c1";
  e.order_id = order;
  e.ts_ms = ts;
  e.total = total;
  e.items = std::move(items);
  e.store_id = store;
  return e;
}

Event profile(int64_t ts) {
  Event e;
  e.type = EventType::kCustomer;
  e.customer_id = "c1";
  e.ts_ms = ts;
  return e;
}

CustomerState fold(const std::vector<Event>& events, const CustomerStateOptions& options = {}) {
  CustomerState s;
  for (const auto& e : events) applyEvent(e, options, s);
  return s;
}

std::string encoded(const CustomerState& s) {
  std::string out;
  encodeCustomerState(s, out);
  return out;
}

CustomerState fullState() {
  CustomerState s;
  s.name = "Li Wei";
  s.tier = "gold";
  s.guide_id = "g1";
  s.home_store = "st2";
  s.tags = {"vip", "tea", ""};
  s.profile_ts_ms = 1700000000000;
  s.lifetime_spend = 12400.75;
  s.order_count = 17;
  s.first_seen_ms = 1600000000000;
  s.last_seen_ms = 1700000005000;
  s.last_purchase_ms = 1700000004000;
  s.last_store_id = "st1";
  s.last_store_ts_ms = 1700000005000;
  s.recent_items = {{"sku-2", 1700000005000, EventType::kScan, "st1"},
                    {"sku-1", 1700000004000, EventType::kPurchase, "st1"},
                    {"sku-9", 1, EventType::kClick, ""}};
  s.category_affinity = {{"bags", 2}, {"tea", 45}};
  return s;
}

TEST(CustomerStateCodec, RoundTripsAFullState) {
  const CustomerState s = fullState();
  auto decoded = decodeCustomerState(encoded(s));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, s);
  EXPECT_EQ(encoded(*decoded), encoded(s));
}

TEST(CustomerStateCodec, RoundTripsAnEmptyState) {
  auto decoded = decodeCustomerState(encoded(CustomerState{}));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(*decoded, CustomerState{});
}

TEST(CustomerStateCodec, EqualityNoticesEveryKindOfField) {
  const CustomerState base = fullState();
  CustomerState s = base;
  s.recent_items[1].store_id = "st9";
  EXPECT_NE(s, base);
  s = base;
  s.category_affinity[0].weight += 1;
  EXPECT_NE(s, base);
  s = base;
  s.lifetime_spend += 0.01;
  EXPECT_NE(s, base);
  EXPECT_NE(encoded(s), encoded(base));
}

TEST(CustomerStateCodec, RejectsEveryTruncation) {
  const std::string bytes = encoded(fullState());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = decodeCustomerState(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(decoded.isOk()) << "a prefix of " << n << " bytes decoded";
    EXPECT_EQ(decoded.status().code(), ErrorCode::kCorruption);
  }
}

TEST(CustomerStateCodec, RejectsTrailingBytes) {
  auto decoded = decodeCustomerState(encoded(fullState()) + '\0');
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), ErrorCode::kCorruption);
}

TEST(CustomerStateCodec, RejectsUnknownVersion) {
  std::string bytes = encoded(fullState());
  bytes[0] = 99;
  auto decoded = decodeCustomerState(bytes);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(decoded.status().message().find("version"), std::string::npos);
}

TEST(CustomerStateCodec, RejectsBadRecentItemKind) {
  CustomerState s;
  s.recent_items = {{"a", 1, static_cast<EventType>(kEventTypeCount), ""}};
  EXPECT_FALSE(decodeCustomerState(encoded(s)).isOk());
}

TEST(ApplyEvent, PurchasesAddSpendAndOrderCount) {
  const CustomerState s = fold({purchase("o1", 100, 10.5, {{"a", 1, 10.5, ""}}),
                                purchase("o2", 200, 20.0, {{"b", 2, 10.0, ""}})});
  EXPECT_DOUBLE_EQ(s.lifetime_spend, 30.5);
  EXPECT_EQ(s.order_count, 2);
}

TEST(ApplyEvent, LastPurchaseAndLastSeenAreTheMaximumNotTheLastApplied) {
  const CustomerState s = fold({purchase("o2", 200, 1, {{"a", 1, 1, ""}}), purchase("o1", 100, 1, {{"a", 1, 1, ""}}),
                                click("x", 150)});
  EXPECT_EQ(s.last_purchase_ms, 200);
  EXPECT_EQ(s.last_seen_ms, 200);
}

TEST(ApplyEvent, FirstSeenIsTheMinimum) {
  const CustomerState s = fold({click("a", 300), click("b", 100), click("c", 200)});
  EXPECT_EQ(s.first_seen_ms, 100);
  EXPECT_EQ(s.last_seen_ms, 300);
}

TEST(ApplyEvent, ProfileIsLastWriterWinsByEventTime) {
  Event newer = profile(200);
  newer.name = "New Name";
  newer.tier = "black";
  Event older = profile(100);
  older.name = "Old Name";
  older.tier = "silver";
  older.tags = std::vector<std::string>{"old"};
  const CustomerState s = fold({newer, older});  // the older one arrives late
  EXPECT_EQ(s.name, "New Name");
  EXPECT_EQ(s.tier, "black");
  EXPECT_TRUE(s.tags.empty());
  EXPECT_EQ(s.profile_ts_ms, 200);
}

TEST(ApplyEvent, ProfileFieldsAbsentFromAnEventKeepTheirValue) {
  Event first = profile(100);
  first.name = "Li";
  first.tier = "gold";
  first.home_store = "st1";
  first.tags = std::vector<std::string>{"vip"};
  Event second = profile(200);
  second.tier = "black";
  const CustomerState s = fold({first, second});
  EXPECT_EQ(s.name, "Li");
  EXPECT_EQ(s.tier, "black");
  EXPECT_EQ(s.home_store, "st1");
  EXPECT_EQ(s.tags, std::vector<std::string>{"vip"});
}

TEST(ApplyEvent, JoinScanSetsGuideOnlyWhenTheCustomerHasNone) {
  CustomerState s = fold({joinScan(100, "st1", "g1")});
  EXPECT_EQ(s.guide_id, "g1");
  s = fold({joinScan(100, "st1", "g1"), joinScan(200, "st2", "g2")});
  EXPECT_EQ(s.guide_id, "g1");  // the first guide keeps the customer

  Event assigned = profile(50);
  assigned.guide_id = "g0";
  assigned.has_guide_id = true;
  EXPECT_EQ(fold({assigned, joinScan(100, "st1", "g1")}).guide_id, "g0");
  EXPECT_EQ(fold({joinScan(100, "st1", "g1"), assigned}).guide_id, "g0");  // the profile is authoritative
}

TEST(ApplyEvent, JoinScanIsNotARecentItem) {
  const CustomerState s = fold({joinScan(100, "st1", "g1")});
  EXPECT_TRUE(s.recent_items.empty());
  EXPECT_EQ(s.last_seen_ms, 100);
}

TEST(ApplyEvent, RecentItemsAreNewestFirstAndCapped) {
  CustomerStateOptions options;
  options.max_recent_items = 3;
  const CustomerState s =
      fold({click("a", 3), click("b", 5), click("c", 1), scan("d", 4, "st1"), click("e", 2)}, options);
  ASSERT_EQ(s.recent_items.size(), 3u);
  EXPECT_EQ(s.recent_items[0].sku, "b");
  EXPECT_EQ(s.recent_items[1].sku, "d");
  EXPECT_EQ(s.recent_items[1].kind, EventType::kScan);
  EXPECT_EQ(s.recent_items[1].store_id, "st1");
  EXPECT_EQ(s.recent_items[2].sku, "a");
}

TEST(ApplyEvent, PurchaseAddsEveryLineItemToRecentItems) {
  const CustomerState s = fold({purchase("o1", 10, 3, {{"a", 1, 1, ""}, {"b", 2, 1, ""}}, "st1")});
  ASSERT_EQ(s.recent_items.size(), 2u);
  EXPECT_EQ(s.recent_items[0].kind, EventType::kPurchase);
  EXPECT_EQ(s.recent_items[0].store_id, "st1");
}

TEST(ApplyEvent, ZeroRecentItemsKeepsNone) {
  CustomerStateOptions options;
  options.max_recent_items = 0;
  EXPECT_TRUE(fold({click("a", 1), click("b", 2)}, options).recent_items.empty());
}

TEST(ApplyEvent, CategoryAffinityWeighsPurchasesOverScansOverClicks) {
  const CustomerState s = fold({click("a", 1, "tea"), scan("b", 2, "st1", "tea"), scan("c", 3, "st1", "bags"),
                                purchase("o1", 4, 1, {{"d", 2, 1, "bags"}})});
  ASSERT_EQ(s.category_affinity.size(), 2u);
  EXPECT_EQ(s.category_affinity[0], (CategoryWeight{"bags", 2 + 3 * 2}));
  EXPECT_EQ(s.category_affinity[1], (CategoryWeight{"tea", 1 + 2}));
}

TEST(ApplyEvent, CategoryAffinityIsBoundedByMaxCategoriesKeepingTheHeaviest) {
  CustomerStateOptions options;
  options.max_categories = 3;
  std::vector<Event> events;
  for (int i = 0; i < 4; ++i) events.push_back(click("x", i, "heavy"));
  for (int i = 0; i < 3; ++i) events.push_back(click("x", i, "medium"));
  events.push_back(click("x", 10, "light1"));
  events.push_back(click("x", 11, "light2"));
  events.push_back(click("x", 12, "light3"));
  const CustomerState s = fold(events, options);
  ASSERT_EQ(s.category_affinity.size(), 3u);
  EXPECT_EQ(s.category_affinity[0].category, "heavy");
  EXPECT_EQ(s.category_affinity[1].category, "light1");  // ties: the last by name goes first
  EXPECT_EQ(s.category_affinity[2].category, "medium");
}

TEST(ApplyEvent, LastStoreIsTheStoreOfTheNewestScanOrPurchase) {
  // A scan at 100 in st1, a purchase at 50 in st2: st1 is where the customer
  // was last, whichever topic was read first.
  const Event s1 = scan("a", 100, "st1");
  const Event p2 = purchase("o1", 50, 1, {{"b", 1, 1, ""}}, "st2");
  EXPECT_EQ(fold({s1, p2}).last_store_id, "st1");
  EXPECT_EQ(fold({p2, s1}).last_store_id, "st1");
  // A later click (no store) does not hide the scan's store.
  EXPECT_EQ(fold({click("x", 200), s1}).last_store_id, "st1");
  EXPECT_EQ(fold({s1, click("x", 200)}).last_store_id, "st1");
  // Two visits at the same instant on two topics: a fixed rule, not arrival order.
  const Event p3 = purchase("o2", 100, 1, {{"b", 1, 1, ""}}, "st0");
  EXPECT_EQ(fold({s1, p3}).last_store_id, fold({p3, s1}).last_store_id);
}

TEST(ApplyEvent, InventoryAndStoreEventsLeaveCustomerStateAlone) {
  Event inventory;
  inventory.type = EventType::kInventory;
  inventory.ts_ms = 5;
  Event store;
  store.type = EventType::kStore;
  EXPECT_EQ(fold({inventory, store}), CustomerState{});
}

// The events of one customer, per topic in topic order.
struct TopicStreams {
  std::vector<std::vector<Event>> streams;
};

TopicStreams mixedCustomerHistory() {
  std::mt19937 rng(7);
  // Each topic spans the same hour in roughly increasing time, with jitter
  // (late and out-of-order events), so topics race each other to the end.
  auto spread = [&rng](int i, int n) {
    return 1700000000000 + int64_t{3600000} * i / n + static_cast<int64_t>(rng() % 300000);
  };
  const std::vector<std::string> categories = {"tea", "bags", "shoes", "toys", ""};
  const std::vector<std::string> stores = {"st1", "st2", "st3"};
  TopicStreams t;
  t.streams.resize(4);
  for (int i = 0; i < 40; ++i) t.streams[0].push_back(click("sku" + std::to_string(rng() % 12), spread(i, 40), categories[rng() % 5]));
  for (int i = 0; i < 15; ++i) {
    if (i % 5 == 0) {
      t.streams[1].push_back(joinScan(spread(i, 15), stores[rng() % 3], "g" + std::to_string(i)));
    } else {
      t.streams[1].push_back(scan("sku" + std::to_string(rng() % 12), spread(i, 15), stores[rng() % 3], categories[rng() % 5]));
    }
  }
  for (int i = 0; i < 12; ++i) {
    std::vector<LineItem> items;
    for (int k = 0; k <= i % 3; ++k) items.push_back({"sku" + std::to_string(rng() % 12), 1 + k, 9.99 * (k + 1), categories[rng() % 5]});
    t.streams[2].push_back(purchase("o" + std::to_string(i), spread(i, 12), 0.1 * static_cast<double>(rng() % 100000), items,
                                    i % 4 == 0 ? "" : stores[rng() % 3]));
  }
  for (int i = 0; i < 4; ++i) {
    Event p = profile(spread(i, 4));
    p.name = "name" + std::to_string(i);
    if (i % 2) p.tier = "tier" + std::to_string(i);
    if (i == 2) {
      p.guide_id = "g-profile";
      p.has_guide_id = true;
    }
    t.streams[3].push_back(p);
  }
  // The newest store visit is a scan, shortly after the newest purchase in
  // another store: which topic is read last must not decide the last store.
  t.streams[1].push_back(scan("sku-last", 1700000000000 + 7200000, "st-scan", "tea"));
  t.streams[2].push_back(purchase("o-last", 1700000000000 + 7199000, 5, {{"sku-last", 1, 5, "tea"}}, "st-buy"));
  return t;
}

// One interleaving of the streams: random, but each stream keeps its order,
// as Kafka keeps order per partition and nothing across topics.
std::vector<Event> interleave(const TopicStreams& t, unsigned seed) {
  std::vector<size_t> picks;
  for (size_t s = 0; s < t.streams.size(); ++s) picks.insert(picks.end(), t.streams[s].size(), s);
  std::mt19937 rng(seed);
  std::shuffle(picks.begin(), picks.end(), rng);
  std::vector<size_t> next(t.streams.size(), 0);
  std::vector<Event> out;
  for (size_t s : picks) out.push_back(t.streams[s][next[s]++]);
  return out;
}

TEST(ApplyEvent, AnyInterleavingOfTopicsGivesByteIdenticalState) {
  const TopicStreams t = mixedCustomerHistory();
  std::vector<Event> topic_by_topic;
  for (const auto& stream : t.streams) topic_by_topic.insert(topic_by_topic.end(), stream.begin(), stream.end());
  CustomerStateOptions options;
  options.max_recent_items = 8;  // small, so the cap is exercised too
  const std::string expected = encoded(fold(topic_by_topic, options));
  for (unsigned seed = 1; seed <= 50; ++seed) {
    ASSERT_EQ(encoded(fold(interleave(t, seed), options)), expected) << "interleaving seed " << seed;
  }
}

TEST(ApplyEvent, ClicksAndPurchasesShuffledGiveByteIdenticalState) {
  const std::vector<Event> clicks = {click("a", 500, "tea"), click("b", 100, "bags"), click("a", 300, "tea")};
  const std::vector<Event> purchases = {purchase("o1", 200, 19.9, {{"a", 1, 19.9, "tea"}}, "st1"),
                                        purchase("o2", 50, 5.5, {{"c", 1, 5.5, "toys"}}, "st2")};
  const CustomerState a = fold({clicks[0], clicks[1], clicks[2], purchases[0], purchases[1]});
  const CustomerState b = fold({purchases[0], clicks[0], purchases[1], clicks[1], clicks[2]});
  const CustomerState c = fold({purchases[0], purchases[1], clicks[0], clicks[1], clicks[2]});
  EXPECT_EQ(encoded(a), encoded(b));
  EXPECT_EQ(encoded(a), encoded(c));
  EXPECT_EQ(a.last_store_id, "st1");
}

TEST(CustomerStateJson, RendersTimesAsRfc3339AndNeverSeenAsNull) {
  CustomerState s = fullState();
  s.first_seen_ms = 0;
  const nlohmann::json j = customerStateToJson("c1", s);
  EXPECT_EQ(j["customer_id"], "c1");
  EXPECT_TRUE(j["first_seen"].is_null());
  EXPECT_EQ(j["last_seen"], "2023-11-14T22:13:25Z");
  EXPECT_EQ(j["profile"]["tier"], "gold");
  EXPECT_EQ(j["recent_items"][0]["kind"], "scan");
  EXPECT_FALSE(j["recent_items"][2].contains("store_id"));
  EXPECT_EQ(j["category_affinity"]["tea"], 45);
}

}  // namespace
}  // namespace storepulse
