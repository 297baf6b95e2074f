#include "connectors/importers/time_text.h"

#include <charconv>

#include "engine/core/time.h"

namespace storepulse::importers {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

// Reads between min_digits and max_digits decimal digits at `pos`.
std::optional<int> readNumber(std::string_view text, std::size_t& pos, int min_digits,
                              int max_digits) {
  int value = 0;
  int digits = 0;
  while (pos < text.size() && digits < max_digits && text[pos] >= '0' && text[pos] <= '9') {
    value = value * 10 + (text[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits < min_digits) return std::nullopt;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

std::optional<std::int64_t> toEpochMs(int y, int mo, int d, int h, int mi, int s, int ms) {
  if (y < 1970 || y > 9999 || !isValidDate(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || s > 59 || ms > 999) return std::nullopt;
  return daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMsPerDay + ((h * 60LL + mi) * 60 + s) * 1000 + ms;
}

// Parses "HH:MM[:SS]" (hour may be one digit) and requires the text to end.
bool readClock(std::string_view text, std::size_t& pos, int& h, int& mi, int& s) {
  auto hour = readNumber(text, pos, 1, 2);
  if (!hour || !expect(text, pos, ':')) return false;
  auto minute = readNumber(text, pos, 2, 2);
  if (!minute) return false;
  s = 0;
  if (expect(text, pos, ':')) {
    auto second = readNumber(text, pos, 2, 2);
    if (!second) return false;
    s = *second;
  }
  h = *hour;
  mi = *minute;
  return pos == text.size();
}

}  // namespace

std::optional<std::int64_t> parseDateTimeMs(std::string_view text) {
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.find('/') != std::string_view::npos) {
    auto month = readNumber(text, pos, 1, 2);
    if (!month || !expect(text, pos, '/')) return std::nullopt;
    auto day = readNumber(text, pos, 1, 2);
    if (!day || !expect(text, pos, '/')) return std::nullopt;
    auto year = readNumber(text, pos, 4, 4);
    if (!year) return std::nullopt;
    y = *year, mo = *month, d = *day;
  } else {
    auto year = readNumber(text, pos, 4, 4);
    if (!year || !expect(text, pos, '-')) return std::nullopt;
    auto month = readNumber(text, pos, 2, 2);
    if (!month || !expect(text, pos, '-')) return std::nullopt;
    auto day = readNumber(text, pos, 2, 2);
    if (!day) return std::nullopt;
    y = *year, mo = *month, d = *day;
  }
  if (!expect(text, pos, ' ') || !readClock(text, pos, h, mi, s)) return std::nullopt;
  return toEpochMs(y, mo, d, h, mi, s, 0);
}

std::optional<std::int64_t> parseDateMs(std::string_view text) {
  std::size_t pos = 0;
  auto year = readNumber(text, pos, 4, 4);
  if (!year || !expect(text, pos, '-')) return std::nullopt;
  auto month = readNumber(text, pos, 2, 2);
  if (!month || !expect(text, pos, '-')) return std::nullopt;
  auto day = readNumber(text, pos, 2, 2);
  if (!day || pos != text.size()) return std::nullopt;
  return toEpochMs(*year, *month, *day, 0, 0, 0, 0);
}

std::optional<std::int64_t> parseUnixSecondsMs(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc() || end != whole.data() + whole.size() || whole.empty() || seconds < 0 ||
      seconds > 253'402'300'799) {  // 9999-12-31T23:59:59Z
    return std::nullopt;
  }
  std::int64_t ms = 0;
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty()) return std::nullopt;
    int scale = 100;
    for (char c : fraction) {
      if (c < '0' || c > '9') return std::nullopt;
      ms += (c - '0') * scale;
      scale /= 10;
    }
  }
  return seconds * 1000 + ms;
}

}  // namespace storepulse::importers
