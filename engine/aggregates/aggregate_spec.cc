#include "engine/aggregates/aggregate_spec.h"

#include <fmt/format.h>

#include "engine/core/stable_hash.h"

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

uint64_t AggregateSpec::definitionFingerprint() const {
  StableHash h;
  h.addPart(fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", name, aggregateFunctionName(function), field,
                        static_cast<int>(window.kind), window.size_ms, window.step_ms, window.zone.name(),
                        allowed_lateness_ms));
  for (EventType t : on) h.addPart(eventTypeName(t));
  for (const std::string& key : by) h.addPart(key);
  return h.value();
}

}  // namespace storepulse
