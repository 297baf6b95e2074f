#include "engine/aggregates/windowed_aggregate.h"

#include <gtest/gtest.h>

#include <absl/time/civil_time.h>

#include "engine/core/time.h"
#include "engine/state/codec.h"

namespace storepulse {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

AggregateSpec sliding(AggregateFunction f, int64_t size, int64_t step, int64_t lateness = kHour) {
  AggregateSpec spec;
  spec.name = "a";
  spec.function = f;
  spec.window.kind = WindowSpec::Kind::kSliding;
  spec.window.size_ms = size;
  spec.window.step_ms = step;
  spec.allowed_lateness_ms = lateness;
  return spec;
}

AggregateSpec calendar(WindowSpec::Kind kind, const char* zone_name) {
  AggregateSpec spec;
  spec.name = "a";
  spec.function = AggregateFunction::kSum;
  spec.window.kind = kind;
  EXPECT_TRUE(absl::LoadTimeZone(zone_name, &spec.window.zone)) << zone_name;
  spec.allowed_lateness_ms = 7 * kDay;
  return spec;
}

int64_t at(const char* rfc3339) { return *parseRfc3339Millis(rfc3339); }

TEST(WindowSpecTest, DefaultStepIsASixtiethOfTheWindowAtLeastOneSecondAndDividesIt) {
  EXPECT_EQ(WindowSpec::defaultStep(10 * kMinute), 10 * kSecond);
  EXPECT_EQ(WindowSpec::defaultStep(90 * kDay), 90 * kDay / 60);
  EXPECT_EQ(WindowSpec::defaultStep(30 * kSecond), kSecond);  // 0.5 s would be finer than 1 s
  EXPECT_EQ(WindowSpec::defaultStep(7 * kSecond), kSecond);
  EXPECT_EQ(WindowSpec::defaultStep(500), 0);  // under a second: no step qualifies
}

// A 10-minute window in 1-minute buckets: the window at time t covers the
// buckets floor(t/1m)-9 .. floor(t/1m).
TEST(WindowedAggregateTest, EventExactlyAtTheWindowEdgeCountsInItsOwnBucket) {
  const AggregateSpec spec = sliding(AggregateFunction::kCount, 10 * kMinute, kMinute);
  WindowedAggregate agg;
  ASSERT_EQ(agg.add(spec, 0, 1, 0), WindowedAggregate::Fold::kAdded);  // bucket 0, its very first ms

  EXPECT_EQ(agg.at(spec, 0).count, 1);
  EXPECT_EQ(agg.at(spec, 10 * kMinute - 1).count, 1);  // bucket 9: bucket 0 is the oldest of ten
  EXPECT_EQ(agg.at(spec, 10 * kMinute).count, 0);      // bucket 10: bucket 0 has left
}

TEST(WindowedAggregateTest, SameBucketAndNextBucketAtTheStepBoundary) {
  const AggregateSpec spec = sliding(AggregateFunction::kCount, 2 * kMinute, kMinute);
  WindowedAggregate agg;
  agg.add(spec, kMinute - 1, 1, 0);  // last ms of bucket 0
  agg.add(spec, kMinute, 1, 0);      // first ms of bucket 1
  EXPECT_EQ(agg.at(spec, kMinute - 1).count, 1);  // bucket 1 is in the future of this evaluation
  EXPECT_EQ(agg.at(spec, kMinute).count, 2);
  EXPECT_EQ(agg.at(spec, 2 * kMinute).count, 1);  // buckets 1..2
  EXPECT_EQ(agg.at(spec, 3 * kMinute).count, 0);
}

TEST(WindowedAggregateTest, OneMillisecondStepIsExact) {
  const AggregateSpec spec = sliding(AggregateFunction::kCount, 10 * kMinute, 1);
  WindowedAggregate agg;
  agg.add(spec, 1000, 1, 0);
  EXPECT_EQ(agg.at(spec, 1000 + 10 * kMinute - 1).count, 1);
  EXPECT_EQ(agg.at(spec, 1000 + 10 * kMinute).count, 0);
}

TEST(WindowedAggregateTest, EveryFunctionOverTheSameEvents) {
  // Each window keeps the count and what its function reads.
  auto over = [](AggregateFunction f) {
    const AggregateSpec spec = sliding(f, kHour, kMinute);
    WindowedAggregate agg;
    agg.add(spec, 1 * kMinute, 10.0, distinctHash("a"));
    agg.add(spec, 2 * kMinute, 30.5, distinctHash("b"));
    agg.add(spec, 3 * kMinute, -4.0, distinctHash("a"));
    EXPECT_TRUE(agg.at(spec, 2 * kHour).empty());
    return agg.at(spec, 5 * kMinute);
  };
  EXPECT_EQ(over(AggregateFunction::kCount).count, 3);
  EXPECT_DOUBLE_EQ(over(AggregateFunction::kSum).sum, 36.5);
  EXPECT_DOUBLE_EQ(over(AggregateFunction::kMin).min, -4.0);
  EXPECT_DOUBLE_EQ(over(AggregateFunction::kMax).max, 30.5);
  EXPECT_DOUBLE_EQ(over(AggregateFunction::kAvg).average(), 36.5 / 3);
  const AggregateResult distinct = over(AggregateFunction::kDistinctCount);
  EXPECT_EQ(distinct.distinct, 2);
  EXPECT_EQ(distinct.count, 3);
  EXPECT_FALSE(distinct.empty());
}

TEST(WindowedAggregateTest, DistinctValuesAreCountedOnceAcrossBuckets) {
  const AggregateSpec spec = sliding(AggregateFunction::kDistinctCount, 3 * kMinute, kMinute);
  WindowedAggregate agg;
  for (int m = 0; m < 3; ++m) {
    agg.add(spec, m * kMinute, 0, distinctHash("sku-1"));
    agg.add(spec, m * kMinute, 0, distinctHash("sku-" + std::to_string(m + 2)));
  }
  EXPECT_EQ(agg.at(spec, 2 * kMinute).distinct, 4);  // sku-1..sku-4
  EXPECT_EQ(agg.at(spec, 3 * kMinute).distinct, 3);  // bucket 0 left: sku-1, sku-3, sku-4
}

TEST(WindowedAggregateTest, LateEventWithinTheAllowedLatenessIsFoldedBeyondItIsNot) {
  const AggregateSpec spec = sliding(AggregateFunction::kCount, kHour, kMinute, 5 * kMinute);
  WindowedAggregate agg;
  agg.add(spec, 60 * kMinute, 1, 0);
  EXPECT_EQ(agg.add(spec, 55 * kMinute, 1, 0), WindowedAggregate::Fold::kAdded);  // exactly at the limit
  EXPECT_EQ(agg.add(spec, 55 * kMinute - 1, 1, 0), WindowedAggregate::Fold::kLate);
  EXPECT_EQ(agg.at(spec, 60 * kMinute).count, 2);
  EXPECT_EQ(agg.newestEventMs(), 60 * kMinute);
}

TEST(WindowedAggregateTest, StateKeepsOnlyWhatAWindowCanStillReach) {
  const AggregateSpec spec = sliding(AggregateFunction::kCount, 10 * kMinute, kMinute, 0);
  WindowedAggregate agg;
  for (int m = 0; m < 1000; ++m) agg.add(spec, m * kMinute, 1, 0);
  std::string bytes;
  agg.encode(bytes);
  EXPECT_LT(bytes.size(), 20u * 40u);  // about ten buckets, not a thousand
  EXPECT_EQ(agg.at(spec, 999 * kMinute).count, 10);
}

TEST(WindowedAggregateTest, ExpiresOnceNoWindowCanSeeItAndNoLateEventCanJoin) {
  const AggregateSpec spec = sliding(AggregateFunction::kCount, 10 * kMinute, kMinute, 5 * kMinute);
  WindowedAggregate agg;
  agg.add(spec, 0, 1, 0);
  // Window 10m plus one 1m step plus 5m lateness after the newest event.
  EXPECT_FALSE(agg.expiredAt(spec, 16 * kMinute));
  EXPECT_TRUE(agg.expiredAt(spec, 16 * kMinute + 1));
  EXPECT_TRUE(WindowedAggregate().expiredAt(spec, 0));
  const AggregateSpec day = calendar(WindowSpec::Kind::kCalendarDay, "America/Los_Angeles");
  WindowedAggregate daily;
  daily.add(day, at("2024-03-01T12:00:00Z"), 1, 0);
  EXPECT_FALSE(daily.expiredAt(day, at("2024-03-02T07:00:00Z")));  // still Mar 1 in Los Angeles
  EXPECT_TRUE(daily.expiredAt(day, at("2024-03-11T12:00:00Z")));  // two days plus the 7-day lateness
}

TEST(WindowedAggregateTest, EncodeDecodeRoundTripsAndRejectsGarbage) {
  const AggregateSpec spec = sliding(AggregateFunction::kDistinctCount, kHour, kMinute);
  WindowedAggregate agg;
  agg.add(spec, kMinute, 2.5, distinctHash("x"));
  agg.add(spec, 7 * kMinute, -1, distinctHash("y"));
  std::string bytes;
  agg.encode(bytes);
  auto decoded = WindowedAggregate::decode(bytes, spec.function);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, agg);
  EXPECT_EQ(decoded->at(spec, 7 * kMinute).distinct, 2);
  EXPECT_EQ(WindowedAggregate::decode(bytes.substr(0, bytes.size() - 1), spec.function).status().code(),
            ErrorCode::kCorruption);
  EXPECT_EQ(WindowedAggregate::decode("\x07", spec.function).status().code(), ErrorCode::kCorruption);
}

