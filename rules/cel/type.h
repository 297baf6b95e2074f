#pragma once
// Static CEL types, as the checker sees them: finer than runtime kinds
// (list(int), map(string, dyn), type(int)), with `dyn` for "known only at
// runtime" and type parameters for generic overloads (list(A) -> A).

#include <string>
#include <vector>

namespace storepulse::cel {

class ObjectType;

enum class TypeKind : uint8_t {
  kDyn,
  kError,  // a sub-expression that already failed to check; silences follow-on errors
  kNull,
  kBool,
  kInt,
  kUint,
  kDouble,
  kString,
  kBytes,
  kDuration,
  kTimestamp,
  kList,   // params: element
  kMap,    // params: key, value
  kType,   // params: the denoted type
  kObject,
  kParam,  // a type parameter of an overload signature
};

class Type {
 public:
  Type() = default;  // dyn

  static Type dyn() { return Type(TypeKind::kDyn); }
  static Type error() { return Type(TypeKind::kError); }
  static Type null() { return Type(TypeKind::kNull); }
  static Type boolean() { return Type(TypeKind::kBool); }
  static Type integer() { return Type(TypeKind::kInt); }
  static Type uinteger() { return Type(TypeKind::kUint); }
  static Type dbl() { return Type(TypeKind::kDouble); }
  static Type string() { return Type(TypeKind::kString); }
  static Type bytes() { return Type(TypeKind::kBytes); }
  static Type duration() { return Type(TypeKind::kDuration); }
  static Type timestamp() { return Type(TypeKind::kTimestamp); }
  static Type list(Type element);
  static Type map(Type key, Type value);
  static Type typeOf(Type denoted);
  static Type object(const ObjectType& type);
  static Type param(std::string name);

  TypeKind kind() const { return kind_; }
  // list: element; map: key; type: the denoted type.
  const Type& first() const { return params_[0]; }
  // map: value.
  const Type& second() const { return params_[1]; }
  const std::vector<Type>& params() const { return params_; }
  const ObjectType* objectType() const { return object_; }
  const std::string& paramName() const { return name_; }

  bool isDynOrError() const { return kind_ == TypeKind::kDyn || kind_ == TypeKind::kError; }
  bool isNumeric() const {
    return kind_ == TypeKind::kInt || kind_ == TypeKind::kUint || kind_ == TypeKind::kDouble;
  }
  // True when the type holds no dyn, error or type parameter anywhere, so a
  // value of it needs no runtime type test.
  bool isConcrete() const;

  // As CEL writes it: "int", "list(string)", "map(string, dyn)",
  // "duration", "type(int)", an object's name.
  std::string toString() const;

  friend bool operator==(const Type& a, const Type& b);

 private:
  explicit Type(TypeKind kind) : kind_(kind) {}

  TypeKind kind_ = TypeKind::kDyn;
  std::vector<Type> params_;
  const ObjectType* object_ = nullptr;
  std::string name_;  // kParam
};

}  // namespace storepulse::cel
