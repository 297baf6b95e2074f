// The published JSON Schema for rule files (rules/schema/
// storepulse-rules.schema.json), which editors use to complete and check
// rule files, must accept exactly the keys the parser accepts: each mapping's
// property names equal rules::ruleFileKeys(), and the enums of event types
// and event fields equal engine/event's tables. A key added to the parser
// and not to the schema (or the other way round) fails here.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "engine/core/time.h"
#include "engine/event/event_fields.h"
#include "rules/ruleset/rule_file.h"

#ifndef SP_RULES_SCHEMA
#ifndef SP_RULES_TESTDATA
#error "SP_RULES_SCHEMA or SP_RULES_TESTDATA must be defined"
#endif
#define SP_RULES_SCHEMA SP_RULES_TESTDATA "/../../../rules/schema/storepulse-rules.schema.json"
#endif

namespace storepulse::rules {
namespace {

using nlohmann::json;

const json& schema() {
  static const json loaded = [] {
    std::ifstream in(SP_RULES_SCHEMA);
    if (!in) {
      ADD_FAILURE() << "cannot read " << SP_RULES_SCHEMA;
      return json::object();
    }
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return loaded;
}

// The schema object describing one mapping of a rule file.
struct Mapping {
  std::string name;
  const json* node;
  std::vector<std::string_view> keys;
};

std::vector<Mapping> mappings() {
  const json& s = schema();
  const RuleFileKeys& k = ruleFileKeys();
  auto def = [&](const char* name) -> const json* {
    if (!s.contains("$defs") || !s["$defs"].contains(name)) return nullptr;
    return &s["$defs"][name];
  };
  return {
      {"file", &s, k.file},         {"aggregate", def("aggregate"), k.aggregate}, {"rule", def("rule"), k.rule},
      {"linked", def("linked"), k.linked},
      {"cooldown", def("cooldown"), k.cooldown}, {"alert", def("alert"), k.alert},   {"block", def("block"), k.block},
      {"tag", def("tag"), k.tag},   {"emit", def("emit"), k.emit},                {"test", def("test"), k.test},
  };
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> propertyNames(const json& node) {
  std::vector<std::string> names;
  if (node.contains("properties")) {
    for (const auto& [key, value] : node["properties"].items()) names.push_back(key);
  }
  return names;
}

// The definition a "$ref": "#/$defs/NAME" points at, or null.
const json* resolve(const json& node) {
  if (!node.contains("$ref")) return nullptr;
  const std::string ref = node["$ref"].get<std::string>();
  const std::string prefix = "#/$defs/";
  if (ref.rfind(prefix, 0) != 0) return nullptr;
  const std::string name = ref.substr(prefix.size());
  if (!schema()["$defs"].contains(name)) return nullptr;
  return &schema()["$defs"][name];
}

TEST(RuleFileSchemaTest, IsDraft202012) {
  ASSERT_TRUE(schema().is_object()) << SP_RULES_SCHEMA << " is not a JSON object";
  EXPECT_EQ(schema().value("$schema", ""), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema().value("type", ""), "object");
}

TEST(RuleFileSchemaTest, EachMappingHasExactlyTheParsersKeys) {
  for (const Mapping& m : mappings()) {
    ASSERT_NE(m.node, nullptr) << "the schema has no $defs/" << m.name;
    const std::vector<std::string> expected = sorted(std::vector<std::string>(m.keys.begin(), m.keys.end()));
    EXPECT_EQ(sorted(propertyNames(*m.node)), expected)
        << "the schema's keys for " << m.name << " differ from rules::ruleFileKeys()." << m.name;
  }
}

TEST(RuleFileSchemaTest, EachMappingRejectsUnknownKeysAsTheParserDoes) {
  for (const Mapping& m : mappings()) {
    ASSERT_NE(m.node, nullptr) << m.name;
    EXPECT_EQ(m.node->value("additionalProperties", json(true)), json(false)) << m.name;
  }
}

TEST(RuleFileSchemaTest, EveryKeyIsDescribed) {
  for (const Mapping& m : mappings()) {
    ASSERT_NE(m.node, nullptr) << m.name;
    EXPECT_TRUE(m.node->contains("description")) << m.name;
    for (const auto& [key, property] : (*m.node)["properties"].items()) {
      const json* target = resolve(property);
      const bool described = property.contains("description") || (target && target->contains("description"));
      EXPECT_TRUE(described) << m.name << "." << key << " has no description";
    }
  }
}

TEST(RuleFileSchemaTest, EventTypesAreTheEngines) {
  std::vector<std::string> types;
  for (EventType t : kAllEventTypes) types.emplace_back(eventTypeName(t));
  ASSERT_TRUE(schema()["$defs"].contains("eventType"));
  EXPECT_EQ(schema()["$defs"]["eventType"]["enum"].get<std::vector<std::string>>(), types);
}

TEST(RuleFileSchemaTest, MeasuredFieldsAreTheEngines) {
  // sum/min/max/avg take a number field, distinct_count a text or number
  // field, as rule_file.cc checks against engine/event/event_fields.h.
  std::vector<std::string> numbers, distinct;
  for (EventType t : kAllEventTypes) {
    for (const EventField& f : eventFields(t)) {
      const std::string name = std::string(eventTypeName(t)) + "." + std::string(f.name);
      const bool numeric = f.kind == FieldKind::kInt || f.kind == FieldKind::kDouble;
      if (numeric) numbers.push_back(name);
      if (numeric || f.kind == FieldKind::kString) distinct.push_back(name);
    }
  }
  EXPECT_EQ(sorted(schema()["$defs"]["numberField"]["enum"].get<std::vector<std::string>>()), sorted(numbers));
  EXPECT_EQ(sorted(schema()["$defs"]["distinctField"]["enum"].get<std::vector<std::string>>()), sorted(distinct));
}

TEST(RuleFileSchemaTest, DurationPatternAgreesWithTheParser) {
  const std::regex pattern(schema()["$defs"]["duration"]["pattern"].get<std::string>(), std::regex::ECMAScript);
  // Zero durations ("0s") match the pattern but the parser rejects them: a
  // pattern cannot say "not all zero" readably.
  for (const std::string good : {"10m", "90s", "1h", "7d", "1ms", "1h30m", "2d12h", "500ms", "36h"}) {
    EXPECT_TRUE(parseDurationMillis(good).has_value()) << good;
    EXPECT_TRUE(std::regex_search(good, pattern)) << good;
  }
  for (const std::string bad : {"", "10", "m", "10 minutes", "1 hour", "2w", "1y", "hourly", "5mins", "1.5h", "-1h",
                                "1h 30m", "10M"}) {
    EXPECT_FALSE(parseDurationMillis(bad).has_value()) << bad;
    EXPECT_FALSE(std::regex_search(bad, pattern)) << bad;
  }
}

}  // namespace
}  // namespace storepulse::rules
