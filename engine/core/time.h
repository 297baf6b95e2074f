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

// Formats epoch milliseconds as RFC 3339 UTC with millisecond precision.
std::string formatRfc3339Millis(int64_t epoch_ms);

int64_t wallClockMillis();

}  // namespace storepulse

namespace storepulse {
// Parses "250ms", "30s", "10m", "1h", "90d" and sums like "1h30m".
// Returns nullopt when malformed or not positive.
std::optional<int64_t> parseDurationMillis(std::string_view text);
}  // namespace storepulse
