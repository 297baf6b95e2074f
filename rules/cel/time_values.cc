#include "rules/cel/time_values.h"

#include <absl/time/civil_time.h>

#include <cstdio>
#include <limits>

namespace storepulse::cel {

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

Status invalidDuration(std::string_view text, std::string_view why) {
  return Status(ErrorCode::kInvalidArgument,
                "invalid duration '" + std::string(text) + "': " + std::string(why));
}

Status invalidTimestamp(std::string_view text, std::string_view why) {
  return Status(ErrorCode::kInvalidArgument,
                "invalid timestamp '" + std::string(text) + "': " + std::string(why));
}

Status rangeError(std::string_view what) {
  return Status(ErrorCode::kInvalidArgument, std::string(what) + " out of range");
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Longest units first so that "ms" is not read as "m" followed by "s".
struct Unit {
  std::string_view suffix;
  int64_t nanos;
};
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // µs, U+00B5
    {"\xCE\xBCs", 1'000},  // μs, U+03BC
    {"ms", 1'000'000},
    {"s", kNanosPerSecond},
    {"m", 60 * kNanosPerSecond},
    {"h", 3600 * kNanosPerSecond},
};

Result<Timestamp> checkedTimestamp(__int128 total_nanos) {
  __int128 seconds = total_nanos / kNanosPerSecond;
  __int128 nanos = total_nanos % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    seconds -= 1;
  }
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds) return rangeError("timestamp");
  return Timestamp{static_cast<int64_t>(seconds), static_cast<int32_t>(nanos)};
}

Result<Duration> checkedDuration(__int128 nanos) {
  if (nanos < std::numeric_limits<int64_t>::min() || nanos > std::numeric_limits<int64_t>::max()) {
    return rangeError("duration");
  }
  return Duration{static_cast<int64_t>(nanos)};
}

__int128 totalNanos(Timestamp t) { return static_cast<__int128>(t.seconds) * kNanosPerSecond + t.nanos; }

// Reads exactly `n` digits at `pos`.
bool readDigits(std::string_view s, size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (int i = 0; i < n; ++i) {
    if (!isDigit(s[pos + i])) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

Result<Duration> parseDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return invalidDuration(text, "empty");
  __int128 total = 0;
  while (!s.empty()) {
    __int128 whole = 0;
    size_t i = 0;
    for (; i < s.size() && isDigit(s[i]); ++i) {
      whole = whole * 10 + (s[i] - '0');
      if (whole > std::numeric_limits<int64_t>::max()) return invalidDuration(text, "out of range");
    }
    bool has_digits = i > 0;
    // Fraction digits beyond 18 cannot change the nanosecond result.
    int64_t fraction = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      for (++i; i < s.size() && isDigit(s[i]); ++i) {
        has_digits = true;
        if (scale < 1'000'000'000'000'000'000) {
          fraction = fraction * 10 + (s[i] - '0');
          scale *= 10;
        }
      }
    }
    if (!has_digits) return invalidDuration(text, "expected a number");
    s.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return invalidDuration(text, "missing or unknown unit (use h, m, s, ms, us, ns)");
    s.remove_prefix(unit->suffix.size());
    total += whole * unit->nanos + static_cast<__int128>(fraction) * unit->nanos / scale;
    if (total > static_cast<__int128>(std::numeric_limits<int64_t>::max()) + 1) {
      return invalidDuration(text, "out of range");
    }
  }
  auto result = checkedDuration(negative ? -total : total);
  if (!result) return invalidDuration(text, "out of range");
  return result;
}

std::string formatDuration(Duration d) {
  bool negative = d.nanos < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(d.nanos) : static_cast<uint64_t>(d.nanos);
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / kNanosPerSecond);
  if (uint64_t fraction = magnitude % kNanosPerSecond; fraction != 0) {
    char digits[16];
    std::snprintf(digits, sizeof digits, ".%09llu", static_cast<unsigned long long>(fraction));
    std::string_view f(digits);
    out += f.substr(0, f.find_last_not_of('0') + 1);
  }
  return out + "s";
}

