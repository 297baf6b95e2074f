#pragma once
// The rule engine (SPEC.md "Rules"): an EventProcessor on the ingest
// pipeline. For each event, after the pipeline folded it into customer or
// global state, it
//   1. folds the event into the aggregates that count its type (late events
//      past an aggregate's allowed lateness are dead-lettered instead),
//   2. evaluates the rules that list the event's type in `on:`, highest
//      priority first, and for each that holds and is out of cooldown,
//   3. acts: an alert or `emit` record to the output sink, a block set or
//      lifted, a customer tag set.
// Scheduled rules run when the engine clock passes their times; a rule with
// `absent:` starts a wait at its event instead of acting, and acts when the
// clock passes the wait's end unless a matching event ended it first.
// Aggregate, cooldown, wait, block and tag state joins the pipeline's
// atomic commit; output
// is flushed before it. The same class runs in `storepulse run`, in
// backtests and in rule tests: only the clock and the sinks differ.

#include <absl/time/time.h>

#include <array>
#include <chrono>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/aggregates/windowed_aggregate.h"
#include "engine/alerts/alert.h"
#include "engine/event/event_decoder.h"
#include "engine/metrics/metrics.h"
#include "engine/pipeline/dead_letter_sink.h"
#include "engine/pipeline/event_processor.h"
#include "engine/pipeline/output_sink.h"
#include "engine/pipeline/record_cache.h"
#include "rules/ruleset/ruleset.h"

namespace storepulse::rules {

struct RuleEngineOptions {
  // The engine clock: `now` in expressions and what scheduled rules follow.
  // Live engines use the wall clock; backtests and rule tests the event
  // time (the newest event seen), so that they are reproducible.
  enum class Clock { kWall, kEventTime } clock = Clock::kWall;
  bool run_scheduled = true;  // one pipeline per instance runs them (the group one)
  std::string alerts_topic = "storepulse.alerts";
  absl::TimeZone default_zone;  // calendar windows, `now`, `at:` when a store has none
  std::chrono::milliseconds flush_timeout{30000};
  size_t cache_max_records = 200000;  // aggregate and rule records kept between commits
  // How often (wall clock) records no window or cooldown can use any more
  // are deleted: aggregates of keys quiet for longer than their window and
  // lateness, cooldown stamps that have run out. 0: never.
  std::chrono::milliseconds sweep_interval{3600000};
};

// What one rule did, for tests, backtest summaries and GET /v1/rules.
struct RuleCounters {
  uint64_t evaluations = 0;
  uint64_t fires = 0;  // shadow rules: would-fire
  uint64_t errors = 0;
  uint64_t held = 0;  // would have fired in the rule's quiet hours
  uint64_t waiting = 0;  // `absent`: waits running now
};

// One action a rule took (or, in shadow mode, would have taken): what rule
// tests match their `expect:` entries against, and what backtests count.
struct Firing {
  std::string rule;
  std::string action;  // alert, block, unblock, tag, emit
  bool shadow = false;
  // customer_id, store_id, sku, event_ts, and per action: id, severity,
  // title, recipient (alert); name, value (tag); topic (emit).
  std::map<std::string, std::string> fields;
};

class RuleEngine final : public EventProcessor {
 public:
  // `metrics` may be null. Sinks and store must outlive the engine.
  RuleEngine(RuleEngineOptions options, std::shared_ptr<const CompiledRuleSet> rules, StateStore& store,
             OutputSink& output, DeadLetterSink& dead_letters, Metrics* metrics);
  ~RuleEngine() override;

