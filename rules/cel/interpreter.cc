#include "rules/cel/interpreter.h"

#include <algorithm>

namespace storepulse::cel {

namespace {

Value costExceeded() { return Value::error("cost limit exceeded"); }

std::string listOfKinds(std::span<const Value> values) {
  std::string s;
  for (const Value& v : values) s += (s.empty() ? "" : ", ") + std::string(v.runtimeType().name());
  return s;
}

bool isNumber(ValueKind k) { return k == ValueKind::kInt || k == ValueKind::kUint || k == ValueKind::kDouble; }

// Whether a value of this runtime kind can be passed for a parameter type.
bool admits(const Overload& o, const Type& t, const Value& v) {
  if (o.numbers_interchangeable && t.isNumeric() && isNumber(v.kind())) return true;
  switch (t.kind()) {
    case TypeKind::kDyn:
    case TypeKind::kError:
    case TypeKind::kParam: return true;
    case TypeKind::kNull: return v.kind() == ValueKind::kNull;
    case TypeKind::kBool: return v.kind() == ValueKind::kBool;
    case TypeKind::kInt: return v.kind() == ValueKind::kInt;
    case TypeKind::kUint: return v.kind() == ValueKind::kUint;
    case TypeKind::kDouble: return v.kind() == ValueKind::kDouble;
    case TypeKind::kString: return v.kind() == ValueKind::kString;
    case TypeKind::kBytes: return v.kind() == ValueKind::kBytes;
    case TypeKind::kDuration: return v.kind() == ValueKind::kDuration;
    case TypeKind::kTimestamp: return v.kind() == ValueKind::kTimestamp;
    case TypeKind::kList: return v.kind() == ValueKind::kList;
    case TypeKind::kMap: return v.kind() == ValueKind::kMap;
    case TypeKind::kType: return v.kind() == ValueKind::kType;
    case TypeKind::kObject: return v.kind() == ValueKind::kObject && &v.objectValue().objectType() == t.objectType();
  }
  return false;
}

// The cost of looking at a value whose size matters: 1 per 8 bytes of a
// string, 1 per element of a list or map.
uint64_t sizeCost(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString:
    case ValueKind::kBytes: return v.stringValue().size() / 8;
    case ValueKind::kList: return v.listValue().size();
    case ValueKind::kMap: return v.mapValue().size();
    default: return 0;
  }
}

class ConstantNode final : public Node {
 public:
  explicit ConstantNode(Value v) : value_(std::move(v)) {}
  Value eval(Frame&) const override { return value_; }
  const Value* constant() const override { return &value_; }

 private:
  Value value_;
};

class VariableNode final : public Node {
 public:
  explicit VariableNode(int slot) : slot_(slot) {}
  Value eval(Frame& f) const override { return f.activation->get(slot_); }

 private:
  int slot_;
};

class LocalNode final : public Node {
 public:
  explicit LocalNode(int slot) : slot_(slot) {}
  Value eval(Frame& f) const override { return f.locals[slot_]; }

 private:
  int slot_;
};

// Field selection when the declared type is not known statically (dyn, or
// a map): also the fallback of FieldNode.
Value selectByName(const Value& operand, const std::string& name, bool test_only) {
  switch (operand.kind()) {
    case ValueKind::kMap: {
      const Value* v = operand.mapValue().find(Value::stringView(name));
      if (test_only) return Value::ofBool(v != nullptr);
      return v != nullptr ? *v : Value::error("no such key: '" + name + "'");
    }
    case ValueKind::kObject: {
      const ObjectValue& object = operand.objectValue();
      if (auto field = object.objectType().fieldIndex(name)) {
        return test_only ? Value::ofBool(object.has(*field)) : object.get(*field);
      }
      std::optional<Value> v;
      if (object.objectType().isOpen()) v = object.findUndeclared(name);
      if (test_only && object.objectType().isOpen()) return Value::ofBool(v.has_value());
      return v ? *v : Value::error("no such field '" + name + "'");
    }
    case ValueKind::kError: return operand;
    default:
      return Value::error("type '" + std::string(operand.runtimeType().name()) +
                          "' does not support field selection ('." + name + "')");
  }
}

class SelectNode final : public Node {
 public:
  SelectNode(NodePtr operand, std::string name, bool test_only)
      : operand_(std::move(operand)), name_(std::move(name)), test_only_(test_only) {}
  Value eval(Frame& f) const override {
    if (!f.charge(1)) return costExceeded();
    return selectByName(operand_->eval(f), name_, test_only_);
  }