TEST(WindowedAggregateTest, EveryFunctionRoundTripsAndCountsStoreOnlyCounts) {
  for (AggregateFunction f : {AggregateFunction::kCount, AggregateFunction::kSum, AggregateFunction::kMin,
                              AggregateFunction::kMax, AggregateFunction::kAvg, AggregateFunction::kDistinctCount}) {
    const AggregateSpec spec = sliding(f, kHour, kMinute);
    WindowedAggregate agg;
    for (int m = 0; m < 10; ++m) agg.add(spec, m * kMinute, 3.5 - m, static_cast<uint64_t>(m % 3));
    std::string bytes;
    agg.encode(bytes);
    auto decoded = WindowedAggregate::decode(bytes, f);
    ASSERT_TRUE(decoded.isOk()) << aggregateFunctionName(f);
    EXPECT_EQ(*decoded, agg) << aggregateFunctionName(f);
    const AggregateResult r = decoded->at(spec, 9 * kMinute);
    EXPECT_EQ(r.count, 10);
    if (f == AggregateFunction::kSum || f == AggregateFunction::kAvg) {
      EXPECT_DOUBLE_EQ(r.sum, -10);
    } else if (f == AggregateFunction::kMin) {
      EXPECT_DOUBLE_EQ(r.min, -5.5);
    } else if (f == AggregateFunction::kMax) {
      EXPECT_DOUBLE_EQ(r.max, 3.5);
    } else if (f == AggregateFunction::kDistinctCount) {
      EXPECT_EQ(r.distinct, 3);
    } else {
      // A count bucket is its id step and its count: a few bytes, no doubles.
      EXPECT_LE(bytes.size(), 8u + 10u * 2u) << bytes.size();
    }
  }
}

