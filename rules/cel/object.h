#pragma once
// Host objects: how the rule engine hands `event`, `customer`, `store`,
// `agg` to an expression without building a map per event. The Env declares
// an ObjectType (a name, typed fields, and whether undeclared fields are
// allowed); the compiler turns `event.sku` into field number 0 of that
// type; at evaluation the host binds an ObjectValue that answers by number.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/cel/type.h"
#include "rules/cel/value.h"

namespace storepulse::cel {

struct FieldDecl {
  std::string name;
  Type type;
};

class ObjectType {
 public:
  // `open`: fields beyond `fields` may exist; they are typed dyn and looked
  // up by name at runtime (ObjectValue::findUndeclared). A closed type
  // rejects unknown field names when an expression is checked.
  ObjectType(std::string name, std::vector<FieldDecl> fields, bool open)
      : name_(std::move(name)), fields_(std::move(fields)), open_(open) {}

  const std::string& name() const { return name_; }
  // Field numbers are positions in this vector.
  const std::vector<FieldDecl>& fields() const { return fields_; }
  bool isOpen() const { return open_; }
  std::optional<int> fieldIndex(std::string_view name) const;

 private:
  std::string name_;
  std::vector<FieldDecl> fields_;
  bool open_;
};

// Implemented by the host. Called on the evaluating thread only, during
// Program::evaluate; must not throw. Values returned may view the object's
// own data (Value::stringView) as long as the object outlives the use of
// the result.
class ObjectValue {
 public:
  virtual ~ObjectValue() = default;

  virtual const ObjectType& objectType() const = 0;
  // Whether declared field `field` is present (the has() macro).
  virtual bool has(int field) const = 0;
  // The declared field's value. For an absent field, return its default or
  // Value::error("no such field '...'"), as the host's data model says.
  virtual Value get(int field) const = 0;
  // An undeclared field of an open type; nullopt when absent.
  virtual std::optional<Value> findUndeclared(std::string_view /*name*/) const { return std::nullopt; }
};

}  // namespace storepulse::cel
