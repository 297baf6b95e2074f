#pragma once
// The state of one declared aggregate for one key (say views_10m for
// customer c1 and sku s9): per-bucket partial results over event time, kept
// just long enough to answer any window an evaluation may still ask for.
//
// Bucket semantics (SPEC.md "Rules"): a sliding window of size W and step S
// counts the events whose bucket floor(ts/S) is one of the W/S most recent
// buckets up to and including the bucket of the evaluation time. Calendar
// windows are the one local day or ISO week of the evaluation time.
//
// Lateness is per key: an event older than the newest event time this key
// has seen minus the aggregate's allowed lateness is not folded; the caller
// counts and dead-letters it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/inlined_vector.h>

#include "engine/aggregates/aggregate_spec.h"
#include "engine/core/status.h"

namespace storepulse {

// The window's result at one evaluation time: the count, and what the
// aggregate's function reads (a count window's sum, min and max stay 0).
struct AggregateResult {
  int64_t count = 0;      // events in the window
  double sum = 0;
  double min = 0;         // meaningful when count > 0
  double max = 0;
  int64_t distinct = 0;   // distinct values of the field

  bool empty() const { return count == 0; }
  double average() const { return count == 0 ? 0 : sum / static_cast<double>(count); }
};

// The bucket an instant falls in, for this window kind (see the file comment).
// Calendar windows count days in `zone`: the store's, or the window's default.
int64_t bucketOf(const WindowSpec& window, int64_t ts_ms, const absl::TimeZone& zone);
inline int64_t bucketOf(const WindowSpec& window, int64_t ts_ms) { return bucketOf(window, ts_ms, window.zone); }

// A stable 64-bit hash of a value counted distinct: stored in state, so it
// must not change between processes or versions.
uint64_t distinctHash(std::string_view value);

class WindowedAggregate {
 public:
  enum class Fold { kAdded, kLate };

  // Folds one event at `ts_ms`. `value` is the field's number (sum, min, max,
  // avg); `distinct_hash` the distinctHash of the field (distinct count).
  // `zone` (null: the window's own) places calendar windows: the store's.
  Fold add(const AggregateSpec& spec, int64_t ts_ms, double value, uint64_t distinct_hash,
           const absl::TimeZone* zone = nullptr);

  // The window that ends with the bucket of `eval_ts_ms`.
  AggregateResult at(const AggregateSpec& spec, int64_t eval_ts_ms, const absl::TimeZone* zone = nullptr) const;

  // True when no evaluation at or after `now_ms` can see any of the state
  // and no late event can join it: the record may be deleted.
  bool expiredAt(const AggregateSpec& spec, int64_t now_ms) const;

  int64_t newestEventMs() const { return newest_ts_ms_; }

  void encode(std::string& out) const;
  // `function` is the aggregate's: records of the first format kept every
  // field, and it says which one the window reads.
  static Result<WindowedAggregate> decode(std::string_view bytes, AggregateFunction function);
  bool operator==(const WindowedAggregate&) const = default;

 private:
  struct Bucket {
    int64_t id = 0;
    int64_t count = 0;
    double value = 0;  // what the function reads: the sum (sum, avg), the min or the max
    bool operator==(const Bucket&) const = default;
  };

  // The oldest bucket some window may still need, once events up to
  // newest_ts_ms_ minus the allowed lateness can arrive.
  int64_t oldestNeededBucket(const AggregateSpec& spec, const absl::TimeZone& zone) const;

  // Ascending id. Most windows of a customer hold a bucket or two: kept
  // inline, they cost no allocation and no extra cache miss to reach.
  absl::InlinedVector<Bucket, 2> buckets_;
  // Distinct counts only: each bucket's values, sorted and unique, by the
  // index of the bucket.
  std::vector<std::vector<uint64_t>> distinct_;
  int64_t newest_ts_ms_ = INT64_MIN;
};

}  // namespace storepulse
