#pragma once
// The type checker: infers the type of every node of a parsed expression
// against an Env, resolves names (variables, comprehension variables, type
// names, object fields) and narrows each call to the overloads that can
// apply. It reports every problem it finds, each at its line and column,
// and leaves what only values can decide (dyn) to runtime.

#include <optional>
#include <vector>

#include "rules/cel/ast.h"
#include "rules/cel/env.h"

namespace storepulse::cel {

// What a node refers to, by node id.
struct Resolution {
  const VariableDecl* variable = nullptr;  // ident (or dotted name) naming a variable
  int local_slot = -1;                     // ident naming a comprehension variable; comprehension: its slot
  std::optional<RuntimeType> type_value;   // ident (or dotted name) naming a type: `int`, `google.protobuf.Duration`
  int field = -1;                          // select of a declared field of an object type
  std::vector<const Overload*> overloads;  // call: the overloads its argument types allow
};

struct CheckedExpr {
  std::vector<Type> types;               // by node id
  std::vector<Resolution> resolutions;   // by node id
  int local_slots = 0;                   // comprehension variable slots evaluation needs
  std::vector<Diagnostic> errors;        // empty when the expression is well typed
};

CheckedExpr check(const ParsedExpr& parsed, const Env& env);

}  // namespace storepulse::cel
