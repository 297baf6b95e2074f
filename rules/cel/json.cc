#include "rules/cel/json.h"

#include <absl/strings/escaping.h>

#include <limits>

#include "rules/cel/object.h"
#include "rules/cel/standard_library.h"
#include "rules/cel/time_values.h"

namespace storepulse::cel {

namespace {

nlohmann::ordered_json typed(std::string_view type, nlohmann::ordered_json value) {
  nlohmann::ordered_json out;
  out["type"] = type;
  out["value"] = std::move(value);
  return out;
}

nlohmann::ordered_json keyValue(const Value& key, const Value& value) {
  nlohmann::ordered_json entry;
  entry["key"] = toTypedJson(key);
  entry["value"] = toTypedJson(value);
  return entry;
}

}  // namespace

nlohmann::ordered_json toTypedJson(const Value& v) {
  std::string_view type = kindName(v.kind());
  switch (v.kind()) {
    case ValueKind::kNull: return typed(type, nullptr);
    case ValueKind::kBool: return typed(type, v.boolValue());
    case ValueKind::kInt: return typed(type, std::to_string(v.intValue()));
    case ValueKind::kUint: return typed(type, std::to_string(v.uintValue()));
    case ValueKind::kDouble: return typed(type, formatDouble(v.doubleValue()));
    case ValueKind::kString: return typed(type, std::string(v.stringValue()));
    case ValueKind::kBytes: return typed(type, absl::Base64Escape(absl::string_view(v.stringValue().data(), v.stringValue().size())));
    case ValueKind::kDuration: return typed(type, formatDuration(v.durationValue()));
    case ValueKind::kTimestamp: return typed(type, formatTimestamp(v.timestampValue()));
    case ValueKind::kType: return typed(type, std::string(v.typeValue().name()));
    case ValueKind::kList: {
      auto items = nlohmann::ordered_json::array();
      for (const Value& e : v.listValue()) items.push_back(toTypedJson(e));
      return typed(type, std::move(items));
    }
    case ValueKind::kMap: {
      auto entries = nlohmann::ordered_json::array();
      for (const auto& [key, value] : v.mapValue().entries()) entries.push_back(keyValue(key, value));
      return typed(type, std::move(entries));
    }
    case ValueKind::kObject: {
      const ObjectValue& object = v.objectValue();
      const auto& fields = object.objectType().fields();
      auto entries = nlohmann::ordered_json::array();
      for (size_t i = 0; i < fields.size(); ++i) {
        int field = static_cast<int>(i);
        if (object.has(field)) entries.push_back(keyValue(Value::stringView(fields[i].name), object.get(field)));
      }
      return typed(object.objectType().name(), std::move(entries));
    }
    case ValueKind::kError: return nlohmann::ordered_json{{"error", v.errorMessage()}};
  }
  return nullptr;
}

Result<Value> fromJson(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::null();
    case nlohmann::json::value_t::boolean: return Value::ofBool(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::ofInt(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Status(ErrorCode::kInvalidArgument, "integer " + std::to_string(u) + " is out of the range of int");
      }
      return Value::ofInt(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::ofDouble(j.get<double>());
    case nlohmann::json::value_t::string: return Value::ownedString(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (const auto& e : j) {
        SP_ASSIGN_OR_RETURN(Value item, fromJson(e));
        items.push_back(std::move(item));
      }
      return Value::ofList(std::make_shared<ListValue>(std::move(items)));
    }
    case nlohmann::json::value_t::object: {
      std::vector<MapValue::Entry> entries;
      for (const auto& [key, value] : j.items()) {
        SP_ASSIGN_OR_RETURN(Value v, fromJson(value));
        entries.emplace_back(Value::ownedString(key), std::move(v));
      }
      return MapValue::make(std::move(entries));  // JSON keys are distinct strings: never an error
    }
    default: return Status(ErrorCode::kInvalidArgument, "unsupported JSON value");
  }
}

}  // namespace storepulse::cel
