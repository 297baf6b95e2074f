// The rule engine on the ingest pipeline, in the style of
// tests/engine/pipeline/ingest_pipeline_test.cc: a scripted FakeEventSource
// (events arrive in partition order, so an event can really be late), an
// in-memory store, recording sinks, and the engine on the event-time clock.
// What the golden rule files (golden_test.cc) cannot state lives here: late
// events, reloads, what reaches the output sink and when, counters, runtime
// errors, alert bodies, facts and ids.

#include "rules/runtime/rule_engine.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/core/time.h"
#include "engine/metrics/metrics.h"
#include "engine/pipeline/ingest_pipeline.h"
#include "engine/state/codec.h"
#include "engine/state/memory_state_store.h"
#include "rules/runtime/replay.h"
#include "rules/runtime/rule_tests.h"
#include "rules/ruleset/ruleset.h"
#include "tests/engine/fakes/fake_event_source.h"
#include "tests/engine/fakes/recording_dead_letter_sink.h"
#include "tests/engine/fakes/test_environment.h"

namespace storepulse::rules {
namespace {

namespace fs = std::filesystem;
using fakes::FakeEventSource;
using fakes::RecordingDeadLetterSink;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using namespace fakes;  // the shared topic names: kClicks, ...

// A rules directory with one file holding `yaml`, loaded and compiled.
std::shared_ptr<const CompiledRuleSet> compile(const std::string& yaml) {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::temp_directory_path() / fmt::format("sp_rule_engine_test_{}_{}", getpid(), counter++);
  fs::create_directories(dir);
  std::ofstream(dir / "rules.yaml") << yaml;
  LoadResult loaded = loadRuleDirectory(dir.string(), RuleFileOptions{});
  fs::remove_all(dir);
  std::string diagnostics;
  for (const Diagnostic& d : loaded.diagnostics) diagnostics += d.toString() + "\n";
  EXPECT_TRUE(loaded.ok()) << diagnostics;
  return loaded.rules;
}

// Keeps what it is sent; flush moves it to `stored` (durable), or fails.
class RecordingOutputSink final : public OutputSink {
 public:
  struct Record {
    std::string topic;
    std::string key;
    std::string value;
  };
  void send(std::string_view topic, std::string_view key, std::string_view value) override {
    queued.push_back({std::string(topic), std::string(key), std::string(value)});
  }
  Status flush(std::chrono::milliseconds) override {
    ++flushes;
    if (on_flush) on_flush();
    if (fail_flush) return Status(ErrorCode::kKafka, "fake alerts topic unreachable");
    stored.insert(stored.end(), queued.begin(), queued.end());
    queued.clear();
    return Status::ok();
  }
  std::vector<nlohmann::json> storedJson(const std::string& topic = "storepulse.alerts") const {
    std::vector<nlohmann::json> out;
    for (const Record& r : stored) {
      if (r.topic == topic) out.push_back(nlohmann::json::parse(r.value));
    }
    return out;
  }

  std::vector<Record> queued;
  std::vector<Record> stored;
  int flushes = 0;
  bool fail_flush = false;
  std::function<void()> on_flush;
};

std::string click(const std::string& customer, const std::string& sku, const std::string& ts,
                  const std::string& extra = "") {
  return fmt::format(R"({{"customer_id":"{}","sku":"{}","ts":"{}"{}}})", customer, sku, ts, extra);
}
std::string scan(const std::string& customer, const std::string& store, const std::string& sku,
                 const std::string& ts) {
  return fmt::format(R"({{"customer_id":"{}","store_id":"{}","sku":"{}","ts":"{}"}})", customer, store, sku, ts);
}
std::string purchase(const std::string& order, const std::string& customer, const std::string& store, double total,
                     const std::string& ts) {
  return fmt::format(
      R"({{"order_id":"{}","customer_id":"{}","store_id":"{}","ts":"{}","items":[{{"sku":"a","qty":1,"price":{:.2f}}}]}})",
      order, customer, store, ts, total);
}
std::string customer(const std::string& id, const std::string& name, const std::string& tier, const std::string& guide,
                     const std::string& ts) {
  return fmt::format(R"({{"customer_id":"{}","name":"{}","tier":"{}","guide_id":"{}","ts":"{}"}})", id, name, tier,
                     guide, ts);
}

class RuleEngineTest : public ::testing::Test {
 protected:
  void start(std::shared_ptr<const CompiledRuleSet> rules,
             RuleEngineOptions::Clock clock = RuleEngineOptions::Clock::kEventTime, Metrics* metrics = nullptr) {
    ASSERT_NE(rules, nullptr);
    PipelineOptions p;
    p.topics = {{kClicks, EventType::kClick},       {kScans, EventType::kScan},
                {kPurchases, EventType::kPurchase}, {kInventory, EventType::kInventory},
                {kCustomers, EventType::kCustomer}, {kStores, EventType::kStore}};
    p.batch_max_events = 100;
    p.batch_max_wait = std::chrono::milliseconds(1);
    p.dead_letter_flush_timeout = std::chrono::milliseconds(10);
    RuleEngineOptions o;
    o.clock = clock;
    o.flush_timeout = std::chrono::milliseconds(10);
    o.cache_max_records = cache_max_records_;
    engine_ = std::make_unique<RuleEngine>(o, std::move(rules), *rule_store_, output_, dead_letters_, metrics);
    engine_->setFiringListener([this](const Firing& f) {
      firings_.push_back(f);
      if (on_firing_) on_firing_(f);
    });
    pipeline_ = std::make_unique<IngestPipeline>(p, store_, dead_letters_, nullptr);
    pipeline_->addProcessor(*engine_);
    source_.scheduleAssign({{kClicks, 0}, {kScans, 0}, {kPurchases, 0}, {kInventory, 0}, {kCustomers, 0}, {kStores, 0}});
  }

  // A new engine and pipeline on the same state store, as after a restart:
  // nothing cached, no firings recorded.
  void restart(std::shared_ptr<const CompiledRuleSet> rules,
               RuleEngineOptions::Clock clock = RuleEngineOptions::Clock::kEventTime) {
    pipeline_.reset();
    engine_.reset();
    firings_.clear();
    start(std::move(rules), clock);
  }

  // Appends the events to their topics' partition 0 (in order within a
  // topic) and runs one poll; the commit is not waited for.
  Status poll(const std::vector<std::pair<std::string, std::string>>& events) {
    for (const auto& [topic, payload] : events) source_.append(topic, 0, payload);
    return pipeline_->runOnce(source_);
  }
  // One poll and its commit, waited for.
  Status feed(const std::vector<std::pair<std::string, std::string>>& events) {
    SP_RETURN_IF_ERROR(poll(events));
    return pipeline_->flush();
  }

  std::optional<int64_t> offsetOf(const std::string& topic) const {
    auto next = store_.nextOffset(TopicPartition{topic, 0});
    EXPECT_TRUE(next.isOk());
    return next.isOk() ? *next : std::nullopt;
  }

  std::vector<std::string> titles() const {
    std::vector<std::string> out;
    for (const Firing& f : firings_) out.push_back(f.rule + ": " + f.fields.at("title"));
    return out;
  }

