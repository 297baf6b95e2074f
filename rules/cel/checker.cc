#include "rules/cel/checker.h"

#include <algorithm>
#include <map>

namespace storepulse::cel {

namespace {

using Bindings = std::map<std::string, Type>;

// Whether values of `a` and `b` can be the same: equal types, with dyn
// fitting anything and null fitting object types.
bool compatible(const Type& a, const Type& b) {
  if (a.isDynOrError() || b.isDynOrError()) return true;
  if (a.kind() == TypeKind::kNull || b.kind() == TypeKind::kNull) {
    return a.kind() == b.kind() || a.kind() == TypeKind::kObject || b.kind() == TypeKind::kObject;
  }
  if (a.kind() != b.kind() || a.objectType() != b.objectType()) return false;
  if (a.kind() == TypeKind::kType) return true;  // type(1) == string is a fair question
  for (size_t i = 0; i < a.params().size(); ++i) {
    if (!compatible(a.params()[i], b.params()[i])) return false;
  }
  return true;
}

// Matches an argument type against a parameter type, binding the
// parameter's type variables.
bool unify(const Type& param, const Type& arg, Bindings& bindings) {
  if (arg.isDynOrError() || param.kind() == TypeKind::kDyn) return true;
  if (param.kind() == TypeKind::kParam) {
    auto [it, inserted] = bindings.emplace(param.paramName(), arg);
    return inserted || compatible(it->second, arg);
  }
  if (param.kind() != arg.kind() || param.objectType() != arg.objectType()) return false;
  if (param.kind() == TypeKind::kType) return true;
  for (size_t i = 0; i < param.params().size(); ++i) {
    if (!unify(param.params()[i], arg.params()[i], bindings)) return false;
  }
  return true;
}

Type substitute(const Type& t, const Bindings& bindings) {
  switch (t.kind()) {
    case TypeKind::kParam: {
      auto it = bindings.find(t.paramName());
      return it == bindings.end() ? Type::dyn() : it->second;
    }
    case TypeKind::kList: return Type::list(substitute(t.first(), bindings));
    case TypeKind::kMap: return Type::map(substitute(t.first(), bindings), substitute(t.second(), bindings));
    case TypeKind::kType: return Type::typeOf(substitute(t.first(), bindings));
    default: return t;
  }
}

// The one type of all `types`, or dyn when they differ.
Type join(const std::vector<Type>& types) {
  if (types.empty()) return Type::dyn();
  for (const Type& t : types) {
    if (!(t == types[0])) return Type::dyn();
  }
  return types[0];
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::optional<std::pair<Type, RuntimeType>> builtinTypeName(std::string_view name) {
  static const std::pair<std::string_view, std::pair<Type, ValueKind>> kNames[] = {
      {"bool", {Type::boolean(), ValueKind::kBool}},
      {"int", {Type::integer(), ValueKind::kInt}},
      {"uint", {Type::uinteger(), ValueKind::kUint}},
      {"double", {Type::dbl(), ValueKind::kDouble}},
      {"string", {Type::string(), ValueKind::kString}},
      {"bytes", {Type::bytes(), ValueKind::kBytes}},
      {"list", {Type::list(Type::dyn()), ValueKind::kList}},
      {"map", {Type::map(Type::dyn(), Type::dyn()), ValueKind::kMap}},
      {"null_type", {Type::null(), ValueKind::kNull}},
      {"type", {Type::typeOf(Type::dyn()), ValueKind::kType}},
      {"duration", {Type::duration(), ValueKind::kDuration}},
      {"timestamp", {Type::timestamp(), ValueKind::kTimestamp}},
      {"google.protobuf.Duration", {Type::duration(), ValueKind::kDuration}},
      {"google.protobuf.Timestamp", {Type::timestamp(), ValueKind::kTimestamp}},
  };
  for (const auto& [n, t] : kNames) {
    if (n == name) return std::make_pair(Type::typeOf(t.first), RuntimeType{t.second, nullptr});
  }
  return std::nullopt;
}

Type constantType(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kBool: return Type::boolean();
    case ValueKind::kInt: return Type::integer();
    case ValueKind::kUint: return Type::uinteger();
    case ValueKind::kDouble: return Type::dbl();
    case ValueKind::kString: return Type::string();
    case ValueKind::kBytes: return Type::bytes();
    default: return Type::null();
  }
}

const char* macroName(MacroKind m) {
  switch (m) {
    case MacroKind::kAll: return "all";
    case MacroKind::kExists: return "exists";
    case MacroKind::kExistsOne: return "exists_one";
    case MacroKind::kMap: return "map";
    case MacroKind::kFilter: return "filter";
  }
  return "?";
}

class Checker {
 public:
  Checker(const Env& env, CheckedExpr& out) : env_(env), out_(out) {}

