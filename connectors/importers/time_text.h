#pragma once
// The data sets' own timestamp formats. All values are epoch
// milliseconds, UTC; parsers return nullopt on anything they do not fully
// understand (the importer then counts the line as malformed).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace storepulse::importers {

// "YYYY-MM-DD HH:MM[:SS]" or the US export form "M/D/YYYY H:MM[:SS]", read as UTC.
std::optional<std::int64_t> parseDateTimeMs(std::string_view text);

// "YYYY-MM-DD": midnight UTC.
std::optional<std::int64_t> parseDateMs(std::string_view text);

// Unix seconds with an optional fraction, "1396437466.94". Digits beyond
// milliseconds are truncated, not rounded, so a click never moves later.
std::optional<std::int64_t> parseUnixSecondsMs(std::string_view text);

// RFC 3339 (the original YooChoose files) is engine/core/time.h's
// parseRfc3339Millis; output goes through its formatRfc3339Millis.

}  // namespace storepulse::importers
