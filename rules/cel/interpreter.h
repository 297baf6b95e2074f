#pragma once
// The evaluation tree a Program runs: one node per operation, names and
// fields already resolved to slots and numbers, overloads narrowed by the
// checker, constants folded. Evaluating allocates only where CEL creates
// data (list and map literals, string concatenation, map() and filter(),
// errors): a comparison over host objects and constants allocates nothing.

#include <re2/re2.h>

#include <memory>
#include <string>
#include <vector>

#include "rules/cel/ast.h"
#include "rules/cel/env.h"
#include "rules/cel/value.h"

namespace storepulse::cel {

// The state of one evaluation.
struct Frame {
  const Activation* activation = nullptr;
  Value* locals = nullptr;  // comprehension variables, by slot
  uint64_t cost = 0;
  uint64_t cost_limit = 0;

  // Adds `units` to the cost; false once the limit is passed.
  bool charge(uint64_t units) {
    cost += units;
    return cost <= cost_limit;
  }
  bool overLimit() const { return cost > cost_limit; }
};

class Node {
 public:
  virtual ~Node() = default;
  virtual Value eval(Frame& frame) const = 0;
  // The value of a constant node, for folding; null for other nodes.
  virtual const Value* constant() const { return nullptr; }
};
using NodePtr = std::unique_ptr<Node>;

// `value` must outlive the node (the Program keeps its constants).
NodePtr constantNode(Value value);
NodePtr variableNode(int slot);
NodePtr localNode(int slot);
// A declared field of an object type, resolved to its number.
NodePtr fieldNode(NodePtr operand, const ObjectType& type, int field, std::string name, bool test_only);
// A field resolved at runtime: map key, or object field by name.
NodePtr selectNode(NodePtr operand, std::string name, bool test_only);
// A strict call: evaluates all arguments (receiver first), propagates the
// first error, dispatches to the first overload whose parameters admit the
// argument values.
NodePtr callNode(std::string function, std::vector<const Overload*> overloads, std::vector<NodePtr> args);
// `&&` and `||` with CEL's commutative error absorption.
NodePtr logicNode(bool is_and, NodePtr lhs, NodePtr rhs);
NodePtr conditionalNode(NodePtr condition, NodePtr yes, NodePtr no);
NodePtr listNode(std::vector<NodePtr> elements);
NodePtr mapNode(std::vector<std::pair<NodePtr, NodePtr>> entries);
NodePtr comprehensionNode(MacroKind macro, NodePtr range, int slot, std::vector<NodePtr> args);
// `text.matches(pattern)` with the pattern compiled once.
NodePtr matchesNode(NodePtr text, std::shared_ptr<const RE2> regex);

}  // namespace storepulse::cel