  MemoryStateStore store_;
  StateStore* rule_store_ = &store_;  // what the rule engine reads and writes through
  size_t cache_max_records_ = 200000;
  RecordingDeadLetterSink dead_letters_;
  RecordingOutputSink output_;
  FakeEventSource source_;
  std::vector<Firing> firings_;
  std::function<void(const Firing&)> on_firing_;
  std::unique_ptr<RuleEngine> engine_;        // outlives the pipeline that calls it
  std::unique_ptr<IngestPipeline> pipeline_;  // destroyed first
};

// ---------------------------------------------------------------------------
// Late events: lateness is per aggregate key, behind the newest event time
// that key has seen.

constexpr char kLateRules[] = R"(
aggregates:
  looks: {count: click, by: customer_id, window: 10m, step: 1m, lateness: 10m}
rules:
  - id: second-look
    on: [click]
    when: agg.looks >= 2
    alert: {to: audit, title: "{{agg.looks}}"}
)";

TEST_F(RuleEngineTest, LateEventWithinLatenessIsFoldedInItsBucketAndCanMakeARuleFire) {
  start(compile(kLateRules));
  // 10:00 -> 1; 10:12 -> 1 (10:00 is outside 10:03..10:12); 10:05 arrives
  // 7 minutes behind 10:12 (allowed: 10) -> folded; its window 09:56..10:05
  // holds 10:00 and itself -> 2: fires; 10:13 -> 10:05, 10:12, 10:13 -> 3.
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:12:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:05:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:13:00Z")}})
                  .isOk());
  ASSERT_EQ(firings_.size(), 2u);
  EXPECT_EQ(firings_[0].fields.at("event_ts"), "2024-03-01T10:05:00Z");
  EXPECT_EQ(firings_[0].fields.at("title"), "2");
  EXPECT_EQ(firings_[1].fields.at("event_ts"), "2024-03-01T10:13:00Z");
  EXPECT_EQ(firings_[1].fields.at("title"), "3");
  EXPECT_TRUE(dead_letters_.sent().empty());
}

TEST_F(RuleEngineTest, LateEventBeyondLatenessIsDeadLetteredAndNotFolded) {
  start(compile(kLateRules));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:13:00Z")}})
                  .isOk());
  // 10:02 is 11 minutes behind c1's newest (10:13), allowed 10: late. Had
  // it been folded, its own window (09:53..10:02) would hold 10:00 and
  // itself and the rule would fire.
  const std::string late = click("c1", "a", "2024-03-01T10:02:00Z");
  ASSERT_TRUE(feed({{kClicks, late}}).isOk());
  EXPECT_TRUE(firings_.empty()) << describe(firings_.front());
  const auto letters = dead_letters_.stored();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].reason, "late_event");
  EXPECT_EQ(letters[0].payload, late);
  EXPECT_EQ(letters[0].topic, kClicks);
  EXPECT_EQ(letters[0].offset, 2);
  EXPECT_THAT(letters[0].detail, HasSubstr("looks"));
  // The pipeline moved past it: a late event does not stop anything.
  EXPECT_EQ(offsetOf(kClicks), 3);

  // Not in the figure afterwards either: 10:09's window 10:00..10:09 holds
  // 10:00 and 10:09 (and would hold 10:02 had it been folded). 10:09 is 4
  // minutes behind, in time.
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:09:00Z")}}).isOk());
  ASSERT_EQ(firings_.size(), 1u);
  EXPECT_EQ(firings_[0].fields.at("title"), "2");
}

TEST_F(RuleEngineTest, LatenessIsPerKey) {
  start(compile(kLateRules));
  // c2's clicks are far behind c1's newest, but c2 has seen nothing newer.
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T12:00:00Z")},
                    {kClicks, click("c2", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c2", "a", "2024-03-01T10:01:00Z")}})
                  .isOk());
  EXPECT_TRUE(dead_letters_.sent().empty());
  ASSERT_EQ(firings_.size(), 1u);
  EXPECT_EQ(firings_[0].fields.at("customer_id"), "c2");
}

// ---------------------------------------------------------------------------
// Reloads.

constexpr char kRulesBefore[] = R"(
aggregates:
  kept:    {count: click, by: customer_id, window: 1h}
  changed: {count: click, by: customer_id, window: 1h}
rules:
  - id: before
    on: [click]
    alert: {to: audit, title: "{{agg.kept}} {{agg.changed}}"}
)";
constexpr char kRulesAfter[] = R"(
aggregates:
  kept:    {count: click, by: customer_id, window: 1h}
  changed: {count: click, by: customer_id, window: 2h}
rules:
  - id: after
    on: [click]
    alert: {to: audit, title: "{{agg.kept}} {{agg.changed}}"}
)";

TEST_F(RuleEngineTest, ReplaceRulesBetweenTwoEventsTakesEffectForTheNextEvent) {
  start(compile(kRulesBefore));
  auto after = compile(kRulesAfter);
  // Swapped while the first event is being handled: the second event, in
  // the same poll, already runs the new set.
  on_firing_ = [&](const Firing&) {
    if (firings_.size() == 1) engine_->replaceRules(after);
  };
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:01:00Z")}})
                  .isOk());
  EXPECT_EQ(engine_->currentRules(), after);
  ASSERT_EQ(firings_.size(), 2u);
  EXPECT_EQ(firings_[0].rule, "before");
  EXPECT_EQ(firings_[1].rule, "after");
}

TEST_F(RuleEngineTest, UnchangedAggregateKeepsItsStateAcrossReplaceRulesAndAChangedOneRestarts) {
  start(compile(kRulesBefore));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:01:00Z")}})
                  .isOk());
  engine_->replaceRules(compile(kRulesAfter));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:02:00Z")}}).isOk());
  // kept: 3 (its two clicks and this one); changed (1h -> 2h): starts again.
  EXPECT_THAT(titles(), ElementsAre("before: 1 1", "before: 2 2", "after: 3 1"));

  // Back to the first definition: `changed` restarts once more and counts
  // only the 10:03 click (neither the old 1h figures nor the 2h one return).
  engine_->replaceRules(compile(kRulesBefore));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:03:00Z")}}).isOk());
  ASSERT_EQ(firings_.size(), 4u);
  EXPECT_EQ(firings_[3].fields.at("title"), "4 1");
}

// State written by the first record format (windows keyed by aggregate
// name, every field of every bucket) is read on upgrade, not lost.
TEST_F(RuleEngineTest, AggregateRecordsOfTheFirstFormatAreReadAndRewritten) {
  auto rules = compile(R"(
aggregates:
  looks: {count: click, by: customer_id, window: 1h}
rules:
  - id: third-look
    on: [click]
    when: agg.looks >= 3
    alert: {to: audit, title: "{{agg.looks}}"}
)");
  const int64_t ts = *parseRfc3339Millis("2024-03-01T10:00:00Z");
  std::string window;
  Encoder b(window);
  b.u64(1);           // format 1
  b.i64(ts - 60000);  // newest event: a minute earlier
  b.u64(1);           // one bucket of the 1m step: that minute, two clicks
  b.i64((ts - 60000) / 60000);
  b.i64(2);
  b.f64(0);
  b.f64(0);
  b.f64(0);
  b.u64(0);
  std::string group;
  Encoder g(group);
  g.u64(1);  // format 1
  g.u64(1);
  g.str("looks");
  g.u64(rules->aggregate_definitions[0]);
  g.str(window);
  StateWriteBatch old;
  old.writes.push_back(StateWrite{StateTable::kAggregate, 0, std::string("customer_id\0c1", 14), group, false});
  ASSERT_TRUE(store_.write(old).isOk());

  start(rules);
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")}}).isOk());
  EXPECT_THAT(titles(), ElementsAre("third-look: 3"));
  // Rewritten in the current format (2) by the commit.
  auto stored = store_.get(StateTable::kAggregate, 0, std::string_view("customer_id\0c1", 14));
  ASSERT_TRUE(stored.isOk());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ(Decoder(**stored).u64(), 2u);
}

