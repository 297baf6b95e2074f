#pragma once
// Event-time helpers. Storepulse keeps every instant as epoch milliseconds
// (UTC); RFC 3339 is only a wire format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace storepulse {

// Parses RFC 3339 ("2011-01-27T12:23:00Z", "...T12:23:00.5+08:00"; a space
// may stand for 'T'). Returns epoch milliseconds, or nullopt when malformed.
std::optional<int64_t> parseRfc3339Millis(std::string_view text);

// Formats epoch milliseconds as RFC 3339 UTC: "2010-12-01T08:26:00Z", with
// ".123" only when the milliseconds are not zero.
std::string formatRfc3339Millis(int64_t epoch_ms);

// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);
// True for a real calendar date (leap years included).
bool isValidDate(int64_t year, unsigned month, unsigned day);

int64_t wallClockMillis();

}  // namespace storepulse

namespace storepulse {
// Parses "250ms", "30s", "10m", "1h", "90d" and sums like "1h30m".
// Returns nullopt when malformed or not positive.
std::optional<int64_t> parseDurationMillis(std::string_view text);
}  // namespace storepulse
