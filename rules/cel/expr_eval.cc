#include "rules/cel/expr_eval.h"

#include <nlohmann/json.hpp>

#include "rules/cel/json.h"
#include "rules/cel/program.h"

namespace storepulse::cel {

namespace {

std::string line(const nlohmann::ordered_json& j) {
  // Strings are valid UTF-8 by construction; replace guards the output anyway.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string errorLine(std::string_view message) { return line(nlohmann::ordered_json{{"error", message}}); }

}  // namespace

std::string evalToJsonLine(std::string_view expr, std::string_view vars_json) {
  nlohmann::json vars = nlohmann::json::object();
  if (!vars_json.empty()) {
    try {
      vars = nlohmann::json::parse(vars_json);
    } catch (const nlohmann::json::parse_error& e) {
      return errorLine(std::string("--vars: invalid JSON: ") + e.what());
    }
    if (!vars.is_object()) return errorLine("--vars: expected a JSON object of variables");
  }

  Env env;
  for (const auto& [name, value] : vars.items()) {
    if (auto slot = env.declareVariable(name, Type::dyn()); !slot) return errorLine("--vars: " + slot.status().message());
  }
  Activation activation(env);
  for (const auto& [name, json] : vars.items()) {
    auto value = fromJson(json);
    if (!value) return errorLine("--vars: " + name + ": " + value.status().message());
    Status bound = activation.set(name, std::move(value).value());
    if (!bound) return errorLine("--vars: " + bound.message());
  }

  CompileResult compiled = Program::compile(expr, env);
  if (!compiled.ok()) return errorLine(compiled.status().message());
  Result<Value> result = compiled.program->evaluate(activation);
  if (!result) return errorLine(result.status().message());
  return line(toTypedJson(*result));
}

}  // namespace storepulse::cel