 private:
  NodePtr operand_;
  std::string name_;
  bool test_only_;
};

class FieldNode final : public Node {
 public:
  FieldNode(NodePtr operand, const ObjectType& type, int field, std::string name, bool test_only)
      : operand_(std::move(operand)), type_(&type), field_(field), name_(std::move(name)), test_only_(test_only) {}
  Value eval(Frame& f) const override {
    if (!f.charge(1)) return costExceeded();
    Value v = operand_->eval(f);
    if (v.kind() != ValueKind::kObject || &v.objectValue().objectType() != type_) {
      return selectByName(v, name_, test_only_);  // bound to something else than declared
    }
    return test_only_ ? Value::ofBool(v.objectValue().has(field_)) : v.objectValue().get(field_);
  }

 private:
  NodePtr operand_;
  const ObjectType* type_;
  int field_;
  std::string name_;
  bool test_only_;
};

class CallNode final : public Node {
 public:
  CallNode(std::string function, std::vector<const Overload*> overloads, std::vector<NodePtr> args)
      : function_(std::move(function)),
        overloads_(std::move(overloads)),
        args_(std::move(args)),
        size_cost_(std::any_of(overloads_.begin(), overloads_.end(),
                               [](const Overload* o) { return o->cost_grows_with_size; })) {}

  Value eval(Frame& f) const override {
    // Up to four arguments live on the stack: no allocation for the
    // common calls.
    constexpr size_t kInline = 4;
    Value inline_args[kInline];
    std::vector<Value> heap_args;
    Value* args = inline_args;
    if (args_.size() > kInline) {
      heap_args.resize(args_.size());
      args = heap_args.data();
    }
    for (size_t i = 0; i < args_.size(); ++i) {
      args[i] = args_[i]->eval(f);
      if (args[i].isError()) return args[i];
    }
    std::span<const Value> span(args, args_.size());
    uint64_t cost = 1;
    if (size_cost_) {
      for (const Value& a : span) cost += sizeCost(a);
    }
    if (!f.charge(cost)) return costExceeded();
    for (const Overload* o : overloads_) {
      bool match = true;
      for (size_t i = 0; i < span.size() && match; ++i) match = admits(*o, o->params[i], span[i]);
      if (match) return o->impl(span);
    }
    return Value::error("no such overload: " + function_ + "(" + listOfKinds(span) + ")");
  }

 private:
  std::string function_;
  std::vector<const Overload*> overloads_;
  std::vector<NodePtr> args_;
  bool size_cost_;
};

// `false && error` is false and `true || error` is true, whichever side
// the error is on; otherwise an error (or a non-bool) wins.
class LogicNode final : public Node {
 public:
  LogicNode(bool is_and, NodePtr lhs, NodePtr rhs) : is_and_(is_and), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}
  Value eval(Frame& f) const override {
    const bool decisive = !is_and_;  // the value that decides alone
    Value l = lhs_->eval(f);
    if (l.kind() == ValueKind::kBool && l.boolValue() == decisive) return l;
    Value r = rhs_->eval(f);
    if (r.kind() == ValueKind::kBool && r.boolValue() == decisive) return r;
    for (const Value* v : {&l, &r}) {
      if (v->isError()) return *v;
      if (v->kind() != ValueKind::kBool) {
        return Value::error(std::string("no such overload: ") + (is_and_ ? op::kAnd : op::kOr) + "(" +
                            listOfKinds(std::vector<Value>{l, r}) + ")");
      }
    }
    return Value::ofBool(!decisive);
  }

 private:
  bool is_and_;
  NodePtr lhs_, rhs_;
};

