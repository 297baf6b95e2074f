#pragma once
// `storepulse expr eval EXPR [--vars JSON]` as one function, so that the
// command, the conformance tests and marketing's tools share one code path
// (SPEC.md "Interfaces": the output format).

#include <string>
#include <string_view>

namespace storepulse::cel {

// Parses, checks and evaluates `expr` with the variables of `vars_json` (a
// JSON object; empty means none: JSON integers bind as int, other numbers as
// double, arrays as list, objects as map(string, dyn)) and returns the one
// line the command prints, without a newline:
//   {"type": T, "value": V}  or  {"error": "..."}
// A parse or type error is an {"error"} line too; so is bad `vars_json`.
std::string evalToJsonLine(std::string_view expr, std::string_view vars_json);

}  // namespace storepulse::cel
