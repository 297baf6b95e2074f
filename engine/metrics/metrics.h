#pragma once
// The process's Prometheus registry and the ingest metric families of
// SPEC.md "Metrics". Counters on the hot path are bumped once per batch from
// the pipeline's own tallies, not once per event.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/event/event.h"
#include "engine/event/event_decoder.h"
#include "engine/state/state_store.h"

namespace storepulse {

class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry() { return *registry_; }

  // Runs the refresh hooks (gauges read at scrape time, such as the state
  // store size), then renders the text exposition format.
  std::string scrape();
  void addRefreshHook(std::function<void()> hook);

  // Ingest families.
 private:
  // Declared before the families, which are registered in it.
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  prometheus::Family<prometheus::Counter>& events_consumed;  // topic, type
  prometheus::Family<prometheus::Counter>& events_invalid;   // topic, reason
  prometheus::Family<prometheus::Histogram>& processing_latency;
  prometheus::Family<prometheus::Gauge>& event_time_lag;     // topic
  prometheus::Family<prometheus::Gauge>& consumer_lag;       // topic, partition
  prometheus::Family<prometheus::Counter>& commits;          // outcome
  prometheus::Family<prometheus::Gauge>& state_size;
  prometheus::Family<prometheus::Gauge>& state_keys;         // table
  prometheus::Family<prometheus::Gauge>& state_errors;
  prometheus::Family<prometheus::Gauge>& assigned_partitions;

  // Rule families.
  prometheus::Family<prometheus::Counter>& rule_evaluations;  // rule
  prometheus::Family<prometheus::Counter>& rule_fires;        // rule, mode (live, shadow)
  prometheus::Family<prometheus::Counter>& rule_errors;       // rule
  prometheus::Family<prometheus::Counter>& rule_held;         // rule
  prometheus::Family<prometheus::Gauge>& rule_waits;          // rule
  prometheus::Family<prometheus::Counter>& rule_reloads;      // outcome
  prometheus::Family<prometheus::Counter>& late_events;       // aggregate

  // Registers the store's gauges, read at every scrape.
  void watchStateStore(const StateStore& store);

 private:
  std::mutex hooks_mutex_;
  std::vector<std::function<void()>> hooks_;
};

// Buckets for per-event latency, from receipt to committed state (seconds).
const prometheus::Histogram::BucketBoundaries& latencyBuckets();

}  // namespace storepulse
