#include "rules/cel/program.h"

#include <algorithm>
#include <limits>

#include "rules/cel/checker.h"
#include "rules/cel/json.h"
#include "rules/cel/parser.h"
#include "rules/cel/standard_library.h"

namespace storepulse::cel {

namespace {

// Turns the checked tree into evaluation nodes, folding what is constant.
class Planner {
 public:
  Planner(const CheckedExpr& checked, std::vector<Value>& constants, std::vector<Diagnostic>& diagnostics)
      : checked_(checked), constants_(constants), diagnostics_(diagnostics) {}

  // Takes the constants out of `e`.
  NodePtr plan(Expr& e) {
    const Resolution& r = checked_.resolutions[e.id];
    switch (e.kind) {
      case ExprKind::kConstant: return constant(std::move(e.constant));
      case ExprKind::kIdent: return planName(r);
      case ExprKind::kSelect: {
        if (r.variable != nullptr || r.type_value) return planName(r);
        NodePtr operand = plan(*e.operand);
        bool foldable = operand->constant() != nullptr;
        const Type& operand_type = checked_.types[e.operand->id];
        NodePtr node = r.field >= 0 ? fieldNode(std::move(operand), *operand_type.objectType(), r.field, e.name,
                                                e.test_only)
                                    : selectNode(std::move(operand), e.name, e.test_only);
        return foldable ? fold(*node) : std::move(node);
      }
      case ExprKind::kCall: return planCall(e, r);
      case ExprKind::kList: {
        std::vector<NodePtr> elements = planAll(e.args);
        bool foldable = allConstant(elements);
        NodePtr node = listNode(std::move(elements));
        return foldable ? fold(*node) : std::move(node);
      }
      case ExprKind::kMap: {
        std::vector<std::pair<NodePtr, NodePtr>> entries;
        bool foldable = true;
        for (auto& [k, v] : e.entries) {
          entries.emplace_back(plan(*k), plan(*v));
          foldable = foldable && entries.back().first->constant() && entries.back().second->constant();
        }
        NodePtr node = mapNode(std::move(entries));
        return foldable ? fold(*node) : std::move(node);
      }
      case ExprKind::kComprehension: {
        NodePtr range = plan(*e.operand);
        return comprehensionNode(e.macro, std::move(range), r.local_slot, planAll(e.args));
      }
    }
    return nullptr;
  }

 private:
  NodePtr constant(Value v) {
    constants_.push_back(std::move(v));
    return constantNode(constants_.back().view());
  }

  // Evaluates a node whose inputs are all constants, once.
  NodePtr fold(const Node& node) {
    Frame frame;
    frame.cost_limit = std::numeric_limits<uint64_t>::max();
    return constant(node.eval(frame));
  }

  static bool allConstant(const std::vector<NodePtr>& nodes) {
    return std::all_of(nodes.begin(), nodes.end(), [](const NodePtr& n) { return n->constant() != nullptr; });
  }

  std::vector<NodePtr> planAll(std::vector<ExprPtr>& exprs) {
    std::vector<NodePtr> nodes;
    for (auto& e : exprs) nodes.push_back(plan(*e));
    return nodes;
  }

  NodePtr planName(const Resolution& r) {
    if (r.local_slot >= 0) return localNode(r.local_slot);
    if (r.variable != nullptr) return variableNode(r.variable->slot);
    return constant(Value::ofType(*r.type_value));
  }

  NodePtr planCall(Expr& e, const Resolution& r) {
    std::vector<NodePtr> args;
    if (e.operand) args.push_back(plan(*e.operand));
    for (auto& a : e.args) args.push_back(plan(*a));
    bool all_constant = allConstant(args);

    if (e.name == op::kAnd || e.name == op::kOr) {
      bool is_and = e.name == op::kAnd;
      // `false && x` is false and `true || x` is true whatever x is.
      for (const NodePtr& side : args) {
        const Value* c = side->constant();
        if (c != nullptr && c->kind() == ValueKind::kBool && c->boolValue() != is_and) return constant(*c);
      }
      NodePtr node = logicNode(is_and, std::move(args[0]), std::move(args[1]));
      return all_constant ? fold(*node) : std::move(node);
    }
    if (e.name == op::kConditional) {
      const Value* c = args[0]->constant();
      if (c != nullptr && c->kind() == ValueKind::kBool) return std::move(args[c->boolValue() ? 1 : 2]);
      return conditionalNode(std::move(args[0]), std::move(args[1]), std::move(args[2]));
    }
    if (e.name == "matches" && args[1]->constant() != nullptr &&
        args[1]->constant()->kind() == ValueKind::kString) {
      const Expr& pattern = e.operand ? *e.args[0] : *e.args[1];
      auto regex = compileRegex(args[1]->constant()->stringValue());
      if (!regex) {
        diagnostics_.push_back(Diagnostic{pattern.location.line, pattern.location.column, regex.status().message()});
        return constant(Value::null());
      }
      NodePtr node = matchesNode(std::move(args[0]), std::move(regex).value());
      return all_constant ? fold(*node) : std::move(node);
    }
    bool foldable = all_constant && std::all_of(r.overloads.begin(), r.overloads.end(),
                                                [](const Overload* o) { return o->foldable; });
    NodePtr node = callNode(e.name, r.overloads, std::move(args));
    return foldable ? fold(*node) : std::move(node);
  }