Result<Timestamp> parseTimestamp(std::string_view text) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  bool ok = readDigits(text, pos, 4, year) && expect(text, pos, '-') && readDigits(text, pos, 2, month) &&
            expect(text, pos, '-') && readDigits(text, pos, 2, day) && expect(text, pos, 'T') &&
            readDigits(text, pos, 2, hour) && expect(text, pos, ':') && readDigits(text, pos, 2, minute) &&
            expect(text, pos, ':') && readDigits(text, pos, 2, second);
  if (!ok) return invalidTimestamp(text, "expected RFC 3339 like 2024-01-01T10:00:00Z");
  int32_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    for (; pos < text.size() && isDigit(text[pos]); ++pos, ++digits) {
      if (digits < 9) nanos = nanos * 10 + (text[pos] - '0');
    }
    if (digits == 0 || digits > 9) return invalidTimestamp(text, "fractional seconds need 1 to 9 digits");
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int offset_seconds = 0;
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos++] == '-' ? -1 : 1;
    int oh, om;
    if (!readDigits(text, pos, 2, oh) || !expect(text, pos, ':') || !readDigits(text, pos, 2, om) || oh > 23 ||
        om > 59) {
      return invalidTimestamp(text, "bad UTC offset");
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return invalidTimestamp(text, "missing time zone (Z or +hh:mm)");
  }
  if (pos != text.size()) return invalidTimestamp(text, "unexpected text after the time zone");
  // CivilSecond normalises out-of-range fields (Feb 30 -> Mar 2), so a
  // changed field means the input named no real time.
  absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.year() != year || civil.month() != month || civil.day() != day || civil.hour() != hour ||
      civil.minute() != minute || civil.second() != second) {
    return invalidTimestamp(text, "no such date or time");
  }
  int64_t seconds = absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone())) - offset_seconds;
  auto result = checkedTimestamp(static_cast<__int128>(seconds) * kNanosPerSecond + nanos);
  if (!result) return invalidTimestamp(text, "out of range (years 0001 to 9999)");
  return result;
}

std::string formatTimestamp(Timestamp t) {
  absl::CivilSecond c = absl::ToCivilSecond(absl::FromUnixSeconds(t.seconds), absl::UTCTimeZone());
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(c.year()), c.month(),
                c.day(), c.hour(), c.minute(), c.second());
  std::string out = buf;
  if (t.nanos != 0) {
    std::snprintf(buf, sizeof buf, ".%09d", t.nanos);
    std::string_view f(buf);
    out += f.substr(0, f.find_last_not_of('0') + 1);
  }
  return out + "Z";
}

Result<Timestamp> timestampFromUnixSeconds(int64_t seconds) {
  return checkedTimestamp(static_cast<__int128>(seconds) * kNanosPerSecond);
}

Result<Timestamp> addDuration(Timestamp t, Duration d) { return checkedTimestamp(totalNanos(t) + d.nanos); }

Result<Duration> subtractTimestamps(Timestamp a, Timestamp b) {
  return checkedDuration(totalNanos(a) - totalNanos(b));
}

Result<Duration> addDurations(Duration a, Duration b) {
  return checkedDuration(static_cast<__int128>(a.nanos) + b.nanos);
}

absl::Time toAbslTime(Timestamp t) { return absl::FromUnixSeconds(t.seconds) + absl::Nanoseconds(t.nanos); }

Result<absl::TimeZone> loadTimeZone(std::string_view name) {
  if (name.size() == 6 && (name[0] == '+' || name[0] == '-') && name[3] == ':') {
    size_t pos = 1;
    int h, m;
    if (readDigits(name, pos, 2, h) && expect(name, pos, ':') && readDigits(name, pos, 2, m) && h <= 23 &&
        m <= 59) {
      return absl::FixedTimeZone((name[0] == '-' ? -1 : 1) * (h * 3600 + m * 60));
    }
  }
  absl::TimeZone tz;
  if (name.empty() || !absl::LoadTimeZone(std::string(name), &tz)) {
    return Status(ErrorCode::kInvalidArgument, "unknown time zone '" + std::string(name) + "'");
  }
  return tz;
}

}  // namespace storepulse::cel