  // Swaps in a new rule set between two events (any thread may call it);
  // aggregates whose definition did not change keep their state.
  void replaceRules(std::shared_ptr<const CompiledRuleSet> rules);
  std::shared_ptr<const CompiledRuleSet> currentRules() const;
  // Customer partitions this instance owns: scheduled rules read store-keyed
  // aggregates from all of them. Default: partition 0 only.
  void setOwnedPartitions(std::function<std::set<int32_t>()> owned) { owned_partitions_ = std::move(owned); }
  std::set<int32_t> ownedPartitions() const { return owned_partitions_ ? owned_partitions_() : std::set<int32_t>{0}; }
  // Event-time clock only: runs the scheduled rules due up to `until_ms`
  // (the end of a backtest or rule test).
  Status advanceClockTo(int64_t until_ms);
  // Per rule id, since start. Thread-safe.
  std::map<std::string, RuleCounters> counters() const;
  // Called on the pipeline thread for every action taken.
  void setFiringListener(std::function<void(const Firing&)> listener) { listener_ = std::move(listener); }

  // EventProcessor
  void attached(const PipelineRecords& records) override { pipeline_records_ = &records; }
  Status before(const Event& e) override;
  Status process(const ProcessedEvent& e) override;
  Status tick(int64_t wall_clock_ms) override;
  Status prepareCommit(StateWriteBatch& batch) override;
  void revoked(const std::set<int32_t>& partitions) override;

 private:
  struct Entry;
  struct AggregatePlan;
  class Evaluation;

  void pickUpReload();
  Evaluation& evaluation();  // the current rule set's, unbound
  // `store_id`: the store the event belongs to, for `by: store`.
  Status foldAggregates(const ProcessedEvent& e, std::string_view store_id, const absl::TimeZone& zone);
  // `zone`: the store's (zoneOf), which the fold looked up already.
  Status evaluateRules(const ProcessedEvent& e, const std::string& store_id, const StoreRecord* store,
                       const absl::TimeZone& zone);
  // Purchases' units sold per store and product (store.out_of_stock_best_sellers).
  Status foldUnitsSold(const ProcessedEvent& e, const absl::TimeZone& zone);
  std::vector<std::string> outOfStockBestSellers(std::string_view store_id, int64_t at_ms, const absl::TimeZone& zone,
                                                 int32_t partition);
  // What `tag` actions set on the customer (customer.attributes).
  Result<Attributes> attributesOf(int32_t partition, std::string_view customer_id);
  // Runs what is due in (after_ms, until_ms]; true when some rule's time
  // may have passed.
  Result<bool> runScheduled(int64_t after_ms, int64_t until_ms);
  Status sweep(int64_t now_ms);
  // What scheduled rules run for: the stores, and the owned customers.
  struct ScheduledCustomer {
    int32_t partition;
    std::string id;
    std::string home_store;  // whose zone places its `at:` times
  };
  Result<std::vector<std::string>> scheduledStores();
  Result<std::vector<ScheduledCustomer>> scheduledCustomers();
  Status runScheduledAt(const CompiledRule& rule, const std::string& store_id, const StoreRecord& store,
                        int64_t at_ms);
  Status runScheduledFor(const CompiledRule& rule, const ScheduledCustomer& customer, int64_t at_ms);
  // Evaluates the rule's condition and acts on it (or starts its wait).
  Status fire(const CompiledRule& rule, Evaluation& ev);
  // `after`: whether a linked event came at most `within` before `e`.
  Result<bool> cameAfter(const CompiledRule& rule, const ProcessedEvent& e);
  // The other `by` values of a purchase's window per product (its items'
  // skus, distinct); none when the event lacks one of them.
  std::vector<std::string> itemKeys(const AggregatePlan& plan, const Event& e) const;
  // Takes the rule's actions; `holds` is its condition (a block is lifted
  // when it does not hold).
  Status act(const CompiledRule& rule, Evaluation& ev, bool holds);
  // Counts and logs a rule that could not be evaluated; the event goes on.
  Status ruleFailed(const CompiledRule& rule, const std::string& why);
  // The customer as the pipeline has it now (its batch, else the store);
  // null when there is none. `holder` keeps one read from the store.
  Result<const CustomerState*> customerNow(int32_t partition, const std::string& id,
                                           std::optional<CustomerState>& holder);

