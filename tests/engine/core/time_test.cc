#include "engine/core/time.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace storepulse {
namespace {

// 2011-01-27T12:23:00Z, checked with `date -u -d ... +%s`.
constexpr int64_t kJan27 = 1296130980000;

TEST(ParseRfc3339, ParsesUtcWithZ) {
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00Z"), kJan27);
  EXPECT_EQ(parseRfc3339Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339Millis("9999-12-31T23:59:59Z"), int64_t{253402300799} * 1000);
}

TEST(ParseRfc3339, AcceptsLowercaseSeparatorAndZone) {
  EXPECT_EQ(parseRfc3339Millis("2011-01-27t12:23:00z"), kJan27);
}

TEST(ParseRfc3339, AcceptsSpaceInsteadOfT) {
  EXPECT_EQ(parseRfc3339Millis("2011-01-27 12:23:00Z"), kJan27);
}

TEST(ParseRfc3339, AppliesPositiveAndNegativeOffsets) {
  // 20:23 at +08:00 is 12:23 UTC; 06:53 at -05:30 is 12:23 UTC.
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T20:23:00+08:00"), kJan27);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T06:53:00-05:30"), kJan27);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00+00:00"), kJan27);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00-00:00"), kJan27);
}

TEST(ParseRfc3339, OffsetCanCrossMidnightAndYear) {
  EXPECT_EQ(parseRfc3339Millis("2012-01-01T01:00:00+02:00"), parseRfc3339Millis("2011-12-31T23:00:00Z"));
}

TEST(ParseRfc3339, ReadsFractionsToMillisecondsAndTruncatesTheRest) {
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00.5Z"), kJan27 + 500);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00.12Z"), kJan27 + 120);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00.123Z"), kJan27 + 123);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T12:23:00.123999999Z"), kJan27 + 123);
  EXPECT_EQ(parseRfc3339Millis("2011-01-27T20:23:00.250+08:00"), kJan27 + 250);
}