class ConditionalNode final : public Node {
 public:
  ConditionalNode(NodePtr c, NodePtr yes, NodePtr no) : cond_(std::move(c)), yes_(std::move(yes)), no_(std::move(no)) {}
  Value eval(Frame& f) const override {
    Value c = cond_->eval(f);
    if (c.isError()) return c;
    if (c.kind() != ValueKind::kBool) {
      return Value::error(std::string("no such overload: ") + op::kConditional + "(" +
                          std::string(c.runtimeType().name()) + ", ...)");
    }
    return c.boolValue() ? yes_->eval(f) : no_->eval(f);
  }

 private:
  NodePtr cond_, yes_, no_;
};

class ListNode final : public Node {
 public:
  explicit ListNode(std::vector<NodePtr> elements) : elements_(std::move(elements)) {}
  Value eval(Frame& f) const override {
    if (!f.charge(1 + elements_.size())) return costExceeded();
    std::vector<Value> out;
    out.reserve(elements_.size());
    for (const auto& e : elements_) {
      out.push_back(e->eval(f));
      if (out.back().isError()) return out.back();
    }
    return Value::ofList(std::make_shared<ListValue>(std::move(out)));
  }

 private:
  std::vector<NodePtr> elements_;
};

class MapNode final : public Node {
 public:
  explicit MapNode(std::vector<std::pair<NodePtr, NodePtr>> entries) : entries_(std::move(entries)) {}
  Value eval(Frame& f) const override {
    if (!f.charge(1 + entries_.size())) return costExceeded();
    std::vector<MapValue::Entry> out;
    out.reserve(entries_.size());
    for (const auto& [k, v] : entries_) {
      Value key = k->eval(f);
      if (key.isError()) return key;
      Value value = v->eval(f);
      if (value.isError()) return value;
      out.emplace_back(std::move(key), std::move(value));
    }
    return MapValue::make(std::move(out));
  }

 private:
  std::vector<std::pair<NodePtr, NodePtr>> entries_;
};

class ComprehensionNode final : public Node {
 public:
  ComprehensionNode(MacroKind macro, NodePtr range, int slot, std::vector<NodePtr> args)
      : macro_(macro), range_(std::move(range)), slot_(slot), args_(std::move(args)) {}

  Value eval(Frame& f) const override {
    Value range = range_->eval(f);
    if (range.isError()) return range;
    // Lists iterate their elements, maps their keys.
    size_t n;
    if (range.kind() == ValueKind::kList) {
      n = range.listValue().size();
    } else if (range.kind() == ValueKind::kMap) {
      n = range.mapValue().size();
    } else {
      return Value::error("cannot iterate over a value of type '" + std::string(range.runtimeType().name()) + "'");
    }
    auto element = [&](size_t i) -> const Value& {
      return range.kind() == ValueKind::kList ? range.listValue()[i] : range.mapValue().entries()[i].first;
    };
    switch (macro_) {
      case MacroKind::kAll:
      case MacroKind::kExists: return quantify(f, n, element, macro_ == MacroKind::kExists);
      case MacroKind::kExistsOne: {
        int64_t count = 0;
        for (size_t i = 0; i < n; ++i) {
          Value p = step(f, element(i), *args_[0]);
          if (p.kind() != ValueKind::kBool) return notBool(p);
          count += p.boolValue() ? 1 : 0;
        }
        return Value::ofBool(count == 1);
      }
      case MacroKind::kMap:
      case MacroKind::kFilter: {
        std::vector<Value> out;
        const bool has_filter = macro_ == MacroKind::kFilter || args_.size() == 2;
        for (size_t i = 0; i < n; ++i) {
          if (has_filter) {
            Value keep = step(f, element(i), *args_[0]);
            if (keep.kind() != ValueKind::kBool) return notBool(keep);
            if (!keep.boolValue()) continue;
          }
          if (macro_ == MacroKind::kFilter) {
            out.push_back(element(i));
            continue;
          }
          Value mapped = has_filter ? args_[1]->eval(f) : step(f, element(i), *args_[0]);
          if (mapped.isError()) return mapped;
          out.push_back(std::move(mapped));
        }
        return Value::ofList(std::make_shared<ListValue>(std::move(out)));
      }
    }
    return Value::error("unknown macro");
  }

