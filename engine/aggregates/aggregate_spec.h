#pragma once
// What a rule file declares under `aggregates:` (SPEC.md "Rules"): a
// function (count, sum, ...) over some event types, grouped by event fields,
// over an event-time window. Parsed from YAML by rules/ruleset; folded by
// WindowedAggregate.

#include <cstdint>
#include <string>
#include <vector>

#include <absl/time/time.h>

#include "engine/event/event.h"

namespace storepulse {

enum class AggregateFunction { kCount, kSum, kMin, kMax, kAvg, kDistinctCount };
std::string_view aggregateFunctionName(AggregateFunction f);

struct WindowSpec {
  enum class Kind {
    kSliding,       // the last size/step buckets of `step`, up to the evaluation's bucket
    kCalendarDay,   // the local day of the evaluation time, in `zone`
    kCalendarWeek,  // the local ISO week (Monday first) of the evaluation time
  };
  Kind kind = Kind::kSliding;
  int64_t size_ms = 0;  // sliding only; a whole number of steps
  int64_t step_ms = 0;  // sliding only
  absl::TimeZone zone;  // calendar only (UTC when default-constructed)

  // Sliding windows default their step to size/60, at least one second and
  // dividing the size, as SPEC.md says; returns 0 when no step qualifies.
  static int64_t defaultStep(int64_t size_ms);
};

struct AggregateSpec {
  std::string name;
  AggregateFunction function = AggregateFunction::kCount;
  std::vector<EventType> on;  // event types folded in
  std::string field;          // the event field summed, compared or counted distinct; empty for count
  std::vector<std::string> by;  // event fields forming the key, e.g. customer_id, sku
  WindowSpec window;
  int64_t allowed_lateness_ms = 0;  // events older than the key's newest minus this are late

  // A stable hash of the definition, stored with the aggregate's state: a
  // reload that changes the definition starts the state afresh.
  uint64_t definitionFingerprint() const;
};

}  // namespace storepulse