TEST(ParseRfc3339, AcceptsLeapDaysOfLeapYearsOnly) {
  EXPECT_EQ(parseRfc3339Millis("2024-02-29T00:00:00Z"), int64_t{1709164800} * 1000);
  EXPECT_EQ(parseRfc3339Millis("2000-02-29T12:00:00Z"), int64_t{951825600} * 1000);  // divisible by 400
  EXPECT_EQ(parseRfc3339Millis("2023-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parseRfc3339Millis("1900-02-29T00:00:00Z"), std::nullopt);  // divisible by 100, not 400
  EXPECT_EQ(parseRfc3339Millis("2024-02-30T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, LeapSecondCountsAsTheLastSecondOfTheMinute) {
  EXPECT_EQ(parseRfc3339Millis("2016-12-31T23:59:60Z"), parseRfc3339Millis("2016-12-31T23:59:59Z"));
}

TEST(ParseRfc3339, RejectsImpossibleDatesAndTimes) {
  for (const char* text : {
           "2011-13-01T00:00:00Z",  // month 13
           "2011-00-10T00:00:00Z",  // month 0
           "2011-01-32T00:00:00Z",  // day 32
           "2011-01-00T00:00:00Z",  // day 0
           "2011-04-31T00:00:00Z",  // April has 30 days
           "2011-01-27T24:00:00Z",  // hour 24
           "2011-01-27T12:60:00Z",  // minute 60
           "2011-01-27T12:00:61Z",  // second 61
           "2011-01-27T12:00:00+24:00",  // offset hour 24
           "2011-01-27T12:00:00+08:60",  // offset minute 60
       }) {
    EXPECT_EQ(parseRfc3339Millis(text), std::nullopt) << text;
  }
}

TEST(ParseRfc3339, RejectsMalformedText) {
  for (const char* text : {
           "",
           "2011-01-27",                 // a date alone
           "2011-01-27T12:23:00",        // no offset: local time is ambiguous
           "2011-01-27T12:23Z",          // no seconds
           "2011-01-27X12:23:00Z",       // bad separator
           "2011/01/27T12:23:00Z",
           "11-01-27T12:23:00Z",
           "2011-1-27T12:23:00Z",
           "2011-01-27T12:23:00.Z",      // a dot without digits
           "2011-01-27T12:23:00+0800",   // offset without colon
           "2011-01-27T12:23:00+08",     // offset without minutes
           "2011-01-27T12:23:00Z ",      // trailing space
           "2011-01-27T12:23:00ZZ",
           "2011-01-27T12:23:00 UTC",
           "２011-01-27T12:23:00Z",     // non-ASCII digit
           "1296130980000",              // epoch millis are not RFC 3339
       }) {
    EXPECT_EQ(parseRfc3339Millis(text), std::nullopt) << text;
  }
}

TEST(FormatRfc3339, FormatsUtcWithMillisecondsOnlyWhenNotZero) {
  EXPECT_EQ(formatRfc3339Millis(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339Millis(kJan27 + 7), "2011-01-27T12:23:00.007Z");
  EXPECT_EQ(formatRfc3339Millis(kJan27 + 120), "2011-01-27T12:23:00.120Z");
  EXPECT_EQ(formatRfc3339Millis(int64_t{1709164800} * 1000), "2024-02-29T00:00:00Z");
  EXPECT_EQ(formatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
}

TEST(CivilDates, ValidatesCalendarDates) {
  EXPECT_TRUE(isValidDate(2024, 2, 29));
  EXPECT_FALSE(isValidDate(2023, 2, 29));
  EXPECT_FALSE(isValidDate(2100, 2, 29));
  EXPECT_TRUE(isValidDate(2000, 2, 29));
  EXPECT_FALSE(isValidDate(2024, 4, 31));
  EXPECT_FALSE(isValidDate(2024, 13, 1));
  EXPECT_FALSE(isValidDate(2024, 0, 1));
  EXPECT_FALSE(isValidDate(2024, 1, 0));
  EXPECT_TRUE(isValidDate(2024, 12, 31));
}

TEST(CivilDates, CountsDaysFromTheEpoch) {
  EXPECT_EQ(daysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(daysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(daysFromCivil(2024, 2, 29), 1709164800 / 86400);
  EXPECT_EQ(daysFromCivil(2000, 3, 1) - daysFromCivil(2000, 2, 28), 2);  // 2000 is a leap year
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  const std::vector<int64_t> instants = {
      0, 1, 999, 1000, kJan27, kJan27 + 123, 951825600000, 1709164800000 - 1, 1709164800000,
      253402300799999,  // the last millisecond of year 9999
      -1, -86400000, -62135596800000,  // 0001-01-01
  };
  for (int64_t ms : instants) {
    const std::string text = formatRfc3339Millis(ms);
    EXPECT_EQ(parseRfc3339Millis(text), ms) << text;
  }
}

TEST(FormatRfc3339, RoundTripsEveryDayOfALeapYear) {
  // 2024-01-01T13:45:30.250Z plus whole days: exercises every month length.
  const int64_t start = int64_t{1704116730} * 1000 + 250;
  for (int day = 0; day < 366; ++day) {
    const int64_t ms = start + int64_t{day} * 86400000;
    EXPECT_EQ(parseRfc3339Millis(formatRfc3339Millis(ms)), ms) << formatRfc3339Millis(ms);
  }
}

TEST(ParseDuration, ParsesEachUnit) {
  EXPECT_EQ(parseDurationMillis("250ms"), 250);
  EXPECT_EQ(parseDurationMillis("30s"), 30000);
  EXPECT_EQ(parseDurationMillis("10m"), 600000);
  EXPECT_EQ(parseDurationMillis("1h"), 3600000);
  EXPECT_EQ(parseDurationMillis("90d"), int64_t{90} * 86400000);
}

TEST(ParseDuration, SumsCompoundDurations) {
  EXPECT_EQ(parseDurationMillis("1h30m"), 5400000);
  EXPECT_EQ(parseDurationMillis("1m30s500ms"), 90500);
  EXPECT_EQ(parseDurationMillis("1d1h"), 90000000);
  EXPECT_EQ(parseDurationMillis("0h5m"), 300000);  // a zero part is fine when the total is not
}

TEST(ParseDuration, RejectsUnknownOrMissingUnits) {
  for (const char* text : {"10", "10x", "10M", "1H", "ms", "1.5h", "10 m", "10sec", "1h30", "h1"}) {
    EXPECT_EQ(parseDurationMillis(text), std::nullopt) << text;
  }
}

TEST(ParseDuration, RejectsEmptyZeroAndNegative) {
  EXPECT_EQ(parseDurationMillis(""), std::nullopt);
  EXPECT_EQ(parseDurationMillis("0s"), std::nullopt);
  EXPECT_EQ(parseDurationMillis("0h0m"), std::nullopt);
  EXPECT_EQ(parseDurationMillis("-1s"), std::nullopt);
}

TEST(ParseDuration, RejectsDurationsThatOverflow) {
  // 3e11 days is ~2.6e19 ms, past int64: must be an error, not a wrapped value.
  EXPECT_EQ(parseDurationMillis("300000000000d"), std::nullopt);
  EXPECT_EQ(parseDurationMillis("99999999999999999999ms"), std::nullopt);
  EXPECT_EQ(parseDurationMillis("100000000000d100000000000d"), std::nullopt);
  // A large but representable one still parses.
  EXPECT_EQ(parseDurationMillis("36500d"), int64_t{36500} * 86400000);
}

}  // namespace
}  // namespace storepulse
