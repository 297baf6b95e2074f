#include "rules/cel/env.h"

#include <algorithm>

#include "rules/cel/standard_library.h"

namespace storepulse::cel {

namespace {

bool isOperatorName(std::string_view name) {
  return !name.empty() && (name[0] == '_' || name[0] == '@' || name == "!_" || name == "-_");
}

// Whether some runtime value could match both parameter types (after
// erasing type parameters, as cel-spec defines overlap).
bool paramsOverlap(const Type& a, const Type& b) {
  if (a.isDynOrError() || b.isDynOrError() || a.kind() == TypeKind::kParam || b.kind() == TypeKind::kParam) {
    return true;
  }
  return a.kind() == b.kind() && a.objectType() == b.objectType();
}

bool overloadsOverlap(const Overload& a, const Overload& b) {
  return a.receiver_style == b.receiver_style && a.params.size() == b.params.size() &&
         std::equal(a.params.begin(), a.params.end(), b.params.begin(), paramsOverlap);
}

Status invalid(std::string message) { return Status(ErrorCode::kInvalidArgument, std::move(message)); }

}  // namespace

Env::Env() {
  addStandardLibrary(*this);
  standard_library_done_ = true;
}

Result<const ObjectType*> Env::declareObjectType(std::string name, std::vector<FieldDecl> fields, bool open) {
  if (object_types_.count(name) != 0) return invalid("object type '" + name + "' is already declared");
  for (size_t i = 0; i < fields.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (fields[i].name == fields[j].name) {
        return invalid("object type '" + name + "' declares field '" + fields[i].name + "' twice");
      }
    }
  }
  auto type = std::make_unique<ObjectType>(name, std::move(fields), open);
  const ObjectType* result = type.get();
  object_types_.emplace(std::move(name), std::move(type));
  return result;
}

Result<int> Env::declareVariable(std::string name, Type type) {
  if (variables_by_name_.count(name) != 0) return invalid("variable '" + name + "' is already declared");
  int slot = static_cast<int>(variables_.size());
  variables_.push_back(VariableDecl{name, std::move(type), slot});
  variables_by_name_.emplace(std::move(name), &variables_.back());
  return slot;
}

Status Env::addOverload(std::string_view function, Overload overload) {
  if (standard_library_done_ && isOperatorName(function)) {
    return invalid("operator '" + std::string(function) + "' cannot be overloaded");
  }
  auto it = functions_.find(function);
  if (it == functions_.end()) {
    it = functions_.emplace(std::string(function), FunctionDecl{std::string(function), {}}).first;
  }
  for (const Overload& existing : it->second.overloads) {
    if (existing.id == overload.id || overloadsOverlap(existing, overload)) {
      return invalid("overload '" + overload.id + "' of '" + std::string(function) + "' overlaps '" + existing.id +
                     "'");
    }
  }
  it->second.overloads.push_back(std::move(overload));
  return Status::ok();
}

const VariableDecl* Env::findVariable(std::string_view name) const {
  auto it = variables_by_name_.find(name);
  return it == variables_by_name_.end() ? nullptr : it->second;
}

const ObjectType* Env::findObjectType(std::string_view name) const {
  auto it = object_types_.find(name);
  return it == object_types_.end() ? nullptr : it->second.get();
}

const FunctionDecl* Env::findFunction(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

Activation::Activation(const Env& env) : env_(&env) {
  for (int i = 0; i < env.variableCount(); ++i) {
    unbound_.push_back(Value::error("no value bound for variable '" + env.variables()[i].name + "'"));
  }
  slots_ = unbound_;
}

Status Activation::set(std::string_view name, Value value) {
  const VariableDecl* var = env_->findVariable(name);
  if (var == nullptr) return Status(ErrorCode::kNotFound, "no variable '" + std::string(name) + "' is declared");
  set(var->slot, std::move(value));
  return Status::ok();
}

}  // namespace storepulse::cel
