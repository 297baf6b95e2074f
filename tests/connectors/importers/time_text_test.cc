#include "connectors/importers/time_text.h"

#include <gtest/gtest.h>

namespace storepulse::importers {
namespace {

constexpr std::int64_t k20101201 = 1'291'161'600'000;  // 2010-12-01T00:00:00Z

TEST(TimeTextTest, ParsesIsoLocalDateTimeAsUtc) {
  EXPECT_EQ(parseDateTimeMs("2010-12-01 08:26:00"), k20101201 + (8 * 3600 + 26 * 60) * 1000);
}

TEST(TimeTextTest, ParsesUsExportDateTime) {
  EXPECT_EQ(parseDateTimeMs("12/1/2010 8:26"), k20101201 + (8 * 3600 + 26 * 60) * 1000);
}

TEST(TimeTextTest, RejectsImpossibleOrPartialDates) {
  EXPECT_FALSE(parseDateTimeMs("2010-13-01 08:26:00"));
  EXPECT_FALSE(parseDateTimeMs("2011-02-29 08:26:00"));
  EXPECT_FALSE(parseDateTimeMs("2010-12-01 24:00:00"));
  EXPECT_FALSE(parseDateTimeMs("2010-12-01"));
  EXPECT_FALSE(parseDateTimeMs("2010-12-01 08:26:00x"));
  EXPECT_FALSE(parseDateMs("2016-02-30"));
  EXPECT_TRUE(parseDateMs("2016-02-29"));
}

TEST(TimeTextTest, ParsesUnixSecondsTruncatingBelowMilliseconds) {
  EXPECT_EQ(parseUnixSecondsMs("1396437466.94"), 1'396'437'466'940);
  EXPECT_EQ(parseUnixSecondsMs("1396437466.9"), 1'396'437'466'900);
  EXPECT_EQ(parseUnixSecondsMs("1396437466.3189"), 1'396'437'466'318);
  EXPECT_EQ(parseUnixSecondsMs("1396437466"), 1'396'437'466'000);
  EXPECT_FALSE(parseUnixSecondsMs("1396437466."));
  EXPECT_FALSE(parseUnixSecondsMs("-5"));
  EXPECT_FALSE(parseUnixSecondsMs("2014-04-07T10:51:09.277Z"));
}

}  // namespace
}  // namespace storepulse::importers