  Type check(const Expr& e) {
    Type t = checkNode(e);
    out_.types[e.id] = t;
    return t;
  }

 private:
  void error(SourceLocation loc, std::string message) {
    out_.errors.push_back(Diagnostic{loc.line, loc.column, std::move(message)});
  }

  Type checkNode(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kConstant: return constantType(e.constant);
      case ExprKind::kIdent:
        if (auto t = checkName(e, e.name)) return *t;
        return undeclared(e, e.name);
      case ExprKind::kSelect: return checkSelect(e);
      case ExprKind::kCall: return checkCall(e);
      case ExprKind::kList: {
        std::vector<Type> elems;
        for (const auto& a : e.args) elems.push_back(check(*a));
        return Type::list(join(elems));
      }
      case ExprKind::kMap: return checkMap(e);
      case ExprKind::kComprehension: return checkComprehension(e);
    }
    return Type::error();
  }

  Type undeclared(const Expr& e, const std::string& name) {
    error(e.location, "undeclared reference to " + quoted(name));
    return Type::error();
  }

  // A simple or dotted name: comprehension variable, declared variable, or
  // type name, in that order.
  std::optional<Type> checkName(const Expr& e, const std::string& name) {
    Resolution& r = out_.resolutions[e.id];
    for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
      if (it->name == name) {
        r.local_slot = it->slot;
        return it->type;
      }
    }
    if (const VariableDecl* var = env_.findVariable(name)) {
      r.variable = var;
      return var->type;
    }
    if (auto builtin = builtinTypeName(name)) {
      r.type_value = builtin->second;
      return builtin->first;
    }
    if (const ObjectType* object = env_.findObjectType(name)) {
      r.type_value = RuntimeType{ValueKind::kObject, object};
      return Type::typeOf(Type::object(*object));
    }
    return std::nullopt;
  }

  // `a.b.c` as one name, when the expression is only idents and selects and
  // its root is not a comprehension variable.
  std::optional<std::string> dottedName(const Expr& e) const {
    if (e.kind == ExprKind::kIdent) {
      bool local = std::any_of(locals_.begin(), locals_.end(), [&](const Local& l) { return l.name == e.name; });
      if (local) return std::nullopt;
      return e.name;
    }
    if (e.kind != ExprKind::kSelect || e.test_only) return std::nullopt;
    auto prefix = dottedName(*e.operand);
    if (!prefix) return std::nullopt;
    return *prefix + "." + e.name;
  }

  Type checkSelect(const Expr& e) {
    // The longest dotted prefix that names something wins (langdef "Name
    // Resolution"): `google.protobuf.Duration` is a type, not a field.
    if (!e.test_only) {
      if (auto name = dottedName(e)) {
        if (auto t = checkName(e, *name)) return *t;
      }
    }
    Type operand = check(*e.operand);
    Type result = selectField(e, operand);
    return e.test_only && result.kind() != TypeKind::kError ? Type::boolean() : result;
  }

  Type selectField(const Expr& e, const Type& operand) {
    switch (operand.kind()) {
      case TypeKind::kDyn:
      case TypeKind::kError: return operand;
      case TypeKind::kObject: {
        const ObjectType& object = *operand.objectType();
        if (auto field = object.fieldIndex(e.name)) {
          out_.resolutions[e.id].field = *field;
          return object.fields()[*field].type;
        }
        if (object.isOpen()) return Type::dyn();
        error(e.location, "undefined field " + quoted(e.name) + " of type " + quoted(object.name()));
        return Type::error();
      }
      case TypeKind::kMap:
        if (operand.first().kind() == TypeKind::kString || operand.first().isDynOrError()) return operand.second();
        [[fallthrough]];
      default:
        error(e.location, "type " + quoted(operand.toString()) + " does not support field selection");
        return Type::error();
    }
  }

