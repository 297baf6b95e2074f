#pragma once
// The parsed form of a CEL expression. Operators are calls to functions with
// CEL's operator names (`a + b` is `_+_(a, b)`, `a[i]` is `_[_](a, i)`,
// `x in l` is `@in(x, l)`); macros are expanded by the parser into
// kComprehension nodes (all, exists, exists_one, map, filter) and test-only
// selects (has).

#include <memory>
#include <string>
#include <vector>

#include "rules/cel/value.h"

namespace storepulse::cel {

// Where in the expression text: 1-based line and column (in characters).
struct SourceLocation {
  int line = 1;
  int column = 1;
};

// A problem found while compiling, at a place in the expression.
struct Diagnostic {
  int line = 1;
  int column = 1;
  std::string message;
  // "1:7: undeclared reference to 'x'"
  std::string toString() const;
};

// Operator function names.
namespace op {
inline constexpr char kAnd[] = "_&&_";
inline constexpr char kOr[] = "_||_";
inline constexpr char kNot[] = "!_";
inline constexpr char kNegate[] = "-_";
inline constexpr char kConditional[] = "_?_:_";
inline constexpr char kIndex[] = "_[_]";
inline constexpr char kIn[] = "@in";
inline constexpr char kEqual[] = "_==_";
inline constexpr char kNotEqual[] = "_!=_";
inline constexpr char kLess[] = "_<_";
inline constexpr char kLessEqual[] = "_<=_";
inline constexpr char kGreater[] = "_>_";
inline constexpr char kGreaterEqual[] = "_>=_";
inline constexpr char kAdd[] = "_+_";
inline constexpr char kSubtract[] = "_-_";
inline constexpr char kMultiply[] = "_*_";
inline constexpr char kDivide[] = "_/_";
inline constexpr char kModulo[] = "_%_";
}  // namespace op

enum class ExprKind {
  kConstant,       // constant
  kIdent,          // name
  kSelect,         // operand.name; has(operand.name) when test_only
  kCall,           // name(args...) or operand.name(args...) when operand is set
  kList,           // [args...]
  kMap,            // {entries...}
  kComprehension,  // operand.macro(name, args...)
};

enum class MacroKind {
  kAll,        // args: predicate
  kExists,     // args: predicate
  kExistsOne,  // args: predicate
  kMap,        // args: transform, or filter then transform
  kFilter,     // args: predicate
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  int id = 0;  // dense, 0..n-1: index into per-node tables of the checker
  ExprKind kind = ExprKind::kConstant;
  SourceLocation location;
  Value constant;
  std::string name;
  bool test_only = false;
  MacroKind macro = MacroKind::kAll;
  ExprPtr operand;
  std::vector<ExprPtr> args;
  std::vector<std::pair<ExprPtr, ExprPtr>> entries;
};

// The result of parsing: the tree and the number of nodes in it.
struct ParsedExpr {
  ExprPtr root;
  int node_count = 0;
};

}  // namespace storepulse::cel
