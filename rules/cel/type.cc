#include "rules/cel/type.h"

#include <algorithm>

#include "rules/cel/object.h"

namespace storepulse::cel {

Type Type::list(Type element) {
  Type t(TypeKind::kList);
  t.params_.push_back(std::move(element));
  return t;
}

Type Type::map(Type key, Type value) {
  Type t(TypeKind::kMap);
  t.params_.push_back(std::move(key));
  t.params_.push_back(std::move(value));
  return t;
}

Type Type::typeOf(Type denoted) {
  Type t(TypeKind::kType);
  t.params_.push_back(std::move(denoted));
  return t;
}

Type Type::object(const ObjectType& type) {
  Type t(TypeKind::kObject);
  t.object_ = &type;
  return t;
}

Type Type::param(std::string name) {
  Type t(TypeKind::kParam);
  t.name_ = std::move(name);
  return t;
}

bool Type::isConcrete() const {
  if (isDynOrError() || kind_ == TypeKind::kParam) return false;
  return std::all_of(params_.begin(), params_.end(), [](const Type& p) { return p.isConcrete(); });
}

std::string Type::toString() const {
  switch (kind_) {
    case TypeKind::kDyn: return "dyn";
    case TypeKind::kError: return "*error*";
    case TypeKind::kNull: return "null_type";
    case TypeKind::kBool: return "bool";
    case TypeKind::kInt: return "int";
    case TypeKind::kUint: return "uint";
    case TypeKind::kDouble: return "double";
    case TypeKind::kString: return "string";
    case TypeKind::kBytes: return "bytes";
    case TypeKind::kDuration: return "duration";
    case TypeKind::kTimestamp: return "timestamp";
    case TypeKind::kList: return "list(" + first().toString() + ")";
    case TypeKind::kMap: return "map(" + first().toString() + ", " + second().toString() + ")";
    case TypeKind::kType: return "type(" + first().toString() + ")";
    case TypeKind::kObject: return object_->name();
    case TypeKind::kParam: return name_;
  }
  return "?";
}

bool operator==(const Type& a, const Type& b) {
  return a.kind_ == b.kind_ && a.params_ == b.params_ && a.object_ == b.object_ && a.name_ == b.name_;
}

std::optional<int> ObjectType::fieldIndex(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

}  // namespace storepulse::cel