  Type checkCall(const Expr& e) {
    std::vector<Type> args;
    if (e.operand) args.push_back(check(*e.operand));
    for (const auto& a : e.args) args.push_back(check(*a));
    const FunctionDecl* fn = env_.findFunction(e.name);
    if (fn == nullptr) return undeclared(e, e.name);
    if (std::any_of(args.begin(), args.end(), [](const Type& t) { return t.kind() == TypeKind::kError; })) {
      return Type::error();  // already reported
    }
    bool receiver = e.operand != nullptr;
    std::vector<Type> results;
    Resolution& r = out_.resolutions[e.id];
    for (const Overload& o : fn->overloads) {
      if (o.receiver_style != receiver || o.params.size() != args.size()) continue;
      Bindings bindings;
      bool match = true;
      for (size_t i = 0; i < args.size() && match; ++i) {
        match = unify(o.params[i], args[i], bindings);
      }
      if (!match) continue;
      r.overloads.push_back(&o);
      results.push_back(substitute(o.result, bindings));
    }
    if (r.overloads.empty()) {
      error(e.location, "found no matching overload for " + quoted(e.name) + " applied to " + signature(args, receiver));
      return Type::error();
    }
    return join(results);
  }

  static std::string signature(const std::vector<Type>& args, bool receiver) {
    std::string s = "'";
    size_t first = 0;
    if (receiver) {
      s += args[0].toString() + ".";
      first = 1;
    }
    s += "(";
    for (size_t i = first; i < args.size(); ++i) s += (i > first ? ", " : "") + args[i].toString();
    return s + ")'";
  }

  Type checkMap(const Expr& e) {
    std::vector<Type> keys, values;
    for (size_t i = 0; i < e.entries.size(); ++i) {
      const auto& [key, value] = e.entries[i];
      Type k = check(*key);
      values.push_back(check(*value));
      keys.push_back(k);
      static constexpr TypeKind kKeyKinds[] = {TypeKind::kBool, TypeKind::kInt, TypeKind::kUint, TypeKind::kString,
                                               TypeKind::kDyn, TypeKind::kError};
      if (std::find(std::begin(kKeyKinds), std::end(kKeyKinds), k.kind()) == std::end(kKeyKinds)) {
        error(key->location, "unsupported map key type " + quoted(k.toString()));
      }
      for (size_t j = 0; j < i && key->kind == ExprKind::kConstant; ++j) {
        const Expr& earlier = *e.entries[j].first;
        if (earlier.kind == ExprKind::kConstant && valuesEqual(earlier.constant, key->constant)) {
          error(key->location, "duplicate map key");
          break;
        }
      }
    }
    return Type::map(join(keys), join(values));
  }

  Type checkComprehension(const Expr& e) {
    const char* macro = macroName(e.macro);
    Type range = check(*e.operand);
    Type var;
    switch (range.kind()) {
      case TypeKind::kList:
      case TypeKind::kMap: var = range.first(); break;
      case TypeKind::kDyn:
      case TypeKind::kError: var = range; break;
      default:
        error(e.operand->location, std::string(macro) + "() cannot range over type " + quoted(range.toString()) +
                                       " (only list, map, or dyn)");
        var = Type::error();
    }
    int slot = static_cast<int>(locals_.size());
    out_.resolutions[e.id].local_slot = slot;
    out_.local_slots = std::max(out_.local_slots, slot + 1);
    locals_.push_back(Local{e.name, var, slot});
    std::vector<Type> args;
    for (const auto& a : e.args) args.push_back(check(*a));
    locals_.pop_back();

    // Every argument but map's transform is a predicate.
    size_t predicates = e.macro == MacroKind::kMap ? e.args.size() - 1 : e.args.size();
    for (size_t i = 0; i < predicates; ++i) {
      if (args[i].kind() != TypeKind::kBool && !args[i].isDynOrError()) {
        error(e.args[i]->location, std::string(macro) + "() needs a bool condition, found " + quoted(args[i].toString()));
      }
    }
    switch (e.macro) {
      case MacroKind::kMap: return Type::list(args.back());
      case MacroKind::kFilter: return Type::list(var);
      default: return Type::boolean();
    }
  }

  struct Local {
    std::string name;
    Type type;
    int slot;
  };

  const Env& env_;
  CheckedExpr& out_;
  std::vector<Local> locals_;  // comprehension variables in scope, innermost last
};

}  // namespace

CheckedExpr check(const ParsedExpr& parsed, const Env& env) {
  CheckedExpr out;
  out.types.resize(parsed.node_count);
  out.resolutions.resize(parsed.node_count);
  Checker(env, out).check(*parsed.root);
  return out;
}

}  // namespace storepulse::cel
