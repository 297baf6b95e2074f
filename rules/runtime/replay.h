#pragma once
// Recorded events through the live engine's own code: an IngestPipeline
// with a RuleEngine on an in-memory store, fed in event-time order (ties in
// input order) on the event-time clock. `storepulse backtest` and
// `storepulse rules test` both run here, so a backtest is what the live
// engine would have done, not a second implementation of it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pipeline/ingest_pipeline.h"
#include "engine/pipeline/output_sink.h"
#include "rules/runtime/rule_engine.h"

namespace storepulse::rules {

struct ReplayOptions {
  RuleEngineOptions engine;  // its clock is always the event time here
  CustomerStateOptions customer;
  DecoderOptions decoder;
};

struct ReplaySummary {
  uint64_t events = 0;        // folded into state
  uint64_t dead_letters = 0;  // rejected or late
  std::map<std::string, uint64_t> dead_letters_by_reason;
  std::map<std::string, RuleCounters> rules;
};

class Replay {
 public:
  Replay(std::shared_ptr<const CompiledRuleSet> rules, OutputSink& output, ReplayOptions options = {});
  ~Replay();

  // Queues one recorded event: a JSON object with a `type` field. A line
  // that names no known type is dead-lettered like a bad message.
  void add(std::string line);
  size_t size() const;

  // Runs everything queued, then moves the clock to `until_ms` (default:
  // the newest event) so that scheduled rules due by then run. `progress`
  // (may be empty) hears events done out of the total.
  Status run(std::optional<int64_t> until_ms, const std::function<void(const Firing&)>& on_firing,
             const std::function<void(uint64_t done, uint64_t total)>& progress = {});

  ReplaySummary summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace storepulse::rules
