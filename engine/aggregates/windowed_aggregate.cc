#include "engine/aggregates/windowed_aggregate.h"

#include <absl/time/civil_time.h>

#include <algorithm>
#include <limits>

#include "engine/core/stable_hash.h"
#include "engine/state/codec.h"

namespace storepulse {
namespace {

// Version 1 wrote every field of every bucket; version 2 the one value
// the function reads, if any (a count window has none), bucket ids as
// deltas, and the distinct values of distinct counts.
constexpr uint64_t kFormatVersionFull = 1;
constexpr uint64_t kFormatVersion = 2;
enum Parts : uint64_t { kHasValues = 1, kHasDistinct = 2 };

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t localDay(const absl::TimeZone& zone, int64_t ts_ms) {
  // Events arrive roughly in time order, so the day of the previous call
  // answers most calls: a zone lookup costs far more than a range check.
  thread_local struct {
    absl::TimeZone zone;
    int64_t start_ms = 0, end_ms = 0;  // [start, end): the local day `day`
    int64_t day = 0;
  } last;
  if (ts_ms >= last.start_ms && ts_ms < last.end_ms && zone == last.zone) return last.day;
  const absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(ts_ms), zone);
  last.zone = zone;
  last.start_ms = absl::ToUnixMillis(absl::FromCivil(day, zone));
  last.end_ms = absl::ToUnixMillis(absl::FromCivil(day + 1, zone));
  last.day = day - absl::CivilDay(1970, 1, 1);
  return last.day;
}

// Buckets a window ending in bucket b spans: [b - span + 1, b].
int64_t bucketsPerWindow(const WindowSpec& w) {
  return w.kind == WindowSpec::Kind::kSliding ? w.size_ms / w.step_ms : 1;
}

}  // namespace

int64_t bucketOf(const WindowSpec& w, int64_t ts_ms, const absl::TimeZone& zone) {
  switch (w.kind) {
    case WindowSpec::Kind::kSliding:
      return floorDiv(ts_ms, w.step_ms);
    case WindowSpec::Kind::kCalendarDay:
      return localDay(zone, ts_ms);
    case WindowSpec::Kind::kCalendarWeek:
      // 1970-01-01 was a Thursday: shifting by 3 days puts Mondays at multiples of 7.
      return floorDiv(localDay(zone, ts_ms) + 3, 7);
  }
  return 0;
}

uint64_t distinctHash(std::string_view value) { return stableHash(value); }

int64_t WindowedAggregate::oldestNeededBucket(const AggregateSpec& spec, const absl::TimeZone& zone) const {
  if (newest_ts_ms_ == INT64_MIN) return INT64_MIN;
  const int64_t oldest_evaluation = newest_ts_ms_ - spec.allowed_lateness_ms;
  return bucketOf(spec.window, oldest_evaluation, zone) - bucketsPerWindow(spec.window) + 1;
}

WindowedAggregate::Fold WindowedAggregate::add(const AggregateSpec& spec, int64_t ts_ms, double value,
                                               uint64_t distinct_hash, const absl::TimeZone* zone) {
  if (newest_ts_ms_ != INT64_MIN && ts_ms < newest_ts_ms_ - spec.allowed_lateness_ms) return Fold::kLate;
  const absl::TimeZone& z = zone ? *zone : spec.window.zone;
  const int64_t id = bucketOf(spec.window, ts_ms, z);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), id,
                             [](const Bucket& b, int64_t wanted) { return b.id < wanted; });
  const AggregateFunction f = spec.function;
  const bool distinct = f == AggregateFunction::kDistinctCount;
  if (it == buckets_.end() || it->id != id) {
    const double first = f == AggregateFunction::kMin || f == AggregateFunction::kMax ? value : 0;
    if (distinct) distinct_.emplace(distinct_.begin() + (it - buckets_.begin()));
    it = buckets_.insert(it, Bucket{id, 0, first});
  }
  Bucket& b = *it;
  b.count += 1;
  switch (f) {
    case AggregateFunction::kSum:
    case AggregateFunction::kAvg: b.value += value; break;
    case AggregateFunction::kMin: b.value = std::min(b.value, value); break;
    case AggregateFunction::kMax: b.value = std::max(b.value, value); break;
    case AggregateFunction::kCount: break;
    case AggregateFunction::kDistinctCount: {
      std::vector<uint64_t>& values = distinct_[it - buckets_.begin()];
      auto at = std::lower_bound(values.begin(), values.end(), distinct_hash);
      if (at == values.end() || *at != distinct_hash) values.insert(at, distinct_hash);
      break;
    }
  }
  newest_ts_ms_ = std::max(newest_ts_ms_, ts_ms);
  // Buckets no window can reach any more go: the state stays the size of one
  // window plus the allowed lateness.
  const int64_t oldest = oldestNeededBucket(spec, z);
  const auto keep = std::lower_bound(buckets_.begin(), buckets_.end(), oldest,
                                     [](const Bucket& b, int64_t wanted) { return b.id < wanted; });
  if (distinct) distinct_.erase(distinct_.begin(), distinct_.begin() + (keep - buckets_.begin()));
  buckets_.erase(buckets_.begin(), keep);
  return Fold::kAdded;
}

