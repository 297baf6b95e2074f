#pragma once
// CEL's standard functions and operators (cel-spec "List of Standard
// Definitions"), registered into every Env. `_&&_`, `_||_` and `_?_:_` are
// declared here for the checker but evaluated by the interpreter itself,
// since they do not evaluate all their arguments.

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace storepulse::cel {

class Env;

void addStandardLibrary(Env& env);

// Compiles a `matches` pattern (RE2 syntax, UTF-8). The error message names
// the pattern: "invalid regex 'a(': missing ): a(".
Result<std::shared_ptr<const RE2>> compileRegex(std::string_view pattern);

// Shortest decimal form that reads back as the same double ("0.1", "1e+20",
// "100"), or "NaN", "Infinity", "-Infinity".
std::string formatDouble(double d);

}  // namespace storepulse::cel
