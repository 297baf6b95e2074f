#pragma once
// A compiled CEL expression: parse, check and plan once, evaluate many
// times. Typical use by the rule engine:
//
//   cel::Env env;
//   auto event_type = env.declareObjectType("Event", {{"sku", cel::Type::string()}, ...}, /*open=*/true);
//   int event_slot = *env.declareVariable("event", cel::Type::object(**event_type));
//   auto compiled = cel::Program::compile("event.sku.startsWith('A')", env);
//   if (!compiled.ok()) report(compiled.diagnostics);   // every problem, with line and column
//   cel::Activation act(env);                           // one per thread, reused
//   act.setObject(event_slot, my_event);                // per event, no allocation
//   Result<cel::Value> v = compiled.program->evaluate(act);
//
// evaluate() is const and may run on several threads at once, each with its
// own Activation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "rules/cel/ast.h"
#include "rules/cel/env.h"
#include "rules/cel/interpreter.h"
#include "rules/cel/type.h"
#include "rules/cel/value.h"

namespace storepulse::cel {

struct ProgramOptions {
  // Work one evaluation may do, in steps: 1 per function call, field
  // selection and macro iteration, plus 1 per 8 bytes of string and per
  // element of list or map that a function walks (contains, ==, in, +).
  // Past it the evaluation fails with "cost limit exceeded". Default: one
  // million steps, a few milliseconds.
  uint64_t cost_limit = 1'000'000;
};

struct CompileResult;
struct Conjunct;

class Program {
 public:
  // Compiles `expr` against `env`, which must outlive the Program.
  static CompileResult compile(std::string_view expr, const Env& env, ProgramOptions options = {});

  // The operands of a top-level conjunction `a && b && (c && d)`, each
  // compiled on its own: a, b, c and d (a non-conjunction is one). CEL's
  // `&&` is commutative, errors included: the conjunction is false when any
  // conjunct is, else an error when any is, else true, whatever order they
  // run in. So a rule set may evaluate a conjunct that several rules share
  // once per event, and the shared ones first. `expr` must compile.
  static Result<std::vector<Conjunct>> compileConjuncts(std::string_view expr, const Env& env,
                                                        ProgramOptions options = {});

  Program(Program&&) = default;
  Program& operator=(Program&&) = default;

  // The checker's type of the result (dyn when only runtime can tell).
  const Type& resultType() const { return result_type_; }

  // Evaluates with `activation` (made from the same Env). A CEL error
  // ("division by zero", "no such key: 'x'", "cost limit exceeded") comes
  // back as an invalid_argument Status. The value may view the Program's
  // constants and the activation's data (see value.h).
  Result<Value> evaluate(const Activation& activation) const;

 private:
  Program() = default;

  NodePtr root_;
  // Every constant the tree views; owned here so that constant nodes hand
  // out views without reference counting.
  std::vector<Value> constants_;
  int local_slots_ = 0;
  Type result_type_;
  ProgramOptions options_;
};

enum class Comparison { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };

// `operand <op> constant` for two numbers, as CEL's operators compare them
// (int, uint and double by value; NaN unordered); nullopt when `operand` is
// not a number.
std::optional<bool> compareNumber(Comparison op, const Value& operand, const Value& constant);

struct Conjunct {
  // The same for two conjuncts that mean the same, however spaced or
  // parenthesised: `a.b >= 2` and `(a.b)>=2`.
  std::string canonical;
  Program program;

  // Set when the conjunct compares an expression with a number literal
  // (`agg.views >= 3`, `2 < x`): rules often test one value against many
  // thresholds, and a rule set can then evaluate it once for all of them.
  // When the operand gives a number, compareNumber(op, operand, constant)
  // is what `program` gives; otherwise (an error, a dyn of another type)
  // `program` must run.
  struct Threshold {
    std::string operand_canonical;
    Program operand;  // with a cost limit one step below `program`'s
    Comparison op;    // the operand on the left
    Value constant;
  };
  std::optional<Threshold> threshold;
};

struct CompileResult {
  std::optional<Program> program;       // set when diagnostics is empty
  std::vector<Diagnostic> diagnostics;  // every problem found, in text order of discovery

  bool ok() const { return program.has_value(); }
  // The diagnostics as one Status: "1:5: undeclared reference to 'x'; ..."
  Status status() const;
};

}  // namespace storepulse::cel
