#pragma once
// What an expression may refer to: variables with their types, host object
// types, and functions (the CEL standard library plus the host's own).
// Build an Env once, compile any number of Programs against it, then keep
// it alive as long as those Programs and their Activations: they point into
// it. Not thread-safe to modify; const use is safe from any thread.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "rules/cel/object.h"
#include "rules/cel/type.h"
#include "rules/cel/value.h"

namespace storepulse::cel {

// A function implementation: receives evaluated, non-error arguments (the
// receiver first for receiver-style calls) whose kinds match the overload's
// parameter types, and returns a value or Value::error(...). It runs on the
// evaluating thread and must not throw.
using FunctionImpl = std::function<Value(std::span<const Value> args)>;

struct Overload {
  std::string id;            // unique within the function, e.g. "percent_double"
  std::vector<Type> params;  // receiver first when receiver_style
  Type result;
  bool receiver_style = false;  // called as a.f(b) rather than f(a, b)
  FunctionImpl impl;
  // At runtime, a parameter declared int, uint or double also admits the
  // other two: CEL compares numbers across types (dyn(1) == 1.0,
  // dyn(1u) < 2) and indexes with any integral number (list[dyn(0u)]). The
  // checker stays strict: `1 == 1.0` is a type error, as in cel-go.
  bool numbers_interchangeable = false;
  // The cost counter is charged with the size of string, bytes and list
  // arguments (see Program): for functions whose time grows with them.
  bool cost_grows_with_size = false;
  // Pure and cheap: the compiler may evaluate a call whose arguments are all
  // constants once, at compile time. (Not for functions that read a clock.)
  bool foldable = false;
};

struct FunctionDecl {
  std::string name;
  std::deque<Overload> overloads;  // deque: Programs keep pointers to overloads
};

struct VariableDecl {
  std::string name;
  Type type;
  int slot;  // index in the Activation
};

class Env {
 public:
  // An environment with the standard library and no variables.
  Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  Env(Env&&) = default;
  Env& operator=(Env&&) = default;

  // Declares an object type; its fields can be typed with object types
  // declared earlier (or itself, through the returned reference).
  Result<const ObjectType*> declareObjectType(std::string name, std::vector<FieldDecl> fields, bool open);
  // Declares a variable; returns its slot in Activations of this Env.
  Result<int> declareVariable(std::string name, Type type);
  // Adds an overload to a function (new or existing). Operators cannot be
  // overloaded, and an overload may not overlap an existing one.
  Status addOverload(std::string_view function, Overload overload);

  const VariableDecl* findVariable(std::string_view name) const;
  const ObjectType* findObjectType(std::string_view name) const;
  const FunctionDecl* findFunction(std::string_view name) const;
  int variableCount() const { return static_cast<int>(variables_.size()); }
  const std::deque<VariableDecl>& variables() const { return variables_; }

 private:
  std::deque<VariableDecl> variables_;
  std::map<std::string, const VariableDecl*, std::less<>> variables_by_name_;
  std::map<std::string, std::unique_ptr<ObjectType>, std::less<>> object_types_;
  std::map<std::string, FunctionDecl, std::less<>> functions_;
  bool standard_library_done_ = false;  // after it, operators are closed
};

// Values for one evaluation: one slot per variable of the Env. Reuse one
// Activation per thread and overwrite the slots for each event: setting a
// slot does not allocate. Object values are views: the host keeps the
// objects alive during evaluation.
class Activation {
 public:
  explicit Activation(const Env& env);

  void set(int slot, Value value) { slots_[slot] = std::move(value); }
  void setObject(int slot, const ObjectValue& object) { slots_[slot] = Value::objectView(object); }
  // By name (a map lookup): for tools and tests rather than hot paths.
  Status set(std::string_view name, Value value);
  // Marks a slot unbound again: reading it is an evaluation error.
  void unset(int slot) { slots_[slot] = unbound_[slot]; }

  const Value& get(int slot) const { return slots_[slot]; }

 private:
  const Env* env_;
  std::vector<Value> slots_;
  std::vector<Value> unbound_;  // by slot: the error a read of it gives, made once
};

}  // namespace storepulse::cel
