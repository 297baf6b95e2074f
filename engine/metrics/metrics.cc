#include "engine/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include "engine/core/build_info.h"

namespace storepulse {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      events_consumed(BuildCounter()
                          .Name("storepulse_events_consumed_total")
                          .Help("Events consumed and folded into state, by topic and event type.")
                          .Register(*registry_)),
      events_invalid(BuildCounter()
                         .Name("storepulse_events_invalid_total")
                         .Help("Messages rejected by validation and sent to the dead-letter topic, by reason.")
                         .Register(*registry_)),
      processing_latency(BuildHistogram()
                             .Name("storepulse_event_processing_seconds")
                             .Help("Time from receiving an event to committing the state it produced.")
                             .Register(*registry_)),
      event_time_lag(BuildGauge()
                         .Name("storepulse_event_time_lag_seconds")
                         .Help("Wall clock minus the newest event time seen in the last batch, by topic.")
                         .Register(*registry_)),
      consumer_lag(BuildGauge()
                       .Name("storepulse_consumer_lag_messages")
                       .Help("High watermark minus the next offset to process, by topic and partition.")
                       .Register(*registry_)),
      commits(BuildCounter()
                  .Name("storepulse_state_commits_total")
                  .Help("Atomic state+offset commits, by outcome.")
                  .Register(*registry_)),
      state_size(BuildGauge()
                     .Name("storepulse_state_store_size_bytes")
                     .Help("Bytes held by the state store (SST files and memtables).")
                     .Register(*registry_)),
      state_keys(BuildGauge()
                     .Name("storepulse_state_store_keys")
                     .Help("Estimated number of records per state table.")
                     .Register(*registry_)),
      state_errors(BuildGauge()
                       .Name("storepulse_state_store_background_errors")
                       .Help("RocksDB background errors since start; non-zero means the store is unhealthy.")
                       .Register(*registry_)),
      assigned_partitions(BuildGauge()
                              .Name("storepulse_assigned_partitions")
                              .Help("Topic partitions this instance currently processes, by topic.")
                              .Register(*registry_)),
      rule_evaluations(BuildCounter()
                           .Name("storepulse_rule_evaluations_total")
                           .Help("Rule conditions evaluated, by rule.")
                           .Register(*registry_)),
      rule_fires(BuildCounter()
                     .Name("storepulse_rule_fires_total")
                     .Help("Rules that fired (mode=shadow: would have fired), by rule.")
                     .Register(*registry_)),
      rule_errors(BuildCounter()
                      .Name("storepulse_rule_errors_total")
                      .Help("Rule evaluations that failed (the rule did not fire), by rule.")
                      .Register(*registry_)),
      rule_held(BuildCounter()
                    .Name("storepulse_rule_held_total")
                    .Help("Rules that would have fired in their quiet hours and did not, by rule.")
                    .Register(*registry_)),
      rule_waits(BuildGauge()
                     .Name("storepulse_rule_waits")
                     .Help("Waits of rules with 'absent' running now on this instance, by rule.")
                     .Register(*registry_)),
      rule_reloads(BuildCounter()
                       .Name("storepulse_rule_reloads_total")
                       .Help("Rule set reloads, by outcome (ok, error).")
                       .Register(*registry_)),
      late_events(BuildCounter()
                      .Name("storepulse_aggregate_late_events_total")
                      .Help("Events too late for an aggregate's allowed lateness, dead-lettered, by aggregate.")
                      .Register(*registry_)) {
  BuildGauge()
      .Name("storepulse_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", kBuildVersion}})
      .Set(1);
}

std::string Metrics::scrape() {
  {
    std::lock_guard lock(hooks_mutex_);
    for (auto& hook : hooks_) hook();
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Metrics::addRefreshHook(std::function<void()> hook) {
  std::lock_guard lock(hooks_mutex_);
  hooks_.push_back(std::move(hook));
}

void Metrics::watchStateStore(const StateStore& store) {
  auto& size = state_size.Add({});
  auto& errors = state_errors.Add({});
  std::vector<prometheus::Gauge*> keys;
  for (size_t t = 0; t < kStateTableCount; ++t) {
    keys.push_back(&state_keys.Add({{"table", std::string(stateTableName(static_cast<StateTable>(t)))}}));
  }
  addRefreshHook([&store, &size, &errors, keys] {
    const StateStoreStats stats = store.stats();
    size.Set(static_cast<double>(stats.live_bytes));
    errors.Set(static_cast<double>(stats.background_errors));
    for (size_t t = 0; t < kStateTableCount; ++t) keys[t]->Set(static_cast<double>(stats.estimated_keys[t]));
  });
}

}  // namespace storepulse