AggregateResult WindowedAggregate::at(const AggregateSpec& spec, int64_t eval_ts_ms,
                                      const absl::TimeZone* zone) const {
  const int64_t last = bucketOf(spec.window, eval_ts_ms, zone ? *zone : spec.window.zone);
  const int64_t first = last - bucketsPerWindow(spec.window) + 1;
  AggregateResult r;
  std::vector<uint64_t> distinct;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const Bucket& b = buckets_[i];
    if (b.id < first) continue;
    if (b.id > last) break;
    switch (spec.function) {
      case AggregateFunction::kSum:
      case AggregateFunction::kAvg: r.sum += b.value; break;
      case AggregateFunction::kMin: r.min = r.count == 0 ? b.value : std::min(r.min, b.value); break;
      case AggregateFunction::kMax: r.max = r.count == 0 ? b.value : std::max(r.max, b.value); break;
      case AggregateFunction::kCount: break;
      case AggregateFunction::kDistinctCount: {
        if (i >= distinct_.size()) break;
        std::vector<uint64_t> merged;
        merged.reserve(distinct.size() + distinct_[i].size());
        std::set_union(distinct.begin(), distinct.end(), distinct_[i].begin(), distinct_[i].end(),
                       std::back_inserter(merged));
        distinct.swap(merged);
        break;
      }
    }
    r.count += b.count;
  }
  r.distinct = static_cast<int64_t>(distinct.size());
  return r;
}

bool WindowedAggregate::expiredAt(const AggregateSpec& spec, int64_t now_ms) const {
  if (buckets_.empty()) return true;
  // By time, not by bucket: calendar buckets were cut in the store's zone,
  // which this record does not know. A day's window is thus kept two days
  // (the widest zone offsets apart) and a week's eight.
  constexpr int64_t kDay = 24 * 3600 * 1000;
  int64_t span = 0;
  switch (spec.window.kind) {
    case WindowSpec::Kind::kSliding: span = spec.window.size_ms + spec.window.step_ms; break;
    case WindowSpec::Kind::kCalendarDay: span = 2 * kDay; break;
    case WindowSpec::Kind::kCalendarWeek: span = 8 * kDay; break;
  }
  return now_ms > newest_ts_ms_ + span + spec.allowed_lateness_ms;
}

void WindowedAggregate::encode(std::string& out) const {
  out.clear();
  uint64_t parts = distinct_.empty() ? 0 : uint64_t{kHasDistinct};
  for (const Bucket& b : buckets_) {
    if (b.value != 0) parts |= kHasValues;
  }
  Encoder w(out);
  w.u64(kFormatVersion);
  w.i64(newest_ts_ms_);
  w.u64(parts);
  w.u64(buckets_.size());
  int64_t previous_id = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const Bucket& b = buckets_[i];
    w.i64(b.id - previous_id);
    previous_id = b.id;
    w.u64(static_cast<uint64_t>(b.count));
    if (parts & kHasValues) w.f64(b.value);
    if (parts & kHasDistinct) {
      w.u64(distinct_[i].size());
      for (uint64_t h : distinct_[i]) w.fixed64(h);
    }
  }
}

Result<WindowedAggregate> WindowedAggregate::decode(std::string_view bytes, AggregateFunction function) {
  Decoder r(bytes);
  const uint64_t version = r.u64();
  if ((version != kFormatVersion && version != kFormatVersionFull) || r.failed()) {
    return Status(ErrorCode::kCorruption, "aggregate record has an unknown format version");
  }
  WindowedAggregate a;
  a.newest_ts_ms_ = r.i64();
  const bool full = version == kFormatVersionFull;
  const uint64_t parts = full ? 0 : r.u64();
  const bool distinct = full ? function == AggregateFunction::kDistinctCount : (parts & kHasDistinct) != 0;
  int64_t previous_id = 0;
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    Bucket b;
    if (full) {
      b.id = r.i64();
      b.count = r.i64();
      const double sum = r.f64();
      const double min = r.f64();
      const double max = r.f64();
      switch (function) {
        case AggregateFunction::kSum:
        case AggregateFunction::kAvg: b.value = sum; break;
        case AggregateFunction::kMin: b.value = min; break;
        case AggregateFunction::kMax: b.value = max; break;
        default: break;
      }
      std::vector<uint64_t> values;
      for (uint64_t d = r.u64(); d > 0 && !r.failed(); --d) values.push_back(r.u64());
      if (distinct) a.distinct_.push_back(std::move(values));
    } else {
      b.id = previous_id + r.i64();
      b.count = static_cast<int64_t>(r.u64());
      if (parts & kHasValues) b.value = r.f64();
      if (distinct) {
        std::vector<uint64_t>& values = a.distinct_.emplace_back();
        for (uint64_t d = r.u64(); d > 0 && !r.failed(); --d) values.push_back(r.fixed64());
      }
    }
    previous_id = b.id;
    a.buckets_.push_back(b);
  }
  if (r.failed() || !r.atEnd()) return Status(ErrorCode::kCorruption, "aggregate record is truncated or too long");
  return a;
}

}  // namespace storepulse
