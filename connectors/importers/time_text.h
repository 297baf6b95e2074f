#pragma once
// Timestamp parsing and formatting for the importers. All values are epoch
// milliseconds, UTC; parsers return nullopt on anything they do not fully
// understand (the importer then counts the line as malformed).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace storepulse::importers {

// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
std::int64_t daysFromCivil(int year, int month, int day);

// "YYYY-MM-DD HH:MM[:SS]" or the US export form "M/D/YYYY H:MM[:SS]", read as UTC.
std::optional<std::int64_t> parseDateTimeMs(std::string_view text);

// "YYYY-MM-DD": midnight UTC.
std::optional<std::int64_t> parseDateMs(std::string_view text);

// Unix seconds with an optional fraction, "1396437466.94". Digits beyond
// milliseconds are truncated, not rounded, so a click never moves later.
std::optional<std::int64_t> parseUnixSecondsMs(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS[.fff]Z" (the original YooChoose format).
std::optional<std::int64_t> parseIsoUtcMs(std::string_view text);

// "2010-12-01T08:26:00Z", with ".123" only when milliseconds are non-zero.
std::string formatRfc3339Utc(std::int64_t epoch_ms);

}  // namespace storepulse::importers