// Commits write only the windows they changed, merged into the stored
// record by window: a restarted engine sees every product's window.
TEST_F(RuleEngineTest, WindowsWrittenByMergesAcrossCommitsAreAllThereAfterARestart) {
  const char* rules = R"(
aggregates:
  looks: {count: click, by: [customer_id, sku], window: 1h}
  all_looks: {count: click, by: customer_id, window: 1h}
rules:
  - id: look
    on: [click]
    alert: {to: audit, title: "{{event.sku}} {{agg.looks}} of {{agg.all_looks}}"}
)";
  start(compile(rules));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")}}).isOk());
  ASSERT_TRUE(feed({{kClicks, click("c1", "b", "2024-03-01T10:01:00Z")}}).isOk());
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:02:00Z")}}).isOk());
  pipeline_.reset();
  engine_.reset();
  start(compile(rules));
  ASSERT_TRUE(feed({{kClicks, click("c1", "b", "2024-03-01T10:03:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:04:00Z")}})
                  .isOk());
  EXPECT_THAT(titles(), ElementsAre("look: a 1 of 1", "look: b 1 of 2", "look: a 2 of 3", "look: b 2 of 4",
                                    "look: a 3 of 5"));
}

// Counts the rule engine's reads of aggregate records.
class CountingStore final : public StateStore {
 public:
  explicit CountingStore(StateStore& inner) : inner_(inner) {}
  Result<std::optional<std::string>> get(StateTable table, int32_t partition, std::string_view key) const override {
    if (table == StateTable::kAggregate) ++aggregate_gets;
    return inner_.get(table, partition, key);
  }
  Result<std::optional<int64_t>> nextOffset(const TopicPartition& tp) const override { return inner_.nextOffset(tp); }
  Status write(const StateWriteBatch& batch) override { return inner_.write(batch); }
  Status scan(StateTable table, int32_t partition,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override {
    return inner_.scan(table, partition, visit);
  }
  StateStoreStats stats() const override { return inner_.stats(); }
  mutable int aggregate_gets = 0;

 private:
  StateStore& inner_;
};

TEST_F(RuleEngineTest, PastItsBoundTheCacheDropsTheLeastRecentlyUsedRecordsOnly) {
  CountingStore counting(store_);
  rule_store_ = &counting;
  cache_max_records_ = 10;
  start(compile(R"(
aggregates:
  looks: {count: click, by: customer_id, window: 1h}
rules:
  - id: look
    on: [click]
    alert: {to: audit, title: "{{event.customer_id}} {{agg.looks}}"}
)"));
  // Twelve customers, a batch each: past ten records the oldest go.
  for (int c = 1; c <= 12; ++c) {
    ASSERT_TRUE(feed({{kClicks, click("c" + std::to_string(c), "a", fmt::format("2024-03-01T10:{:02d}:00Z", c))}}).isOk());
  }
  const int before = counting.aggregate_gets;
  ASSERT_TRUE(feed({{kClicks, click("c5", "a", "2024-03-01T10:20:00Z")}}).isOk());
  EXPECT_EQ(counting.aggregate_gets, before);  // used seven batches ago: still cached
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:21:00Z")}}).isOk());
  EXPECT_EQ(counting.aggregate_gets, before + 1);  // the least recently used: read back
  ASSERT_GE(firings_.size(), 2u);
  EXPECT_EQ(firings_[firings_.size() - 2].fields.at("title"), "c5 2");
  EXPECT_EQ(firings_.back().fields.at("title"), "c1 2");  // its window survived the eviction
}

// ---------------------------------------------------------------------------
// Output: shadow rules, flush before commit.

TEST_F(RuleEngineTest, ShadowRulesNeverReachTheOutputSinkButCountFires) {
  start(compile(R"(
rules:
  - id: live-alert
    on: [click]
    alert: {to: audit, title: "live {{event.sku}}"}
  - id: shadow-alert
    on: [click]
    mode: shadow
    alert: {to: audit, title: "shadow {{event.sku}}"}
  - id: shadow-emit
    on: [click]
    mode: shadow
    emit: {topic: crm.clicks, record: {sku: event.sku}}
)"));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "b", "2024-03-01T10:01:00Z")}})
                  .isOk());
  ASSERT_EQ(output_.stored.size(), 2u);
  for (const auto& r : output_.stored) {
    EXPECT_EQ(r.topic, "storepulse.alerts");
    EXPECT_EQ(nlohmann::json::parse(r.value)["rule"], "live-alert");
  }
  EXPECT_TRUE(output_.queued.empty());
  const auto counters = engine_->counters();
  EXPECT_EQ(counters.at("shadow-alert").fires, 2u);
  EXPECT_EQ(counters.at("shadow-emit").fires, 2u);
  EXPECT_EQ(counters.at("live-alert").fires, 2u);
  // Recorded for tests and backtests, marked shadow.
  ASSERT_EQ(firings_.size(), 6u);
  EXPECT_FALSE(firings_[0].shadow);
  EXPECT_TRUE(firings_[1].shadow);
  EXPECT_EQ(firings_[2].action, "emit");
  EXPECT_TRUE(firings_[2].shadow);
}

TEST_F(RuleEngineTest, OutputIsFlushedBeforeThePipelineCommits) {
  start(compile(R"(
rules:
  - id: every-click
    on: [click]
    alert: {to: audit, title: "{{event.sku}}"}
)"));
  // At every flush, what the store holds of the clicks' offsets.
  std::vector<std::optional<int64_t>> offset_at_flush;
  output_.on_flush = [&] { offset_at_flush.push_back(offsetOf(kClicks)); };

  output_.fail_flush = true;
  const Status failed = poll({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")}});
  EXPECT_EQ(failed.code(), ErrorCode::kKafka) << failed.toString();
  EXPECT_EQ(offsetOf(kClicks), std::nullopt);  // the alert is not durable: the offsets stay
  EXPECT_TRUE(output_.stored.empty());
  EXPECT_EQ(output_.queued.size(), 1u);

  output_.fail_flush = false;
  ASSERT_TRUE(pipeline_->flush().isOk());  // the retry flushes, then commits
  EXPECT_EQ(offsetOf(kClicks), 1);
  EXPECT_EQ(output_.stored.size(), 1u);
  ASSERT_GE(offset_at_flush.size(), 2u);
  EXPECT_EQ(offset_at_flush[0], std::nullopt);
  EXPECT_EQ(offset_at_flush[1], std::nullopt);  // flushed while the offset had not moved yet
}

std::string inventory(const std::string& store, const std::string& sku, int available, const std::string& ts) {
  return fmt::format(R"({{"store_id":"{}","sku":"{}","available":{},"ts":"{}"}})", store, sku, available, ts);
}

std::vector<std::string> actions(const std::vector<Firing>& firings) {
  std::vector<std::string> out;
  for (const Firing& f : firings) {
    out.push_back(fmt::format("{} {}{} {}", f.rule, f.action, f.shadow ? " (shadow)" : "", f.fields.at("event_ts")));
  }
  return out;
}

// docs/rules.md: a shadow rule "is evaluated and what it would have done is
// recorded, but it does not act". A live block rule sets its block once and
// lifts it once, so its shadow twin records exactly that, with nothing in
// between while the block would stand.
TEST_F(RuleEngineTest, ShadowBlockRecordsTheBlockAndUnblockItWouldHaveMade) {
  start(compile(R"(
rules:
  - id: low-stock-trial
    on: [inventory]
    mode: shadow
    when: event.available <= 2
    block: {sku: event.sku, store: event.store_id}
)"));
  ASSERT_TRUE(feed({{kInventory, inventory("s9", "cap-1", 2, "2024-03-01T10:00:00Z")},
                    {kInventory, inventory("s9", "cap-1", 1, "2024-03-01T10:30:00Z")},
                    {kInventory, inventory("s9", "cap-1", 10, "2024-03-01T11:00:00Z")}})
                  .isOk());
  EXPECT_THAT(actions(firings_), ElementsAre("low-stock-trial block (shadow) 2024-03-01T10:00:00Z",
                                             "low-stock-trial unblock (shadow) 2024-03-01T11:00:00Z"));
  EXPECT_EQ(engine_->counters().at("low-stock-trial").fires, 1u);
}

// Two rules blocking the same product in the same store, for different
// reasons: each block follows its own rule's condition ("lifted when
// available > 0 again" is oos-block's, not low-stock's).
TEST_F(RuleEngineTest, TwoBlockRulesOnTheSameStoreAndSkuKeepTheirOwnBlocks) {
  start(compile(R"(
rules:
  - id: oos-block
    on: [inventory]
    when: event.available <= 0
    block: {sku: event.sku, store: event.store_id}
  - id: low-stock-block
    on: [inventory]
    when: event.available <= 2
    block: {sku: event.sku, store: event.store_id}
)"));
  // 2: low-stock blocks. 0: oos blocks (low-stock still holds: nothing).
  // 1: oos lifts its block (low-stock still holds). 10: low-stock lifts.
  ASSERT_TRUE(feed({{kInventory, inventory("s1", "a", 2, "2024-03-01T10:00:00Z")},
                    {kInventory, inventory("s1", "a", 0, "2024-03-01T10:10:00Z")},
                    {kInventory, inventory("s1", "a", 1, "2024-03-01T10:20:00Z")},
                    {kInventory, inventory("s1", "a", 10, "2024-03-01T10:30:00Z")}})
                  .isOk());
  EXPECT_THAT(actions(firings_), ElementsAre("low-stock-block block 2024-03-01T10:00:00Z",
                                             "oos-block block 2024-03-01T10:10:00Z",
                                             "oos-block unblock 2024-03-01T10:20:00Z",
                                             "low-stock-block unblock 2024-03-01T10:30:00Z"));
}

// ---------------------------------------------------------------------------
// Counters and errors.

TEST_F(RuleEngineTest, CountsEvaluationsFiresAndErrorsPerRule) {
  start(compile(R"(
rules:
  - id: always
    on: [click]
    alert: {to: audit, title: "x"}
  - id: never
    on: [click]
    when: event.sku == "zzz"
    alert: {to: audit, title: "x"}
  - id: once-per-hour
    on: [click]
    cooldown: 1h
    alert: {to: audit, title: "x"}
  - id: off
    on: [click]
    enabled: false
    alert: {to: audit, title: "x"}
  - id: scans-only
    on: [scan]
    alert: {to: audit, title: "x"}
  - id: not-before-ten
    on: [click]
    quiet_hours: "00:00-10:01"
    alert: {to: audit, title: "x"}
)"));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:01:00Z")}})
                  .isOk());
  const auto c = engine_->counters();
  EXPECT_EQ(c.at("always").evaluations, 2u);
  EXPECT_EQ(c.at("always").fires, 2u);
  EXPECT_EQ(c.at("never").evaluations, 2u);
  EXPECT_EQ(c.at("never").fires, 0u);
  EXPECT_EQ(c.at("once-per-hour").evaluations, 2u);
  EXPECT_EQ(c.at("once-per-hour").fires, 1u);
  EXPECT_EQ(c.at("not-before-ten").evaluations, 2u);
  EXPECT_EQ(c.at("not-before-ten").held, 1u);
  EXPECT_EQ(c.at("not-before-ten").fires, 1u);
  for (const char* id : {"always", "never", "once-per-hour"}) {
    EXPECT_EQ(c.at(id).errors, 0u) << id;
    EXPECT_EQ(c.at(id).held, 0u) << id;
  }
  EXPECT_EQ(c.count("off") ? c.at("off").evaluations : 0u, 0u);
  EXPECT_EQ(c.count("scans-only") ? c.at("scans-only").evaluations : 0u, 0u);
}

TEST_F(RuleEngineTest, CountsReachTheMetricsWhenTheBatchCommits) {
  Metrics metrics;
  start(compile(R"(
rules:
  - id: sku-a
    on: [click]
    when: event.sku == "a"
    alert: {to: audit, title: "x"}
  - id: quiet-at-ten
    on: [click]
    quiet_hours: "10:00-10:01"
    alert: {to: audit, title: "x"}
)"),
        RuleEngineOptions::Clock::kEventTime, &metrics);
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "b", "2024-03-01T10:01:00Z")}})
                  .isOk());
  const std::string text = metrics.scrape();
  EXPECT_THAT(text, HasSubstr(R"(storepulse_rule_evaluations_total{rule="sku-a"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_rule_fires_total{mode="live",rule="sku-a"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_rule_held_total{rule="quiet-at-ten"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_rule_fires_total{mode="live",rule="quiet-at-ten"} 1)"));
  // Published once: a second commit adds only what was counted since.
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:02:00Z")}}).isOk());
  EXPECT_THAT(metrics.scrape(), HasSubstr(R"(storepulse_rule_evaluations_total{rule="sku-a"} 3)"));
}

