#include "engine/aggregates/windowed_aggregate.h"

#include <absl/time/civil_time.h>

#include <algorithm>
#include <limits>

#include "engine/core/stable_hash.h"
#include "engine/state/codec.h"

namespace storepulse {
namespace {

// Version 1 wrote every field of every bucket; version 2 only the fields
// some bucket uses (a count window has no sums), bucket ids as deltas.
constexpr uint64_t kFormatVersionFull = 1;
constexpr uint64_t kFormatVersion = 2;
enum FieldMask : uint64_t { kHasSum = 1, kHasMin = 2, kHasMax = 4, kHasDistinct = 8 };

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
  // Only what the function reads is kept (the rest stays 0, and is not
  // stored): a count window is a count per bucket.
  const AggregateFunction f = spec.function;
  const bool sums = f == AggregateFunction::kSum || f == AggregateFunction::kAvg;
  const double first_min = f == AggregateFunction::kMin ? value : 0;
  const double first_max = f == AggregateFunction::kMax ? value : 0;
  if (it == buckets_.end() || it->id != id) it = buckets_.insert(it, Bucket{id, 0, 0, first_min, first_max, {}});
  Bucket& b = *it;
  b.count += 1;
  if (sums) b.sum += value;
  if (f == AggregateFunction::kMin) b.min = std::min(b.min, value);
  if (f == AggregateFunction::kMax) b.max = std::max(b.max, value);
  if (f == AggregateFunction::kDistinctCount) {
    auto at = std::lower_bound(b.distinct.begin(), b.distinct.end(), distinct_hash);
    if (at == b.distinct.end() || *at != distinct_hash) b.distinct.insert(at, distinct_hash);
  }
  newest_ts_ms_ = std::max(newest_ts_ms_, ts_ms);
  // Buckets no window can reach any more go: the state stays the size of one
  // window plus the allowed lateness.
  const int64_t oldest = oldestNeededBucket(spec, z);
  buckets_.erase(buckets_.begin(), std::lower_bound(buckets_.begin(), buckets_.end(), oldest,
                                                    [](const Bucket& b, int64_t wanted) { return b.id < wanted; }));
  return Fold::kAdded;
}

AggregateResult WindowedAggregate::at(const AggregateSpec& spec, int64_t eval_ts_ms,
                                      const absl::TimeZone* zone) const {
  const int64_t last = bucketOf(spec.window, eval_ts_ms, zone ? *zone : spec.window.zone);
  const int64_t first = last - bucketsPerWindow(spec.window) + 1;
  AggregateResult r;
  std::vector<uint64_t> distinct;
  for (const Bucket& b : buckets_) {
    if (b.id < first) continue;
    if (b.id > last) break;
    r.min = r.count == 0 ? b.min : std::min(r.min, b.min);
    r.max = r.count == 0 ? b.max : std::max(r.max, b.max);
    r.count += b.count;
    r.sum += b.sum;
    if (!b.distinct.empty()) {
      std::vector<uint64_t> merged;
      merged.reserve(distinct.size() + b.distinct.size());
      std::set_union(distinct.begin(), distinct.end(), b.distinct.begin(), b.distinct.end(),
                     std::back_inserter(merged));
      distinct.swap(merged);
    }
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
  uint64_t mask = 0;
  for (const Bucket& b : buckets_) {
    if (b.sum != 0) mask |= kHasSum;
    if (b.min != 0) mask |= kHasMin;
    if (b.max != 0) mask |= kHasMax;
    if (!b.distinct.empty()) mask |= kHasDistinct;
  }
  Encoder w(out);
  w.u64(kFormatVersion);
  w.i64(newest_ts_ms_);
  w.u64(mask);
  w.u64(buckets_.size());
  int64_t previous_id = 0;
  for (const Bucket& b : buckets_) {
    w.i64(b.id - previous_id);
    previous_id = b.id;
    w.u64(static_cast<uint64_t>(b.count));
    if (mask & kHasSum) w.f64(b.sum);
    if (mask & kHasMin) w.f64(b.min);
    if (mask & kHasMax) w.f64(b.max);
    if (mask & kHasDistinct) {
      w.u64(b.distinct.size());
      for (uint64_t h : b.distinct) w.fixed64(h);
    }
  }
}

Result<WindowedAggregate> WindowedAggregate::decode(std::string_view bytes) {
  Decoder r(bytes);
  const uint64_t version = r.u64();
  if ((version != kFormatVersion && version != kFormatVersionFull) || r.failed()) {
    return Status(ErrorCode::kCorruption, "aggregate record has an unknown format version");
  }
  WindowedAggregate a;
  a.newest_ts_ms_ = r.i64();
  const uint64_t mask = version == kFormatVersionFull ? kHasSum | kHasMin | kHasMax | kHasDistinct : r.u64();
  int64_t previous_id = 0;
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    Bucket b;
    b.id = r.i64();
    if (version == kFormatVersion) b.id += previous_id;
    previous_id = b.id;
    b.count = version == kFormatVersion ? static_cast<int64_t>(r.u64()) : r.i64();
    if (mask & kHasSum) b.sum = r.f64();
    if (mask & kHasMin) b.min = r.f64();
    if (mask & kHasMax) b.max = r.f64();
    if (mask & kHasDistinct) {
      for (uint64_t d = r.u64(); d > 0 && !r.failed(); --d) {
        b.distinct.push_back(version == kFormatVersion ? r.fixed64() : r.u64());
      }
    }
    a.buckets_.push_back(std::move(b));
  }
  if (r.failed() || !r.atEnd()) return Status(ErrorCode::kCorruption, "aggregate record is truncated or too long");
  return a;
}

}  // namespace storepulse