 private:
  // Binds the variable to `elem` and evaluates `body`, charging one unit.
  Value step(Frame& f, const Value& elem, const Node& body) const {
    if (!f.charge(1)) return costExceeded();
    f.locals[slot_] = elem;
    return body.eval(f);
  }

  static Value notBool(const Value& v) {
    if (v.isError()) return v;
    return Value::error("macro condition is not a bool but " + std::string(v.runtimeType().name()));
  }

  // all() and exists(): the deciding value (false for all, true for
  // exists) wins over errors from other elements, as with && and ||.
  template <typename Element>
  Value quantify(Frame& f, size_t n, Element element, bool decisive) const {
    Value first_error;
    bool failed = false;
    for (size_t i = 0; i < n; ++i) {
      Value p = step(f, element(i), *args_[0]);
      if (p.kind() == ValueKind::kBool) {
        if (p.boolValue() == decisive) return p;
        continue;
      }
      if (f.overLimit()) return costExceeded();
      if (!failed) first_error = notBool(p);
      failed = true;
    }
    return failed ? first_error : Value::ofBool(!decisive);
  }

  MacroKind macro_;
  NodePtr range_;
  int slot_;
  std::vector<NodePtr> args_;
};

class MatchesNode final : public Node {
 public:
  MatchesNode(NodePtr text, std::shared_ptr<const RE2> regex) : text_(std::move(text)), regex_(std::move(regex)) {}
  Value eval(Frame& f) const override {
    Value text = text_->eval(f);
    if (text.isError()) return text;
    if (text.kind() != ValueKind::kString) {
      return Value::error("no such overload: matches(" + std::string(text.runtimeType().name()) + ", string)");
    }
    if (!f.charge(1 + sizeCost(text))) return costExceeded();
    std::string_view s = text.stringValue();
    return Value::ofBool(RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *regex_));
  }

 private:
  NodePtr text_;
  std::shared_ptr<const RE2> regex_;
};

}  // namespace

NodePtr constantNode(Value value) { return std::make_unique<ConstantNode>(std::move(value)); }
NodePtr variableNode(int slot) { return std::make_unique<VariableNode>(slot); }
NodePtr localNode(int slot) { return std::make_unique<LocalNode>(slot); }
NodePtr fieldNode(NodePtr operand, const ObjectType& type, int field, std::string name, bool test_only) {
  return std::make_unique<FieldNode>(std::move(operand), type, field, std::move(name), test_only);
}
NodePtr selectNode(NodePtr operand, std::string name, bool test_only) {
  return std::make_unique<SelectNode>(std::move(operand), std::move(name), test_only);
}
NodePtr callNode(std::string function, std::vector<const Overload*> overloads, std::vector<NodePtr> args) {
  return std::make_unique<CallNode>(std::move(function), std::move(overloads), std::move(args));
}
NodePtr logicNode(bool is_and, NodePtr lhs, NodePtr rhs) {
  return std::make_unique<LogicNode>(is_and, std::move(lhs), std::move(rhs));
}
NodePtr conditionalNode(NodePtr condition, NodePtr yes, NodePtr no) {
  return std::make_unique<ConditionalNode>(std::move(condition), std::move(yes), std::move(no));
}
NodePtr listNode(std::vector<NodePtr> elements) { return std::make_unique<ListNode>(std::move(elements)); }
NodePtr mapNode(std::vector<std::pair<NodePtr, NodePtr>> entries) {
  return std::make_unique<MapNode>(std::move(entries));
}
NodePtr comprehensionNode(MacroKind macro, NodePtr range, int slot, std::vector<NodePtr> args) {
  return std::make_unique<ComprehensionNode>(macro, std::move(range), slot, std::move(args));
}
NodePtr matchesNode(NodePtr text, std::shared_ptr<const RE2> regex) {
  return std::make_unique<MatchesNode>(std::move(text), std::move(regex));
}

}  // namespace storepulse::cel
