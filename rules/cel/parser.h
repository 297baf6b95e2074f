#pragma once
// Recursive-descent parser for the CEL grammar (cel-spec langdef.md), with
// CEL's operator precedence and macro expansion. Stops at the first syntax
// error. Nesting is bounded (kMaxNesting levels of parentheses, brackets,
// calls; kMaxHeight levels of tree) so that hostile input cannot exhaust the
// stack of the parser, checker or evaluator.

#include <optional>
#include <string_view>

#include "rules/cel/ast.h"

namespace storepulse::cel {

inline constexpr int kMaxNesting = 100;
inline constexpr int kMaxHeight = 250;

struct ParseResult {
  ParsedExpr expr;  // set when `error` is empty
  std::optional<Diagnostic> error;
};

ParseResult parse(std::string_view text);

}  // namespace storepulse::cel
