#pragma once
// CEL values to and from JSON, in the forms SPEC.md "Interfaces" defines
// for `storepulse expr eval`.

#include <nlohmann/json.hpp>

#include "engine/core/status.h"
#include "rules/cel/value.h"

namespace storepulse::cel {

// {"type": T, "value": V}: T is int, uint, double, string, bool, bytes,
// null, list, map, duration, timestamp or type (an object: its type name);
// V is a decimal string for int and uint, the shortest round-trip string
// (or "NaN", "Infinity", "-Infinity") for double, base64 for bytes, an
// array of typed values for a list, an array of {"key", "value"} for a map
// (and for an object's present declared fields), "1.5s" for a duration,
// RFC 3339 UTC for a timestamp, the CEL name for a type.
nlohmann::ordered_json toTypedJson(const Value& value);

// JSON data as CEL values: integers as int (an error when out of int64
// range), other numbers as double, arrays as list, objects as map(string, dyn).
Result<Value> fromJson(const nlohmann::json& json);

}  // namespace storepulse::cel
