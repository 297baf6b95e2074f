#pragma once
// Durations and timestamps: parsing, printing, checked arithmetic and time
// zones, with the ranges CEL defines (see value.h).

#include <absl/time/time.h>

#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "rules/cel/value.h"

namespace storepulse::cel {

// Go duration syntax, as CEL's duration() takes it: an optional sign, then
// one or more decimal numbers with a unit: "1h30m", "1.5s", "-2m", "100ms",
// "3us" (or "µs"), "5ns"; "0" alone is allowed.
Result<Duration> parseDuration(std::string_view text);
// Seconds with only the fractional digits needed: "5400s", "1.5s", "-0.000000001s".
std::string formatDuration(Duration d);

// RFC 3339: "2024-01-01T10:00:00Z", "2024-01-01T18:00:00+08:00",
// "2024-01-01T10:00:00.123Z".
Result<Timestamp> parseTimestamp(std::string_view text);
// RFC 3339 in UTC, fractional digits only when non-zero: "2024-01-01T10:00:00.5Z".
std::string formatTimestamp(Timestamp t);

// The checked arithmetic of `+` and `-`; a result out of range is an error
// whose message says "range".
Result<Timestamp> timestampFromUnixSeconds(int64_t seconds);
Result<Timestamp> addDuration(Timestamp t, Duration d);
Result<Duration> subtractTimestamps(Timestamp a, Timestamp b);
Result<Duration> addDurations(Duration a, Duration b);

absl::Time toAbslTime(Timestamp t);

// "UTC", an IANA name ("Asia/Shanghai") or a fixed offset ("+08:00", "-05:30").
Result<absl::TimeZone> loadTimeZone(std::string_view name);

}  // namespace storepulse::cel
