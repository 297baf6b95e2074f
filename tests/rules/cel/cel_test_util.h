#pragma once
// Helpers shared by the CEL unit tests: evaluate through the `expr eval`
// path and print the result compactly, and a host object type to bind.

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

#include "rules/cel/expr_eval.h"
#include "rules/cel/program.h"

namespace storepulse::cel::testing {

// "int 3", "string abc", "bool true", "list [{...}]", or "error: <message>".
inline std::string result(std::string_view expr, std::string_view vars_json = "") {
  auto j = nlohmann::json::parse(evalToJsonLine(expr, vars_json));
  if (j.contains("error")) return "error: " + j["error"].get<std::string>();
  const auto& v = j["value"];
  return j["type"].get<std::string>() + " " + (v.is_string() ? v.get<std::string>() : v.dump());
}

// The compile diagnostics of `expr`, as "line:column: message" lines.
inline std::vector<std::string> diagnostics(std::string_view expr, const Env& env) {
  std::vector<std::string> out;
  for (const Diagnostic& d : Program::compile(expr, env).diagnostics) out.push_back(d.toString());
  return out;
}

// A shop event as the rule engine would expose it: declared fields read by
// number, and any other field by name (the type is open).
class FakeEvent : public ObjectValue {
 public:
  enum Field { kSku, kAvailable, kPrice, kTags };

  static const ObjectType& declare(Env& env) {
    return **env.declareObjectType("Event",
                                   {{"sku", Type::string()},
                                    {"available", Type::integer()},
                                    {"price", Type::dbl()},
                                    {"tags", Type::list(Type::string())}},
                                   /*open=*/true);
  }

  explicit FakeEvent(const ObjectType& type) : type_(&type) {}

  const ObjectType& objectType() const override { return *type_; }
  bool has(int field) const override { return field != kPrice || price_set; }
  Value get(int field) const override {
    switch (field) {
      case kSku: return Value::stringView(sku);
      case kAvailable: return Value::ofInt(available);
      case kPrice: return price_set ? Value::ofDouble(price) : Value::error("no such field 'price'");
      default: return Value::listView(tags);
    }
  }
  std::optional<Value> findUndeclared(std::string_view name) const override {
    auto it = extra.find(std::string(name));
    if (it == extra.end()) return std::nullopt;
    return Value::stringView(it->second);
  }

  std::string sku = "A-100";
  int64_t available = 3;
  double price = 0;
  bool price_set = false;
  ListValue tags{std::vector<Value>{Value::stringView("new"), Value::stringView("sale")}};
  std::map<std::string, std::string> extra;

 private:
  const ObjectType* type_;
};

}  // namespace storepulse::cel::testing