TEST(WindowedAggregateTest, RecordsOfTheFirstFormatStillDecode) {
  // Version 1: every field of every bucket, ids and counts zigzag.
  std::string bytes;
  Encoder w(bytes);
  w.u64(1);
  w.i64(5 * kMinute);  // newest event
  w.u64(1);            // one bucket
  w.i64(5);            // bucket id: minute 5
  w.i64(2);            // count
  w.f64(30);           // sum
  w.f64(10);           // min
  w.f64(20);           // max
  w.u64(1);
  w.u64(distinctHash("x"));
  // The record kept every field; the aggregate's function picks its own.
  auto read = [&](AggregateFunction f) {
    auto decoded = WindowedAggregate::decode(bytes, f);
    EXPECT_TRUE(decoded.isOk()) << decoded.status().toString();
    EXPECT_EQ(decoded->newestEventMs(), 5 * kMinute);
    const AggregateResult r = decoded->at(sliding(f, kHour, kMinute), 5 * kMinute);
    EXPECT_EQ(r.count, 2) << aggregateFunctionName(f);
    return r;
  };
  EXPECT_DOUBLE_EQ(read(AggregateFunction::kSum).sum, 30);
  EXPECT_DOUBLE_EQ(read(AggregateFunction::kAvg).average(), 15);
  EXPECT_DOUBLE_EQ(read(AggregateFunction::kMin).min, 10);
  EXPECT_DOUBLE_EQ(read(AggregateFunction::kMax).max, 20);
  EXPECT_EQ(read(AggregateFunction::kDistinctCount).distinct, 1);
  EXPECT_EQ(read(AggregateFunction::kCount).count, 2);
}

