#include "engine/aggregates/aggregate_spec.h"

namespace storepulse {

std::string_view aggregateFunctionName(AggregateFunction f) {
  switch (f) {
    case AggregateFunction::kCount: return "count";
    case AggregateFunction::kSum: return "sum";
    case AggregateFunction::kMin: return "min";
    case AggregateFunction::kMax: return "max";
    case AggregateFunction::kAvg: return "avg";
    case AggregateFunction::kDistinctCount: return "distinct_count";
  }
  return "?";
}

int64_t WindowSpec::defaultStep(int64_t size_ms) {
  constexpr int64_t kSecond = 1000;
  if (size_ms < kSecond) return 0;
  // The largest step up to size/60 that is a whole number of seconds and
  // divides the size; a 1 s step always qualifies when size is whole seconds.
  for (int64_t step = std::max(kSecond, size_ms / 60 / kSecond * kSecond); step >= kSecond; step -= kSecond) {
    if (size_ms % step == 0) return step;
  }
  return 0;
}

bool AggregateSpec::sameDefinition(const AggregateSpec& o) const {
  return name == o.name && function == o.function && on == o.on && field == o.field && by == o.by &&
         window.kind == o.window.kind && window.size_ms == o.window.size_ms && window.step_ms == o.window.step_ms &&
         window.zone == o.window.zone && allowed_lateness_ms == o.allowed_lateness_ms;
}

}  // namespace storepulse
