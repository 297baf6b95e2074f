// The standard library through the `expr eval` path: strings, regexes,
// conversions, timestamps and durations.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/rules/cel/cel_test_util.h"

namespace storepulse::cel {
namespace {

using ::testing::HasSubstr;
using testing::result;

TEST(CelFunctions, SizeCountsCodePointsBytesAndElements) {
  EXPECT_EQ(result("size('héllo')"), "int 5");
  EXPECT_EQ(result("'中文'.size()"), "int 2");
  EXPECT_EQ(result("size(b'h\\303\\251')"), "int 3");
  EXPECT_EQ(result("[1, 2, 3].size()"), "int 3");
  EXPECT_EQ(result("size({'a': 1})"), "int 1");
}

TEST(CelFunctions, StringPredicates) {
  EXPECT_EQ(result("'storepulse'.contains('rep')"), "bool true");
  EXPECT_EQ(result("'storepulse'.startsWith('store')"), "bool true");
  EXPECT_EQ(result("'storepulse'.endsWith('store')"), "bool false");
  EXPECT_EQ(result("''.contains('')"), "bool true");
  EXPECT_EQ(result("'a' + 'é' + '中'"), "string aé中");
}

TEST(CelFunctions, MatchesFindsSubstringsWithRe2Syntax) {
  EXPECT_EQ(result("'A-100'.matches('^[A-Z]-\\\\d+$')"), "bool true");
  EXPECT_EQ(result("'xx A-1 yy'.matches(r'[A-Z]-\\d')"), "bool true");  // unanchored
  EXPECT_EQ(result("matches('abc', '^b')"), "bool false");
  EXPECT_EQ(result("'中文'.matches('^..$')"), "bool true");  // UTF-8 aware
}

TEST(CelFunctions, InvalidRegexNamesThePattern) {
  EXPECT_THAT(result("'a'.matches('(')"), HasSubstr("invalid regex '('"));
  // A pattern only known at runtime fails at runtime.
  EXPECT_THAT(result("'a'.matches(p)", R"({"p": "a("})"), HasSubstr("invalid regex 'a('"));
  EXPECT_EQ(result("'ab'.matches(p)", R"({"p": "b$"})"), "bool true");
}

TEST(CelFunctions, IntConversionTruncatesAndChecksRange) {
  EXPECT_EQ(result("int(2.9)"), "int 2");
  EXPECT_EQ(result("int(-2.9)"), "int -2");
  EXPECT_EQ(result("int('-42')"), "int -42");
  EXPECT_EQ(result("int(42u)"), "int 42");
  EXPECT_EQ(result("int(timestamp('1970-01-01T00:01:00Z'))"), "int 60");
  EXPECT_THAT(result("int(1e19)"), HasSubstr("range"));
  EXPECT_THAT(result("int(18446744073709551615u)"), HasSubstr("range"));
  EXPECT_THAT(result("int(0.0 / 0.0)"), HasSubstr("range"));
  EXPECT_THAT(result("int('9223372036854775808')"), HasSubstr("range"));
  EXPECT_THAT(result("int('4x')"), HasSubstr("cannot convert '4x' to int"));
}

TEST(CelFunctions, UintAndDoubleConversions) {
  EXPECT_EQ(result("uint(3.7)"), "uint 3");
  EXPECT_THAT(result("uint(-1)"), HasSubstr("range"));
  EXPECT_THAT(result("uint(-0.5)"), HasSubstr("range"));
  EXPECT_THAT(result("uint('-1')"), HasSubstr("cannot convert"));
  EXPECT_EQ(result("double(3)"), "double 3");
  EXPECT_EQ(result("double('1e3')"), "double 1000");
  EXPECT_EQ(result("double('-inf')"), "double -Infinity");
  EXPECT_EQ(result("double(18446744073709551615u)"), "double 18446744073709551616");
}

TEST(CelFunctions, StringConversionUsesShortestForms) {
  EXPECT_EQ(result("string(0.1)"), "string 0.1");
  EXPECT_EQ(result("string(1e100)"), "string 1e+100");
  EXPECT_EQ(result("string(-0.0)"), "string -0");
  EXPECT_EQ(result("string(123u)"), "string 123");
  EXPECT_EQ(result("string(true)"), "string true");
  EXPECT_EQ(result("string(b'\\303\\251')"), "string é");
  EXPECT_THAT(result("string(b'\\377')"), HasSubstr("invalid UTF-8"));
  EXPECT_EQ(result("string(duration('1h30m'))"), "string 5400s");
  EXPECT_EQ(result("string(timestamp('2024-01-01T18:00:00.5+08:00'))"), "string 2024-01-01T10:00:00.5Z");
}

TEST(CelFunctions, BytesBoolDynAndType) {
  EXPECT_EQ(result("bytes('é')"), "bytes w6k=");
  EXPECT_EQ(result("bool('true') && !bool('F')"), "bool true");
  EXPECT_THAT(result("bool('yes')"), HasSubstr("cannot convert"));
  EXPECT_EQ(result("dyn(1) == 1.0"), "bool true");
  EXPECT_EQ(result("type(1) == int && type('') != int"), "bool true");
  EXPECT_EQ(result("type(type(1))"), "type type");
  EXPECT_EQ(result("type([])"), "type list");
  EXPECT_EQ(result("type(null)"), "type null_type");
  EXPECT_EQ(result("type(duration('1s')) == google.protobuf.Duration"), "bool true");
}

TEST(CelFunctions, TimestampArithmeticAndComparison) {
  EXPECT_EQ(result("timestamp('2024-01-01T10:00:00Z') + duration('90m')"), "timestamp 2024-01-01T11:30:00Z");
  EXPECT_EQ(result("duration('1s') + timestamp('2024-01-01T10:00:00Z')"), "timestamp 2024-01-01T10:00:01Z");
  EXPECT_EQ(result("timestamp('2024-01-02T00:00:00Z') - timestamp('2024-01-01T00:00:00Z')"), "duration 86400s");
  EXPECT_EQ(result("timestamp('2024-01-01T00:00:00Z') - duration('1ns')"), "timestamp 2023-12-31T23:59:59.999999999Z");
  EXPECT_EQ(result("duration('1h') - duration('90m')"), "duration -1800s");
  EXPECT_EQ(result("timestamp('2024-01-01T10:00:00+02:00') < timestamp('2024-01-01T09:00:00Z')"), "bool true");
  EXPECT_EQ(result("timestamp(1704103200)"), "timestamp 2024-01-01T10:00:00Z");
  EXPECT_THAT(result("timestamp('9999-12-31T23:59:59Z') + duration('1s')"), HasSubstr("range"));
  EXPECT_THAT(result("duration('2562047h') + duration('2562047h')"), HasSubstr("range"));
  EXPECT_THAT(result("timestamp('2024-01-01')"), HasSubstr("invalid timestamp"));
  EXPECT_THAT(result("duration('1 hour')"), HasSubstr("invalid duration"));
}

TEST(CelFunctions, TimestampAccessorsInUtcAndZones) {
  // 2024-03-10T01:30:45.123Z is a Sunday, day 69 of a leap year.
  const std::string ts = "timestamp('2024-03-10T01:30:45.123Z')";
  EXPECT_EQ(result(ts + ".getFullYear()"), "int 2024");
  EXPECT_EQ(result(ts + ".getMonth()"), "int 2");
  EXPECT_EQ(result(ts + ".getDayOfYear()"), "int 69");
  EXPECT_EQ(result(ts + ".getDayOfMonth()"), "int 9");
  EXPECT_EQ(result(ts + ".getDate()"), "int 10");
  EXPECT_EQ(result(ts + ".getDayOfWeek()"), "int 0");
  EXPECT_EQ(result(ts + ".getHours()"), "int 1");
  EXPECT_EQ(result(ts + ".getMinutes()"), "int 30");
  EXPECT_EQ(result(ts + ".getSeconds()"), "int 45");
  EXPECT_EQ(result(ts + ".getMilliseconds()"), "int 123");
  // In Shanghai (UTC+8) it is 09:30 the same day; in Los Angeles still Saturday evening.
  EXPECT_EQ(result(ts + ".getHours('Asia/Shanghai')"), "int 9");
  EXPECT_EQ(result(ts + ".getDayOfWeek('America/Los_Angeles')"), "int 6");
  EXPECT_EQ(result(ts + ".getDate('-05:00')"), "int 9");
  EXPECT_EQ(result(ts + ".getMinutes('+05:45')"), "int 15");
  EXPECT_THAT(result(ts + ".getHours('Mars/Olympus')"), HasSubstr("unknown time zone"));
}

TEST(CelFunctions, DurationAccessors) {
  EXPECT_EQ(result("duration('1h30m').getHours()"), "int 1");
  EXPECT_EQ(result("duration('1h30m').getMinutes()"), "int 90");
  EXPECT_EQ(result("duration('1h30m').getSeconds()"), "int 5400");
  EXPECT_EQ(result("duration('1.234s').getMilliseconds()"), "int 234");
  EXPECT_EQ(result("duration('-1.5s').getSeconds()"), "int -1");
}

}  // namespace
}  // namespace storepulse::cel
