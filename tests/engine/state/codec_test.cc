#include "engine/state/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace storepulse {
namespace {

TEST(Codec, RoundTripsVarintsAtTheirEdges) {
  const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, uint64_t{1} << 35, std::numeric_limits<uint64_t>::max()};
  std::string bytes;
  Encoder w(bytes);
  for (uint64_t v : values) w.u64(v);
  Decoder r(bytes);
  for (uint64_t v : values) EXPECT_EQ(r.u64(), v);
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.atEnd());
}

TEST(Codec, SmallValuesTakeOneByte) {
  std::string bytes;
  Encoder(bytes).u64(127);
  EXPECT_EQ(bytes.size(), 1u);
  bytes.clear();
  Encoder(bytes).i64(-64);  // zigzag keeps small negatives small
  EXPECT_EQ(bytes.size(), 1u);
}

TEST(Codec, RoundTripsSignedIntegersDoublesAndStrings) {
  const int64_t ints[] = {0, -1, 1, -64, 64, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  const double doubles[] = {0.0, -0.0, 1.5, -123.456, 1e300, std::numeric_limits<double>::denorm_min()};
  const std::string strings[] = {"", "a", std::string("nul\0inside", 10), std::string(300, 'x')};
  std::string bytes;
  Encoder w(bytes);
  for (int64_t v : ints) w.i64(v);
  for (double v : doubles) w.f64(v);
  for (const auto& s : strings) w.str(s);
  Decoder r(bytes);
  for (int64_t v : ints) EXPECT_EQ(r.i64(), v);
  for (double v : doubles) {
    const double got = r.f64();
    EXPECT_EQ(got, v);
    EXPECT_EQ(std::signbit(got), std::signbit(v));  // bit-exact, so -0.0 stays -0.0
  }
  for (const auto& s : strings) EXPECT_EQ(r.str(), s);
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.atEnd());
}

TEST(Codec, TruncatedVarintFailsInsteadOfReadingPastTheEnd) {
  Decoder r(std::string_view("\x80\x80", 2));
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_TRUE(r.failed());
}

TEST(Codec, OverlongVarintFails) {
  const std::string bytes(11, '\xff');
  Decoder r(bytes);
  r.u64();
  EXPECT_TRUE(r.failed());
}

TEST(Codec, StringLongerThanTheInputFails) {
  std::string bytes;
  Encoder(bytes).u64(1000);
  bytes += "short";
  Decoder r(bytes);
  EXPECT_EQ(r.str(), "");
  EXPECT_TRUE(r.failed());
}

TEST(Codec, TruncatedDoubleFails) {
  Decoder r(std::string_view("1234567", 7));
  r.f64();
  EXPECT_TRUE(r.failed());
}

TEST(Codec, FailureIsSticky) {
  const std::string bytes("\x80", 1);  // not a literal: GCC 12 then warns of reads it cannot prove guarded
  Decoder r(bytes);
  r.u64();
  ASSERT_TRUE(r.failed());
  r.str();
  r.f64();
  EXPECT_TRUE(r.failed());
  EXPECT_TRUE(r.atEnd());
}

TEST(Codec, BigEndianPartitionPrefixesSortByPartition) {
  auto prefix = [](uint32_t p) {
    std::string s;
    appendBigEndian32(s, p);
    return s;
  };
  EXPECT_EQ(prefix(1), std::string("\0\0\0\x01", 4));
  EXPECT_LT(prefix(1), prefix(2));
  EXPECT_LT(prefix(255), prefix(256));
  EXPECT_EQ(prefix(static_cast<uint32_t>(-1)), std::string(4, '\xff'));
}

TEST(Codec, Fixed64IsEightLittleEndianBytesAndViewsSeeTheInput) {
  std::string bytes;
  Encoder w(bytes);
  w.fixed64(0x0102030405060708ull);
  w.str("abc");
  ASSERT_EQ(bytes.size(), 8u + 1u + 3u);
  EXPECT_EQ(bytes[0], '\x08');
  EXPECT_EQ(bytes[7], '\x01');
  Decoder r(bytes);
  EXPECT_EQ(r.fixed64(), 0x0102030405060708ull);
  const std::string_view s = r.view();
  EXPECT_EQ(s, "abc");
  EXPECT_EQ(s.data(), bytes.data() + 9);  // a view, not a copy
  EXPECT_TRUE(r.atEnd());
  EXPECT_EQ(r.fixed64(), 0u);
  EXPECT_TRUE(r.failed());
}

}  // namespace
}  // namespace storepulse
