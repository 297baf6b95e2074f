#include "rules/cel/time_values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace storepulse::cel {
namespace {

using ::testing::HasSubstr;

int64_t nanosOf(std::string_view text) {
  auto d = parseDuration(text);
  EXPECT_TRUE(d.isOk()) << text << ": " << d.status().message();
  return d.isOk() ? d->nanos : 0;
}

TEST(CelTimeValues, ParsesGoDurationSyntax) {
  constexpr int64_t kSecond = 1'000'000'000;
  EXPECT_EQ(nanosOf("1h30m"), 5400 * kSecond);
  EXPECT_EQ(nanosOf("1.5s"), 1'500'000'000);
  EXPECT_EQ(nanosOf("-2m"), -120 * kSecond);
  EXPECT_EQ(nanosOf("+3s"), 3 * kSecond);
  EXPECT_EQ(nanosOf("100ms"), 100'000'000);
  EXPECT_EQ(nanosOf("3us"), 3'000);
  EXPECT_EQ(nanosOf("3\xC2\xB5s"), 3'000);  // µs
  EXPECT_EQ(nanosOf("5ns"), 5);
  EXPECT_EQ(nanosOf("0"), 0);
  EXPECT_EQ(nanosOf(".5h"), 1800 * kSecond);
  EXPECT_EQ(nanosOf("1h1m1s1ms1us1ns"), 3661 * kSecond + 1'001'001);
  EXPECT_EQ(nanosOf("2562047h47m16.854775807s"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(nanosOf("-2562047h47m16.854775808s"), std::numeric_limits<int64_t>::min());
}

TEST(CelTimeValues, RejectsBadDurations) {
  for (std::string_view bad : {"", "1", "s", "1d", "1.s.", "--1s", "1s2", "2562047h47m16.854775808s", "1e3s"}) {
    auto d = parseDuration(bad);
    ASSERT_FALSE(d.isOk()) << bad;
    EXPECT_THAT(d.status().message(), HasSubstr("invalid duration")) << bad;
  }
}

TEST(CelTimeValues, FormatsDurationsAsSeconds) {
  EXPECT_EQ(formatDuration({5400'000'000'000}), "5400s");
  EXPECT_EQ(formatDuration({1'500'000'000}), "1.5s");
  EXPECT_EQ(formatDuration({-1}), "-0.000000001s");
  EXPECT_EQ(formatDuration({0}), "0s");
  EXPECT_EQ(formatDuration({std::numeric_limits<int64_t>::min()}), "-9223372036.854775808s");
}

TEST(CelTimeValues, ParsesRfc3339WithOffsetsAndFractions) {
  auto t = parseTimestamp("2024-01-01T10:00:00Z");
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->seconds, 1704103200);
  EXPECT_EQ(t->nanos, 0);
  auto shifted = parseTimestamp("2024-01-01T18:00:00.25+08:00");
  ASSERT_TRUE(shifted.isOk());
  EXPECT_EQ(shifted->seconds, 1704103200);
  EXPECT_EQ(shifted->nanos, 250'000'000);
  EXPECT_EQ(formatTimestamp(*shifted), "2024-01-01T10:00:00.25Z");
  EXPECT_EQ(formatTimestamp(*parseTimestamp("0001-01-01T00:00:00Z")), "0001-01-01T00:00:00Z");
  EXPECT_EQ(formatTimestamp(*parseTimestamp("9999-12-31T23:59:59.999999999Z")), "9999-12-31T23:59:59.999999999Z");
}

TEST(CelTimeValues, RejectsBadTimestamps) {
  for (std::string_view bad : {"2024-01-01", "2024-01-01T10:00:00", "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z",
                               "2024-01-01T24:00:00Z", "2024-01-01T10:00:00.Z", "2024-01-01 10:00:00Z",
                               "0001-01-01T00:00:00+01:00", "2024-01-01T10:00:00Zjunk"}) {
    auto t = parseTimestamp(bad);
    ASSERT_FALSE(t.isOk()) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("invalid timestamp")) << bad;
  }
}

TEST(CelTimeValues, ChecksArithmeticRanges) {
  Timestamp max = *parseTimestamp("9999-12-31T23:59:59.999999999Z");
  EXPECT_THAT(addDuration(max, {1}).status().message(), HasSubstr("range"));
  Timestamp min = *parseTimestamp("0001-01-01T00:00:00Z");
  EXPECT_THAT(subtractTimestamps(max, min).status().message(), HasSubstr("range"));  // > 292 years
  EXPECT_THAT(addDurations({std::numeric_limits<int64_t>::max()}, {1}).status().message(), HasSubstr("range"));
  EXPECT_EQ(subtractTimestamps(*parseTimestamp("2024-01-01T00:00:01Z"), *parseTimestamp("2024-01-01T00:00:00.5Z"))
                ->nanos,
            500'000'000);
  EXPECT_FALSE(timestampFromUnixSeconds(253402300800).isOk());
}

TEST(CelTimeValues, LoadsNamedAndFixedZones) {
  EXPECT_TRUE(loadTimeZone("UTC").isOk());
  EXPECT_TRUE(loadTimeZone("Asia/Shanghai").isOk());
  auto fixed = loadTimeZone("-05:30");
  ASSERT_TRUE(fixed.isOk());
  EXPECT_EQ(fixed->At(absl::UnixEpoch()).offset, -(5 * 3600 + 30 * 60));
  EXPECT_THAT(loadTimeZone("Mars/Olympus").status().message(), HasSubstr("unknown time zone 'Mars/Olympus'"));
  EXPECT_FALSE(loadTimeZone("").isOk());
}

}  // namespace
}  // namespace storepulse::cel