TEST(CalendarWindowTest, DayFollowsTheStoresTimeZone) {
  const AggregateSpec spec = calendar(WindowSpec::Kind::kCalendarDay, "Asia/Shanghai");  // UTC+8
  WindowedAggregate agg;
  agg.add(spec, at("2024-03-01T15:59:59.999Z"), 100, 0);  // 23:59:59.999 on Mar 1 in Shanghai
  agg.add(spec, at("2024-03-01T16:00:00Z"), 7, 0);        // 00:00 on Mar 2 in Shanghai
  EXPECT_DOUBLE_EQ(agg.at(spec, at("2024-03-01T01:00:00Z")).sum, 100);
  EXPECT_DOUBLE_EQ(agg.at(spec, at("2024-03-02T15:59:59Z")).sum, 7);
  EXPECT_TRUE(agg.at(spec, at("2024-03-02T16:00:00Z")).empty());
}

TEST(CalendarWindowTest, WeekStartsOnMondayInTheStoresTimeZone) {
  const AggregateSpec spec = calendar(WindowSpec::Kind::kCalendarWeek, "Europe/London");
  WindowedAggregate agg;
  agg.add(spec, at("2024-03-03T23:59:00Z"), 1, 0);  // Sunday, London = UTC in March before the 31st
  agg.add(spec, at("2024-03-04T00:00:00Z"), 2, 0);  // Monday
  agg.add(spec, at("2024-03-10T23:00:00Z"), 4, 0);  // Sunday of the same week
  EXPECT_DOUBLE_EQ(agg.at(spec, at("2024-03-03T12:00:00Z")).sum, 1);
  EXPECT_DOUBLE_EQ(agg.at(spec, at("2024-03-07T12:00:00Z")).sum, 6);
}

// bucketOf remembers the last day it computed; in any order, across
// daylight-saving changes (Santiago's skips and repeats midnight), and
// switching zones, it must give what the zone says.
TEST(CalendarWindowTest, DayOfEveryInstantMatchesTheZoneInAnyOrder) {
  const AggregateSpec santiago = calendar(WindowSpec::Kind::kCalendarDay, "America/Santiago");
  const AggregateSpec shanghai = calendar(WindowSpec::Kind::kCalendarDay, "Asia/Shanghai");
  auto expected = [](const AggregateSpec& spec, int64_t ts) {
    return absl::ToCivilDay(absl::FromUnixMillis(ts), spec.window.zone) - absl::CivilDay(1970, 1, 1);
  };
  std::vector<int64_t> instants;
  for (const char* day : {"2024-04-06T00:00:00Z", "2024-09-07T00:00:00Z"}) {  // Santiago's changes
    for (int64_t t = at(day); t < at(day) + 3 * kDay; t += 7 * kMinute) instants.push_back(t);
  }
  for (size_t i = 0; i < instants.size(); ++i) {
    const int64_t ts = instants[(i * 7919) % instants.size()];  // a scrambled order
    ASSERT_EQ(bucketOf(santiago.window, ts), expected(santiago, ts)) << formatRfc3339Millis(ts);
    ASSERT_EQ(bucketOf(shanghai.window, ts), expected(shanghai, ts)) << formatRfc3339Millis(ts);
    ASSERT_EQ(bucketOf(santiago.window, ts + 1), expected(santiago, ts + 1)) << formatRfc3339Millis(ts + 1);
  }
}

TEST(CalendarWindowTest, DaylightSavingDayIsOneBucket) {
  const AggregateSpec spec = calendar(WindowSpec::Kind::kCalendarDay, "America/New_York");
  WindowedAggregate agg;
  // 2024-03-10 is 23 hours long in New York: 05:00Z to 04:00Z the next day.
  agg.add(spec, at("2024-03-10T05:00:00Z"), 1, 0);
  agg.add(spec, at("2024-03-11T03:59:59Z"), 1, 0);
  agg.add(spec, at("2024-03-11T04:00:00Z"), 1, 0);  // already March 11
  EXPECT_DOUBLE_EQ(agg.at(spec, at("2024-03-10T12:00:00Z")).sum, 2);
}

}  // namespace
}  // namespace storepulse