  const CheckedExpr& checked_;
  std::vector<Value>& constants_;
  std::vector<Diagnostic>& diagnostics_;
};

}  // namespace

Status CompileResult::status() const {
  if (ok()) return Status::ok();
  std::string message;
  for (const Diagnostic& d : diagnostics) message += (message.empty() ? "" : "; ") + d.toString();
  return Status(ErrorCode::kInvalidArgument, message);
}

namespace {

// Parses and checks `expr`: the tree, or every problem found.
struct Checked {
  ParseResult parsed;
  CheckedExpr checked;
};
std::optional<Checked> parseAndCheck(std::string_view expr, const Env& env, std::vector<Diagnostic>& diagnostics) {
  Checked c{parse(expr), {}};
  if (c.parsed.error) {
    diagnostics.push_back(*c.parsed.error);
    return std::nullopt;
  }
  c.checked = check(c.parsed.expr, env);
  if (!c.checked.errors.empty()) {
    diagnostics = std::move(c.checked.errors);
    return std::nullopt;
  }
  return c;
}

// Writes `e` so that equal trees give equal text: calls by name, constants
// by type and value.
void appendCanonical(const Expr& e, std::string& out) {
  auto all = [&out](const std::vector<ExprPtr>& exprs) {
    for (const ExprPtr& a : exprs) {
      out += ',';
      appendCanonical(*a, out);
    }
  };
  switch (e.kind) {
    case ExprKind::kConstant: out += toTypedJson(e.constant).dump(); return;
    case ExprKind::kIdent: out += e.name; return;
    case ExprKind::kSelect:
      out += e.test_only ? "has(" : "(";
      appendCanonical(*e.operand, out);
      out += ")." + e.name;
      return;
    case ExprKind::kCall:
      out += e.name + "(";
      if (e.operand) appendCanonical(*e.operand, out);
      out += ';';
      all(e.args);
      out += ')';
      return;
    case ExprKind::kList:
      out += '[';
      all(e.args);
      out += ']';
      return;
    case ExprKind::kMap:
      out += '{';
      for (const auto& [k, v] : e.entries) {
        appendCanonical(*k, out);
        out += ':';
        appendCanonical(*v, out);
        out += ',';
      }
      out += '}';
      return;
    case ExprKind::kComprehension:
      out += "macro" + std::to_string(static_cast<int>(e.macro)) + "(";
      appendCanonical(*e.operand, out);
      out += ";" + e.name;
      all(e.args);
      out += ')';
      return;
  }
}

// `x op literal` or `literal op x` with a number literal: the operand, the
// comparison with the operand on the left, and the literal.
struct ThresholdShape {
  Expr* operand;
  Comparison op;
  const Value* constant;
};
std::optional<ThresholdShape> thresholdShape(Expr& e) {
  static const std::pair<const char*, std::pair<Comparison, Comparison>> kOps[] = {
      // as written, and with the sides swapped
      {op::kEqual, {Comparison::kEqual, Comparison::kEqual}},
      {op::kNotEqual, {Comparison::kNotEqual, Comparison::kNotEqual}},
      {op::kLess, {Comparison::kLess, Comparison::kGreater}},
      {op::kLessEqual, {Comparison::kLessEqual, Comparison::kGreaterEqual}},
      {op::kGreater, {Comparison::kGreater, Comparison::kLess}},
      {op::kGreaterEqual, {Comparison::kGreaterEqual, Comparison::kLessEqual}},
  };
  if (e.kind != ExprKind::kCall || e.operand || e.args.size() != 2) return std::nullopt;
  auto isNumberLiteral = [](const Expr& x) {
    return x.kind == ExprKind::kConstant && (x.constant.kind() == ValueKind::kInt ||
                                             x.constant.kind() == ValueKind::kUint ||
                                             x.constant.kind() == ValueKind::kDouble);
  };
  for (const auto& [name, ops] : kOps) {
    if (e.name != name) continue;
    Expr& lhs = *e.args[0];
    Expr& rhs = *e.args[1];
    if (isNumberLiteral(rhs) && !isNumberLiteral(lhs)) return ThresholdShape{&lhs, ops.first, &rhs.constant};
    if (isNumberLiteral(lhs) && !isNumberLiteral(rhs)) return ThresholdShape{&rhs, ops.second, &lhs.constant};
  }
  return std::nullopt;
}

void collectConjuncts(Expr& e, std::vector<Expr*>& out) {
  if (e.kind == ExprKind::kCall && e.name == op::kAnd && !e.operand && e.args.size() == 2) {
    collectConjuncts(*e.args[0], out);
    collectConjuncts(*e.args[1], out);
    return;
  }
  out.push_back(&e);
}

}  // namespace

CompileResult Program::compile(std::string_view expr, const Env& env, ProgramOptions options) {
  CompileResult result;
  auto c = parseAndCheck(expr, env, result.diagnostics);
  if (!c) return result;
  Program program;
  program.root_ = Planner(c->checked, program.constants_, result.diagnostics).plan(*c->parsed.expr.root);
  if (!result.diagnostics.empty()) return result;
  program.local_slots_ = c->checked.local_slots;
  program.result_type_ = c->checked.types[c->parsed.expr.root->id];
  program.options_ = options;
  result.program.emplace(std::move(program));
  return result;
}

Result<std::vector<Conjunct>> Program::compileConjuncts(std::string_view expr, const Env& env,
                                                        ProgramOptions options) {
  // Planning takes the constants out of a tree, and a threshold's operand
  // is planned on its own as well as within its conjunct: from a second
  // parse of the same text (same shape, same node ids).
  std::vector<Diagnostic> diagnostics;
  auto c = parseAndCheck(expr, env, diagnostics);
  auto again = parseAndCheck(expr, env, diagnostics);
  if (!c || !again) return CompileResult{std::nullopt, std::move(diagnostics)}.status();
  std::vector<Expr*> parts;
  std::vector<Expr*> copies;
  collectConjuncts(*c->parsed.expr.root, parts);
  collectConjuncts(*again->parsed.expr.root, copies);
  auto planned = [&](Expr& e, ProgramOptions o) {
    Program program;
    program.root_ = Planner(c->checked, program.constants_, diagnostics).plan(e);
    program.local_slots_ = c->checked.local_slots;
    program.result_type_ = c->checked.types[e.id];
    program.options_ = o;
    return program;
  };
  std::vector<Conjunct> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    Conjunct conjunct{"", Program(), std::nullopt};
    appendCanonical(*parts[i], conjunct.canonical);
    if (auto shape = thresholdShape(*copies[i]); shape && options.cost_limit > 1) {
      std::string operand_canonical;
      appendCanonical(*shape->operand, operand_canonical);
      ProgramOptions operand_options = options;
      operand_options.cost_limit -= 1;  // the comparison is one step
      Value constant = *shape->constant;
      conjunct.threshold = Conjunct::Threshold{std::move(operand_canonical), planned(*shape->operand, operand_options),
                                               shape->op, std::move(constant)};
    }
    conjunct.program = planned(*parts[i], options);
    out.push_back(std::move(conjunct));
  }
  if (!diagnostics.empty()) return CompileResult{std::nullopt, std::move(diagnostics)}.status();
  return out;
}