// Rules share conjuncts (`a && b`): each is evaluated once per event, in
// whatever order, with CEL's meaning of && kept: false wins over an error,
// an error over true.
TEST_F(RuleEngineTest, SharedConjunctsKeepWhatEachConditionMeans) {
  start(compile(R"(
rules:
  - id: a-then-error
    on: [click]
    when: event.sku == "a" && size(event.sku) / 0 > 0
    alert: {to: audit, title: "x"}
  - id: error-then-never
    on: [click]
    when: size(event.sku) / 0 > 0 && event.sku == "zzz"
    alert: {to: audit, title: "x"}
  - id: a-in-app
    on: [click]
    when: (event.sku == "a") && event.channel == "app"
    alert: {to: audit, title: "x"}
  - id: a-in-app-again
    on: [click]
    when: event.channel == "app" && event.sku=="a" && true
    alert: {to: audit, title: "x"}
)"));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z", R"(,"channel":"app")")},
                    {kClicks, click("c1", "b", "2024-03-01T10:01:00Z", R"(,"channel":"app")")},
                    {kClicks, click("c1", "a", "2024-03-01T10:02:00Z", R"(,"channel":"web")")}})
                  .isOk());
  const auto c = engine_->counters();
  EXPECT_EQ(c.at("a-then-error").errors, 2u);  // sku a: true && error; sku b: false
  EXPECT_EQ(c.at("a-then-error").fires, 0u);
  EXPECT_EQ(c.at("error-then-never").errors, 0u);  // error && false is false
  EXPECT_EQ(c.at("a-in-app").fires, 1u);
  EXPECT_EQ(c.at("a-in-app-again").fires, 1u);
  for (const char* id : {"a-then-error", "error-then-never", "a-in-app", "a-in-app-again"}) {
    EXPECT_EQ(c.at(id).evaluations, 3u) << id;
  }
  const auto rules = engine_->currentRules();
  // Five distinct conjuncts: sku == "a", the division, sku == "zzz",
  // channel == "app" and the constant true.
  EXPECT_EQ(rules->conjuncts.size(), 5u);
}