  // Absences. A wait is a rule record ("w\0rule\0match values") in the
  // customer's partition holding the event that started it; the engine
  // indexes the waits of the partitions it owns by key and by end.
  struct RuleStats;
  struct Wait {
    int64_t started_ms;  // the event time of the event that started it
    int64_t ends_ms;     // started_ms + within: an event after it is too late to end it
    RuleStats* stats;    // its rule's, which count it; null when the rule is gone
  };
  // Adds or removes a wait in the index (and its rule's count).
  void indexWait(int32_t partition, const std::string& key, Wait wait);
  void unindexWait(std::map<std::pair<int32_t, std::string>, Wait>::iterator it);
  // One key per wait the event starts or ends (a purchase: one per product
  // when `match` holds sku); none when it lacks a matched field.
  struct WaitKey {
    std::string key;
    std::string item;  // the product of a purchase's wait per product; else empty
  };
  std::vector<WaitKey> waitKeys(const CompiledRule& rule, const Event& e) const;
  // The current set's rule that a wait record's key names; null when none.
  const CompiledRule* ruleOfWait(std::string_view key) const;
  Status loadWaits(int32_t partition);  // once per partition, from the store
  Status loadOwnedWaits();
  Status startWait(const CompiledRule& rule, Evaluation& ev);
  Status endWaits(const ProcessedEvent& e);
  // Acts on the waits that end before `until_ms` (or at it, when `inclusive`).
  Status runWaits(int64_t until_ms, bool inclusive);
  Status fireWait(int32_t partition, const std::string& key);
  void announce(const CompiledRule& rule, std::string action, const Evaluation& ev,
                std::map<std::string, std::string> fields);

  Result<Entry*> entry(StateTable table, int32_t partition, std::string_view key);
  Status load(Entry& e);  // its value as stored
  // The record in `partition` holding `plan`'s windows for the group key
  // `group_value` (see AggregateGroup in the .cc).
  Result<Entry*> groupEntry(int32_t partition, const AggregatePlan& plan, std::string_view group_value);
  // Where a window is: its group record and its place there. Windows are
  // only added while an event is processed, so this stays valid for the
  // rest of the event, where a pointer would not.
  struct WindowRef {
    Entry* group = nullptr;  // null: no such window
    size_t index = 0;
    WindowedAggregate* get() const;
  };
  // `plan`'s window for a key: in the record of `group_value`, the one of
  // the other `by` values `others`. Created when `create`. `group_memo`
  // caches the record for the rest of an event.
  Result<WindowRef> window(int32_t partition, const AggregatePlan& plan, std::string_view group_value,
                           std::string_view others, bool create, Entry** group_memo);
  // Sets group_value_ and others_ to the event's key for `plan`; false
  // when the event lacks one of its `by` fields. `event_store` is the
  // store the event belongs to, for `by: store`.
  bool eventKey(const AggregatePlan& plan, const Event& e, std::string_view event_store);
  void planAggregates();  // for the current rule set
  void evictLeastRecentlyUsed();  // the cache is past its bound
  // The function of the current set's aggregate with this definition
  // fingerprint; nullopt when the set has none.
  std::optional<AggregateFunction> functionOf(uint64_t definition) const;
  void markDirty(Entry* e);
  Result<const StoreRecord*> storeRecord(const std::string& id);
  const absl::TimeZone& zoneOf(const StoreRecord* store);
  enum class Outcome { kEvaluated, kFired, kFailed, kHeld };
  // Counts for the rule; returns its errors so far.
  uint64_t count(const CompiledRule& rule, Outcome outcome);
  // Adds what was counted since the last call to the metrics.
  void publishMetrics();