std::optional<bool> compareNumber(Comparison op, const Value& operand, const Value& constant) {
  const ValueKind k = operand.kind();
  if (k != ValueKind::kInt && k != ValueKind::kUint && k != ValueKind::kDouble) return std::nullopt;
  auto compare = [op](auto a, auto b) {  // two values of one type; NaN compares unequal and unordered
    switch (op) {
      case Comparison::kEqual: return a == b;
      case Comparison::kNotEqual: return a != b;
      case Comparison::kLess: return a < b;
      case Comparison::kLessEqual: return a <= b;
      case Comparison::kGreater: return a > b;
      case Comparison::kGreaterEqual: return a >= b;
    }
    return false;
  };
  if (k == constant.kind() && k == ValueKind::kInt) return compare(operand.intValue(), constant.intValue());
  if (k == constant.kind() && k == ValueKind::kDouble) return compare(operand.doubleValue(), constant.doubleValue());
  bool comparable = false;
  const std::optional<int> c = compareValues(operand, constant, &comparable);
  switch (op) {
    case Comparison::kEqual: return c.has_value() && *c == 0;
    case Comparison::kNotEqual: return !(c.has_value() && *c == 0);
    case Comparison::kLess: return c.has_value() && *c < 0;
    case Comparison::kLessEqual: return c.has_value() && *c <= 0;
    case Comparison::kGreater: return c.has_value() && *c > 0;
    case Comparison::kGreaterEqual: return c.has_value() && *c >= 0;
  }
  return std::nullopt;
}

Result<Value> Program::evaluate(const Activation& activation) const {
  // Comprehension variables live on the stack unless macros nest deeper
  // than this.
  constexpr int kInlineLocals = 8;
  Value inline_locals[kInlineLocals];
  std::vector<Value> heap_locals;
  Frame frame;
  frame.activation = &activation;
  frame.locals = inline_locals;
  frame.cost_limit = options_.cost_limit;
  if (local_slots_ > kInlineLocals) {
    heap_locals.resize(local_slots_);
    frame.locals = heap_locals.data();
  }
  Value v = root_->eval(frame);
  // Checked after the fact: && and || may have absorbed the error.
  if (frame.overLimit()) {
    return Status(ErrorCode::kInvalidArgument,
                  "cost limit exceeded (limit " + std::to_string(options_.cost_limit) + " steps)");
  }
  if (v.isError()) return Status(ErrorCode::kInvalidArgument, v.errorMessage());
  return v;
}

}  // namespace storepulse::cel