TEST_F(RuleEngineTest, RuntimeErrorCountsAnErrorAndDoesNotStopTheEventOrOtherRules) {
  start(compile(R"(
aggregates:
  clicks: {count: click, by: customer_id, window: 1h}
rules:
  - id: divides-by-zero
    on: [click]
    priority: 10
    when: size(event.sku) / (size(event.sku) - size(event.sku)) > 0
    alert: {to: audit, title: "x"}
  - id: bad-title
    on: [click]
    priority: 5
    alert: {to: audit, title: "{{size(event.sku) / 0}}"}
  - id: fine
    on: [click]
    alert: {to: audit, title: "{{agg.clicks}}"}
)"));
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c1", "a", "2024-03-01T10:01:00Z")}})
                  .isOk());
  const auto c = engine_->counters();
  EXPECT_EQ(c.at("divides-by-zero").errors, 2u);
  EXPECT_EQ(c.at("divides-by-zero").fires, 0u);
  EXPECT_EQ(c.at("bad-title").errors, 2u);
  EXPECT_EQ(c.at("bad-title").fires, 0u);
  EXPECT_EQ(c.at("fine").fires, 2u);
  EXPECT_EQ(c.at("fine").errors, 0u);
  // The rules after the failing ones ran, the events were folded (the
  // aggregate counts both) and committed.
  EXPECT_THAT(titles(), ElementsAre("fine: 1", "fine: 2"));
  EXPECT_EQ(offsetOf(kClicks), 2);
  EXPECT_TRUE(dead_letters_.sent().empty());
}

// ---------------------------------------------------------------------------
// What an alert carries.

constexpr char kVipRules[] = R"(
aggregates:
  spend_1d: {sum: purchase.total, by: customer_id, window: 1d}
rules:
  - id: vip-look
    on: [click]
    when: customer.tier == "gold"
    alert:
      to: guide
      severity: high
      title: "{{customer.name}} looks at {{event.sku}}"
      body: "Spent {{int(agg.spend_1d)}} today."
      facts:
        tier: customer.tier
        spend: agg.spend_1d
  - id: big-order
    on: [purchase]
    emit:
      topic: crm.orders
      record:
        total: event.total
        order: event.order_id
)";

TEST_F(RuleEngineTest, AlertCarriesRecipientRenderedBodyAndFacts) {
  start(compile(kVipRules));
  ASSERT_TRUE(feed({{kCustomers, customer("c1", "Ann", "gold", "g7", "2024-03-01T09:00:00Z")}}).isOk());
  ASSERT_TRUE(feed({{kPurchases, purchase("o1", "c1", "s1", 300.0, "2024-03-01T09:30:00Z")}}).isOk());
  ASSERT_TRUE(feed({{kClicks, click("c1", "shoe-9", "2024-03-01T10:00:00Z")}}).isOk());
  const auto alerts = output_.storedJson();
  ASSERT_EQ(alerts.size(), 1u);
  const nlohmann::json& a = alerts[0];
  EXPECT_EQ(a["rule"], "vip-look");
  EXPECT_EQ(a["severity"], "high");
  EXPECT_EQ(a["title"], "Ann looks at shoe-9");
  EXPECT_EQ(a["body"], "Spent 300 today.");
  EXPECT_EQ(a["recipient"]["kind"], "guide");
  EXPECT_EQ(a["recipient"]["id"], "g7");
  EXPECT_EQ(a["customer_id"], "c1");
  EXPECT_EQ(a["guide_id"], "g7");
  EXPECT_EQ(a["event_ts"], "2024-03-01T10:00:00Z");
  EXPECT_EQ(a["fired_ts"], "2024-03-01T10:00:00Z");  // the event-time clock
  EXPECT_EQ(a["facts"], nlohmann::json::parse(R"({"tier":"gold","spend":300.0})"));
  for (const auto& r : output_.stored) {
    if (r.topic == "storepulse.alerts") {
      EXPECT_EQ(r.key, "g7");  // keyed by the recipient
    }
  }
  const auto emitted = output_.storedJson("crm.orders");
  ASSERT_EQ(emitted.size(), 1u);
  EXPECT_EQ(emitted[0]["order"], "o1");
  EXPECT_EQ(emitted[0]["total"], 300.0);
}

// docs/rules.md: facts are attached "in the order written", and `emit`
// record fields are "kept in the order written".
TEST_F(RuleEngineTest, FactsAndEmitRecordFieldsKeepTheOrderWritten) {
  start(compile(kVipRules));
  ASSERT_TRUE(feed({{kCustomers, customer("c1", "Ann", "gold", "g7", "2024-03-01T09:00:00Z")}}).isOk());
  ASSERT_TRUE(feed({{kPurchases, purchase("o1", "c1", "s1", 300.0, "2024-03-01T09:30:00Z")}}).isOk());
  ASSERT_TRUE(feed({{kClicks, click("c1", "shoe-9", "2024-03-01T10:00:00Z")}}).isOk());
  std::string alert, record;
  for (const auto& r : output_.stored) (r.topic == "crm.orders" ? record : alert) = r.value;
  EXPECT_THAT(alert, HasSubstr(R"("facts":{"tier":"gold","spend":300.0})"));
  EXPECT_THAT(record, HasSubstr(R"({"total":300.0,"order":"o1")"));
}

TEST_F(RuleEngineTest, AlertToTheStoreManagerOnceTheStoreIsKnown) {
  start(compile(R"(
rules:
  - id: scan-to-manager
    on: [scan]
    alert: {to: store_manager, title: "{{event.customer_id}} at {{store.name}}"}
)"));
  ASSERT_TRUE(feed({{kStores, R"({"store_id":"s1","name":"Main","manager_id":"m1"})"}}).isOk());
  ASSERT_TRUE(feed({{kScans, scan("c3", "s1", "tea-1", "2024-03-01T10:00:00Z")}}).isOk());
  const auto alerts = output_.storedJson();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["recipient"]["kind"], "store_manager");
  EXPECT_EQ(alerts[0]["recipient"]["id"], "m1");
  EXPECT_EQ(alerts[0]["title"], "c3 at Main");
  EXPECT_EQ(alerts[0]["store_id"], "s1");
}