  RuleEngineOptions options_;
  std::shared_ptr<const CompiledRuleSet> rules_;
  StateStore& store_;
  OutputSink& output_;
  DeadLetterSink& dead_letters_;
  Metrics* metrics_;
  std::function<std::set<int32_t>()> owned_partitions_;
  std::function<void(const Firing&)> listener_;
  const PipelineRecords* pipeline_records_ = nullptr;

  mutable std::mutex reload_mutex_;
  std::shared_ptr<const CompiledRuleSet> pending_rules_;  // guarded by reload_mutex_
  std::shared_ptr<const CompiledRuleSet> published_rules_;  // guarded by reload_mutex_

  std::shared_ptr<const CompiledRuleSet> evaluation_rules_;  // the set evaluation_ was made for
  std::unique_ptr<Evaluation> evaluation_;
  RecordCache<Entry> cache_;  // aggregate and rule records
  std::vector<Entry*> dirty_;
  uint64_t batch_ = 1;  // counts commits: what a cached record was last used in

  std::vector<AggregatePlan> plans_;  // by aggregate index of rules_
  std::unordered_map<uint64_t, int> plan_by_definition_;
  int best_seller_plan_ = -1;  // in plans_, when the rule set reads best sellers
  std::vector<int> after_plans_;  // by index in rules_->compiled: the plan of its `after` count, or -1
  std::array<std::vector<int>, kEventTypeCount> fold_plans_;  // what each event type folds into
  uint64_t generation_ = 0;  // counts rule sets
  // Of the event being processed: its group records by AggregatePlan::
  // group_slot, and the windows the fold updated, by aggregate index.
  std::vector<Entry*> event_groups_;
  std::vector<WindowRef> event_windows_;
  // Reused buffers, so that the hot path does not allocate.
  std::string group_key_;
  std::string_view group_value_;
  std::string others_;
  std::string encode_scratch_;
  std::string encode_body_;
  std::map<std::pair<int32_t, std::string>, Wait> waits_;
  std::set<std::tuple<int64_t, int32_t, std::string>> wait_ends_;  // (ends_ms, partition, key) of waits_
  std::set<int32_t> wait_partitions_;  // whose waits are loaded
  EventDecoder decoder_;               // the events that started waits, read back at their end
  std::unordered_map<std::string, std::unique_ptr<StoreRecord>> stores_;  // read through; refreshed per commit
  std::map<std::string, absl::TimeZone> zones_;
  bool sent_output_ = false;
  bool sent_dead_letters_ = false;
  int64_t event_clock_ms_ = INT64_MIN;       // newest event time seen (event-time clock)
  int64_t scheduled_until_ms_ = INT64_MIN;   // scheduled times up to here have run
  int64_t last_sweep_ms_ = INT64_MIN;

  // Per rule id, kept across reloads. Counted without locks on the
  // pipeline thread (atomics, read by counters()), with the metric children
  // looked up once and added to per batch.
  struct RuleStats {
    std::atomic<uint64_t> evaluations{0};
    std::atomic<uint64_t> fires{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> held{0};
    std::atomic<uint64_t> waiting{0};  // a gauge: waits running now
    uint64_t published_evaluations = 0;  // what the metrics have
    uint64_t published_fires = 0;
    uint64_t published_errors = 0;
    uint64_t published_held = 0;
    prometheus::Counter* evaluations_metric = nullptr;
    prometheus::Counter* fires_metric = nullptr;
    prometheus::Counter* errors_metric = nullptr;
    prometheus::Counter* held_metric = nullptr;
    prometheus::Gauge* waiting_metric = nullptr;  // rules with `absent` only
  };
  RuleStats& statsFor(const RuleSpec& spec);
  mutable std::mutex stats_mutex_;  // guards the map's shape, not the counts
  std::map<std::string, std::unique_ptr<RuleStats>> stats_;
  std::vector<RuleStats*> stats_by_rule_;  // by index in evaluation_rules_->compiled
};

}  // namespace storepulse::rules