// SPEC.md "Rules": calendar windows follow the store's time zone. The
// store is committed before the purchases, so this isolates the window's
// zone from when a store profile becomes visible.
TEST_F(RuleEngineTest, CalendarDayFollowsTheStoreTimeZone) {
  start(compile(R"(
aggregates:
  orders_day: {count: purchase, by: store_id, window: calendar_day}
rules:
  - id: store-day
    on: [purchase]
    alert: {to: audit, title: "{{agg.orders_day}} on {{now.date}}"}
)"));
  ASSERT_TRUE(feed({{kStores, R"({"store_id":"s8","name":"Pudong","timezone":"Asia/Shanghai"})"}}).isOk());
  // 23:59:59.999 and 00:00 local (UTC+8): two local days, one UTC day.
  ASSERT_TRUE(feed({{kPurchases, purchase("o1", "c1", "s8", 10.0, "2024-03-01T15:59:59.999Z")}}).isOk());
  ASSERT_TRUE(feed({{kPurchases, purchase("o2", "c1", "s8", 10.0, "2024-03-01T16:00:00Z")}}).isOk());
  EXPECT_THAT(titles(), ElementsAre("store-day: 1 on 2024-03-01", "store-day: 1 on 2024-03-02"));
}

// ---------------------------------------------------------------------------
// Deterministic ids (SPEC.md "Alerts": the same input always yields the same id).

TEST(RuleEngineReplayTest, AlertIdsAreEqualAcrossTwoReplaysOfTheSameEvents) {
  auto rules = compile(R"(
rules:
  - id: look
    on: [click, scan]
    cooldown: {key: [customer_id, sku], for: 10m}
    alert: {to: audit, title: "{{event.customer_id}} {{event.sku}}"}
)");
  ASSERT_NE(rules, nullptr);
  const std::vector<std::string> events = {
      R"({"type":"click","customer_id":"c1","sku":"a","ts":"2024-03-01T10:00:00Z"})",
      R"({"type":"click","customer_id":"c1","sku":"b","ts":"2024-03-01T10:00:00Z"})",
      R"({"type":"scan","customer_id":"c2","store_id":"s1","sku":"a","ts":"2024-03-01T10:01:00Z"})",
      R"({"type":"click","customer_id":"c1","sku":"a","ts":"2024-03-01T10:05:00Z"})",
      R"({"type":"click","customer_id":"c1","sku":"a","ts":"2024-03-01T10:10:00Z"})",
  };
  auto replay = [&](RecordingOutputSink& out) {
    Replay r(rules, out);
    for (const std::string& e : events) r.add(e);
    const Status ran = r.run(std::nullopt, {});
    EXPECT_TRUE(ran.isOk()) << ran.toString();
  };
  RecordingOutputSink first, second;
  replay(first);
  replay(second);
  const auto a = first.storedJson();
  const auto b = second.storedJson();
  ASSERT_EQ(a.size(), 4u);  // (c1,a) 10:00 and 10:10, (c1,b), (c2,a)
  ASSERT_EQ(b.size(), a.size());
  std::set<std::string> ids;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_FALSE(a[i]["id"].get<std::string>().empty());
    EXPECT_EQ(a[i]["id"], b[i]["id"]) << i;
    EXPECT_EQ(a[i], b[i]) << i;  // the whole alert, fired_ts included (event-time clock)
    ids.insert(a[i]["id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), a.size()) << "different alerts must have different ids";
}

// ---------------------------------------------------------------------------
// Sweeping: state no window or cooldown can use any more is deleted.

TEST_F(RuleEngineTest, SweepDeletesWindowsAndCooldownStampsNothingCanUseAnyMore) {
  start(compile(R"(
aggregates:
  looks: {count: click, by: customer_id, window: 10m, step: 1m, lateness: 1m}
rules:
  - id: look
    on: [click]
    when: agg.looks >= 1
    cooldown: 1h
    alert: {to: audit, title: "{{event.sku}}"}
)"),
        RuleEngineOptions::Clock::kWall);
  ASSERT_TRUE(feed({{kClicks, click("c1", "a", "2024-03-01T10:00:00Z")},
                    {kClicks, click("c2", "a", "2024-03-01T11:05:00Z")}})
                  .isOk());
  // A customer's windows are one record, keyed by the first `by` field.
  const std::string c1_window = std::string("customer_id\0c1", 14);
  const std::string c2_window = std::string("customer_id\0c2", 14);
  const std::string c1_stamp = std::string("c\0look\0c1", 9);
  const std::string c2_stamp = std::string("c\0look\0c2", 9);
  ASSERT_TRUE(store_.get(StateTable::kAggregate, 0, c1_window)->has_value());
  ASSERT_TRUE(store_.get(StateTable::kRule, 0, c1_stamp)->has_value());

  // At 11:10 c1's window (10:00 + 10m + 1m step + 1m lateness) and its
  // cooldown (10:00 + 1h) have run out; c2's have not.
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2024-03-01T10:00:00Z")).isOk());
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2024-03-01T11:10:00Z")).isOk());
  ASSERT_TRUE(pipeline_->flush().isOk());
  EXPECT_FALSE(store_.get(StateTable::kAggregate, 0, c1_window)->has_value());
  EXPECT_FALSE(store_.get(StateTable::kRule, 0, c1_stamp)->has_value());
  EXPECT_TRUE(store_.get(StateTable::kAggregate, 0, c2_window)->has_value());
  EXPECT_TRUE(store_.get(StateTable::kRule, 0, c2_stamp)->has_value());

  // A new click of c1 starts a fresh window and fires (its cooldown is gone).
  ASSERT_TRUE(feed({{kClicks, click("c1", "b", "2024-03-01T11:11:00Z")}}).isOk());
  EXPECT_EQ(firings_.size(), 3u);
}

TEST_F(RuleEngineTest, EventRulesReadStoreWindowsSummedOverTheOwnedPartitions) {
  start(compile(R"(
aggregates:
  store_sales: {sum: purchase.total, by: store_id, window: 1d}
rules:
  - id: store-day-passes-300
    on: [purchase]
    when: agg.store_sales >= 300.0
    cooldown: {key: [store_id], for: 1d}
    alert: {to: ops, title: "{{event.store_id}} at {{agg.store_sales}}"}
)"));
  engine_->setOwnedPartitions([] { return std::set<int32_t>{0, 1}; });
  // Customers in two partitions buy at one store: 100 + 100 + 100.
  source_.scheduleAssign({{kPurchases, 1}});
  source_.append(kPurchases, 0, purchase("o1", "c1", "s1", 100, "2024-03-01T10:00:00Z"));
  source_.append(kPurchases, 1, purchase("o2", "c2", "s1", 100, "2024-03-01T10:01:00Z"));
  ASSERT_TRUE(pipeline_->runOnce(source_).isOk());
  source_.append(kPurchases, 0, purchase("o3", "c3", "s1", 100, "2024-03-01T10:02:00Z"));
  ASSERT_TRUE(feed({}).isOk());
  ASSERT_EQ(titles(), (std::vector<std::string>{"store-day-passes-300: s1 at 300"}));
}

// for_each: customer-segment reads the customers from the state store, not
// only from the pipeline's memory: after a restart nothing is in memory.
TEST_F(RuleEngineTest, CustomerSegmentRunsForTheStoredCustomersAfterARestart) {
  const auto rules = compile(R"(
aggregates:
  orders_30d: {count: purchase, by: customer_id, window: 30d}
rules:
  - id: call-gold
    at: "10:00"
    for_each: customer-segment
    segment: customer.tier == "gold"
    when: agg.orders_30d == 0
    cooldown: 1h
    alert: {to: guide, title: "Call {{customer.name}}"}
)");
  start(rules, RuleEngineOptions::Clock::kWall);
  ASSERT_TRUE(feed({{kCustomers, customer("c1", "An", "gold", "g1", "2024-03-01T08:00:00Z")},
                    {kCustomers, customer("c2", "Bo", "member", "g2", "2024-03-01T08:00:00Z")},
                    {kCustomers, customer("c3", "Cy", "gold", "g3", "2024-03-01T08:00:00Z")},
                    {kPurchases, purchase("o1", "c3", "s1", 50, "2024-03-01T08:30:00Z")}})
                  .isOk());
  restart(rules, RuleEngineOptions::Clock::kWall);

  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2024-03-01T09:00:00Z")).isOk());  // the clock starts
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2024-03-01T09:59:59Z")).isOk());
  EXPECT_TRUE(firings_.empty());
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2024-03-01T10:00:00Z")).isOk());
  // c2 is not gold; c3 ordered in the last 30 days.
  ASSERT_EQ(firings_.size(), 1u);
  EXPECT_EQ(firings_[0].rule, "call-gold");
  EXPECT_EQ(firings_[0].fields.at("customer_id"), "c1");
  EXPECT_EQ(firings_[0].fields.at("recipient"), "g1");
  EXPECT_EQ(firings_[0].fields.at("title"), "Call An");
  EXPECT_EQ(firings_[0].fields.at("event_ts"), "2024-03-01T10:00:00Z");

  // The cooldown stamp is the customer's, in the customer's partition.
  ASSERT_TRUE(pipeline_->flush().isOk());
  EXPECT_TRUE(store_.get(StateTable::kRule, 0, std::string("c\0call-gold\0c1", 14))->has_value());
  const auto counters = engine_->counters().at("call-gold");
  EXPECT_EQ(counters.evaluations, 3u);  // each customer, members or not
  EXPECT_EQ(counters.fires, 1u);
}

// An instance runs two engines on one store (engine/app/engine.cc): the
// global tables' one folds inventory events into store-keyed aggregates,
// the group one, which runs the scheduled rules, only reads them. It reads
// them again after each of its commits, so a later run sees the global
// engine's updates, not the figure it cached first.
TEST(RuleEngineOfTwoPipelinesTest, ScheduledRulesSeeTheGlobalEnginesLaterAggregateUpdates) {
  const auto rules = compile(R"(
aggregates:
  restocks: {count: inventory, by: store_id, window: 1d}
rules:
  - id: restock-report
    every: 1h
    for_each: store
    alert: {to: store_manager, title: "{{store.name}} restocks {{agg.restocks}}"}
)");
  ASSERT_NE(rules, nullptr);
  MemoryStateStore store;
  RecordingDeadLetterSink dead_letters;
  RecordingOutputSink global_output;
  RecordingOutputSink group_output;
  RuleEngineOptions o;
  o.clock = RuleEngineOptions::Clock::kWall;
  o.flush_timeout = std::chrono::milliseconds(10);
  o.run_scheduled = false;
  RuleEngine global_rules(o, rules, store, global_output, dead_letters, nullptr);
  global_rules.setOwnedPartitions([] { return std::set<int32_t>{}; });
  o.run_scheduled = true;
  RuleEngine group_rules(o, rules, store, group_output, dead_letters, nullptr);
  std::vector<std::string> titles;
  group_rules.setFiringListener([&](const Firing& f) { titles.push_back(f.fields.at("title")); });

  PipelineOptions p;
  p.batch_max_wait = std::chrono::milliseconds(1);
  p.dead_letter_flush_timeout = std::chrono::milliseconds(10);
  p.topics = {{kInventory, EventType::kInventory}, {kStores, EventType::kStore}};
  IngestPipeline global_pipeline(p, store, dead_letters, nullptr);
  global_pipeline.addProcessor(global_rules);
  p.topics = {{kClicks, EventType::kClick}};
  IngestPipeline group_pipeline(p, store, dead_letters, nullptr);
  group_pipeline.addProcessor(group_rules);
  FakeEventSource global_source;
  global_source.scheduleAssign({{kInventory, 0}, {kStores, 0}});

  auto global_feed = [&](const std::string& topic, const std::string& payload) {
    global_source.append(topic, 0, payload);
    ASSERT_TRUE(global_pipeline.runOnce(global_source).isOk());
    ASSERT_TRUE(global_pipeline.flush().isOk());
  };
  global_feed(kStores, R"({"store_id":"s1","name":"Main","manager_id":"m1"})");
  global_feed(kInventory, inventory("s1", "a", 5, "2024-03-01T08:00:00Z"));

  ASSERT_TRUE(group_rules.tick(*parseRfc3339Millis("2024-03-01T09:30:00Z")).isOk());  // the clock starts
  ASSERT_TRUE(group_rules.tick(*parseRfc3339Millis("2024-03-01T10:00:00Z")).isOk());
  ASSERT_TRUE(group_pipeline.flush().isOk());
  global_feed(kInventory, inventory("s1", "b", 5, "2024-03-01T10:30:00Z"));
  ASSERT_TRUE(group_rules.tick(*parseRfc3339Millis("2024-03-01T11:00:00Z")).isOk());

  EXPECT_THAT(titles, ElementsAre("Main restocks 1", "Main restocks 2"));
}

// A tag is stored with the customer's partition and read back by a later
// engine: customer.attributes survives a restart.
TEST_F(RuleEngineTest, CustomerAttributesSetByTagsAreReadAfterARestart) {
  const auto rules = compile(R"(
rules:
  - id: repeat-order
    on: [purchase]
    when: has(customer.attributes.last_order)
    priority: 1
    alert: {to: audit, title: "after {{customer.attributes.last_order}}, {{customer.attributes.channel}}"}
  - id: order-tag
    on: [purchase]
    tag: {name: last_order, value: event.order_id}
  - id: channel-tag
    on: [purchase]
    tag: {name: channel, value: '"store"'}
)");
  start(rules);
  ASSERT_TRUE(feed({{kPurchases, purchase("o1", "c1", "s1", 10, "2024-03-01T10:00:00Z")}}).isOk());
  EXPECT_TRUE(store_.get(StateTable::kRule, 0, std::string("a\0c1", 4))->has_value());
  restart(rules);
  ASSERT_TRUE(feed({{kPurchases, purchase("o2", "c1", "s1", 10, "2024-03-02T10:00:00Z")}}).isOk());
  std::vector<std::string> alerts;
  for (const Firing& f : firings_) {
    if (f.action == "alert") alerts.push_back(f.fields.at("title"));
  }
  EXPECT_THAT(alerts, ElementsAre("after o1, store"));
}

// Waits (`absent`) are rule records committed with the state: after a
// restart the engine reads them back and acts on the wall clock; a revoked
// partition's waits are left to its new owner.
TEST_F(RuleEngineTest, WaitsActOnTheWallClockAfterARestartInThePartitionsOwned) {
  const auto rules = compile(R"(
rules:
  - id: scanned-not-bought
    on: [scan]
    absent: {on: [purchase], within: 2h, match: [customer_id, sku]}
    alert: {to: guide, title: "{{event.customer_id}} did not buy {{event.sku}}"}
)");
  // In 2099: runOnce ticks with the real clock, which must not end the waits.
  Metrics metrics;
  start(rules, RuleEngineOptions::Clock::kWall, &metrics);
  ASSERT_TRUE(feed({{kScans, scan("c1", "s1", "a", "2099-03-01T10:00:00Z")},
                    {kScans, scan("c2", "s1", "a", "2099-03-01T10:00:00Z")}})
                  .isOk());
  ASSERT_TRUE(feed({{kPurchases, purchase("o1", "c2", "s1", 10, "2099-03-01T10:30:00Z")}}).isOk());
  auto waiting = [&] {
    const auto counters = engine_->counters();
    const auto it = counters.find("scanned-not-bought");
    return it == counters.end() ? 0u : it->second.waiting;  // counted once the engine has seen the rule
  };
  auto waitKey = [](std::string_view customer) {
    return std::string("w\0scanned-not-bought\0", 21) + std::string(customer) + std::string("\0a", 2);
  };
  EXPECT_TRUE(store_.get(StateTable::kRule, 0, waitKey("c1"))->has_value());
  EXPECT_FALSE(store_.get(StateTable::kRule, 0, waitKey("c2"))->has_value());
  EXPECT_EQ(waiting(), 1u);
  EXPECT_THAT(metrics.scrape(), HasSubstr(R"(storepulse_rule_waits{rule="scanned-not-bought"} 1)"));

  restart(rules, RuleEngineOptions::Clock::kWall);
  std::set<int32_t> owned;  // partition 0 was revoked, as in a rebalance
  engine_->setOwnedPartitions([&] { return owned; });
  engine_->revoked({0});
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2099-03-01T13:00:00Z")).isOk());
  EXPECT_TRUE(firings_.empty());

  EXPECT_EQ(waiting(), 0u);

  owned = {0};  // and assigned back: its waits are read from the store
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2099-03-01T11:00:00Z")).isOk());
  EXPECT_TRUE(firings_.empty());
  EXPECT_EQ(waiting(), 1u);
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2099-03-01T13:00:01Z")).isOk());
  ASSERT_THAT(titles(), ElementsAre("scanned-not-bought: c1 did not buy a"));
  EXPECT_EQ(firings_[0].fields.at("event_ts"), "2099-03-01T12:00:00Z");
  EXPECT_EQ(waiting(), 0u);
  ASSERT_TRUE(feed({}).isOk());  // the commit that ends the wait
  EXPECT_FALSE(store_.get(StateTable::kRule, 0, waitKey("c1"))->has_value());
  ASSERT_TRUE(engine_->tick(*parseRfc3339Millis("2099-03-01T14:00:00Z")).isOk());
  EXPECT_EQ(firings_.size(), 1u);
}

// A store's record keyed by product holds a window per product: past a few
// hundred they are found through an index, which must find each one again.
TEST_F(RuleEngineTest, AStoreRecordOfHundredsOfProductWindowsFindsEachAgain) {
  start(compile(R"(
aggregates:
  scans_per_product: {count: scan, by: [store_id, sku], window: 1d}
rules:
  - id: second-scan
    on: [scan]
    when: agg.scans_per_product == 2
    alert: {to: audit, title: "{{event.sku}}"}
)"));
  constexpr int kProducts = 700;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < kProducts; ++i) {  // one event per poll: the fixture's batches hold 100
      ASSERT_TRUE(poll({{kScans, scan("c1", "s1", fmt::format("p{:04d}", i),
                                      fmt::format("2024-03-01T1{}:{:02d}:{:02d}Z", pass, i / 60, i % 60))}})
                      .isOk());
    }
    ASSERT_TRUE(pipeline_->flush().isOk());
  }
  ASSERT_EQ(firings_.size(), static_cast<size_t>(kProducts));
  for (int i = 0; i < kProducts; ++i) EXPECT_EQ(firings_[i].fields.at("title"), fmt::format("p{:04d}", i));
}

// The wall-clock schedule's progress is stored: a restart makes up the runs
// missed while the engine was down, the last day's at most; a first start
// makes up nothing.
TEST_F(RuleEngineTest, ARestartMakesUpTheScheduledRunsMissedWhileDownTheLastDaysAtMost) {
  const auto rules = compile(R"(
rules:
  - id: hourly
    every: 1h
    for_each: store
    alert: {to: store_manager, title: "{{store.name}} {{now.date}} {{now.hour}}h"}
)");
  auto flushAndRestart = [&] {
    ASSERT_TRUE(pipeline_->flush().isOk());
    restart(rules, RuleEngineOptions::Clock::kWall);
  };
  auto tickAt = [&](const char* time) { ASSERT_TRUE(engine_->tick(*parseRfc3339Millis(time)).isOk()); };
  auto titles = [&] {
    std::vector<std::string> out;
    for (const Firing& f : firings_) out.push_back(f.fields.at("title"));
    return out;
  };

  // The store is written straight to the state store: a poll would tick
  // the engine with today's wall clock.
  StoreRecord main;
  main.name = "Main";
  main.manager_id = "m1";
  StateWriteBatch stores;
  stores.writes.push_back(StateWrite{StateTable::kStore, kGlobalPartition, "s1", "", false});
  encodeStoreRecord(main, stores.writes.back().value);
  ASSERT_TRUE(store_.write(stores).isOk());
  start(rules, RuleEngineOptions::Clock::kWall);
  tickAt("2024-03-01T09:30:00Z");  // a first start: nothing before it
  tickAt("2024-03-01T10:00:00Z");
  EXPECT_THAT(titles(), ElementsAre("Main 2024-03-01 10h"));

  flushAndRestart();  // down from 10:00 to 13:30
  tickAt("2024-03-01T13:30:00Z");
  EXPECT_THAT(titles(), ElementsAre("Main 2024-03-01 11h", "Main 2024-03-01 12h", "Main 2024-03-01 13h"));

  flushAndRestart();  // down three days: only the last day's 24 runs
  tickAt("2024-03-04T13:30:00Z");
  const std::vector<std::string> made_up = titles();
  ASSERT_EQ(made_up.size(), 24u);
  EXPECT_EQ(made_up.front(), "Main 2024-03-03 14h");
  EXPECT_EQ(made_up.back(), "Main 2024-03-04 13h");
}

}  // namespace
}  // namespace storepulse::rules
