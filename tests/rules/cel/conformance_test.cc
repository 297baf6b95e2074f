// The CEL conformance table: every case of tests/rules/cel/conformance/*.yaml
// runs through storepulse::cel::evalToJsonLine, the code path of
// `storepulse expr eval EXPR --vars JSON` (SPEC.md "Interfaces").
//
// The YAML files are grouped like the CEL language definition's own
// conformance tests (google/cel-spec tests/simple/testdata/*.textproto); the
// format is described at the top of conformance/basic.yaml. Each case becomes
// one test named Section_CaseName. A malformed file does not silently drop
// cases: CelConformanceCorpus.IsWellFormed fails, naming file and line.

#include "rules/cel/expr_eval.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#ifndef SP_CEL_CONFORMANCE_DIR
#error "SP_CEL_CONFORMANCE_DIR must name the directory of the conformance YAML files"
#endif

namespace storepulse::cel {
namespace {

using nlohmann::json;

constexpr std::size_t kMinimumCases = 400;

struct Case {
  std::string file;     // e.g. "integer_math.yaml"
  int line = 0;         // 1-based line of the case in the file
  std::string section;  // the file's `section:`
  std::string name;     // the case's `name:`
  std::string expr;
  std::string vars_json;  // "" when the case has no variables
  std::optional<json> expected_value;       // the typed JSON of `value:`
  std::vector<std::string> error_phrases;   // `error:`, any one must match
  std::string test_name;                    // Section_CaseName, sanitised
};

struct Corpus {
  std::vector<Case> cases;
  std::vector<std::string> problems;  // "file:line: reason"
  std::vector<std::string> files;
};

// A problem in a corpus file, reported with its position.
struct CorpusError {
  int line;
  std::string reason;
};

[[noreturn]] void fail(const YAML::Node& node, const std::string& reason) {
  throw CorpusError{node.Mark().line + 1, reason};
}

std::string sanitise(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return out;
}

std::string scalarOf(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) fail(node, what + " must be a scalar");
  return node.Scalar();
}

// The types of SPEC.md's typed JSON ({"type": T, "value": V}).
const std::set<std::string>& knownTypes() {
  static const std::set<std::string> types = {
      "int",  "uint", "double", "string",   "bool",      "bytes",
      "null", "list", "map",    "duration", "timestamp", "type"};
  return types;
}

// `{type: T, value: V}` in YAML -> the JSON evalToJsonLine must print.
// Scalars of int, uint, double, string, bytes, duration, timestamp and type
// are taken as their text (so `value: 42` and `value: "42"` both mean "42");
// bool is true/false; null has no value; list is a sequence of typed values;
// map a sequence of {key: typed, value: typed}.
json typedValue(const YAML::Node& node) {
  if (!node.IsMap()) fail(node, "a typed value must be a mapping {type: T, value: V}");
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (key != "type" && key != "value") {
      fail(entry.first, "unknown key '" + key + "' in a typed value (only type and value)");
    }
  }
  if (!node["type"]) fail(node, "a typed value needs `type:`");
  const std::string type = scalarOf(node["type"], "type");
  if (!knownTypes().count(type)) fail(node["type"], "unknown type '" + type + "'");
  const YAML::Node v = node["value"];
  if (type == "null") {
    if (v && !v.IsNull()) fail(v, "a null value has no `value:` (or value: null)");
    return json{{"type", "null"}, {"value", nullptr}};
  }
  if (!v) fail(node, "a typed value of type " + type + " needs `value:`");
  if (type == "bool") {
    const std::string s = scalarOf(v, "a bool value");
    if (s != "true" && s != "false") fail(v, "a bool value is true or false");
    return json{{"type", "bool"}, {"value", s == "true"}};
  }
  if (type == "list") {
    if (!v.IsSequence()) fail(v, "a list value is a sequence of typed values");
    json items = json::array();
    for (const auto& item : v) items.push_back(typedValue(item));
    return json{{"type", "list"}, {"value", items}};
  }
  if (type == "map") {
    if (!v.IsSequence()) fail(v, "a map value is a sequence of {key: typed, value: typed}");
    json entries = json::array();
    for (const auto& entry : v) {
      if (!entry.IsMap() || !entry["key"] || !entry["value"] || entry.size() != 2) {
        fail(entry, "a map entry is {key: typed, value: typed}");
      }
      entries.push_back(json{{"key", typedValue(entry["key"])},
                             {"value", typedValue(entry["value"])}});
    }
    return json{{"type", "map"}, {"value", entries}};
  }
  if (v.IsNull() && v.Tag() != "!") {
    fail(v, "the value of type " + type + " is empty; quote an empty string: value: \"\"");
  }
  return json{{"type", type}, {"value", scalarOf(v, "a " + type + " value")}};
}

// `vars:` in YAML -> the --vars JSON. Plain scalars that look like integers
// become JSON integers (bound as int), other numbers JSON doubles (bound as
// double), true/false booleans, null/~ null; quoted scalars are strings.
json plainJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(plainJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& entry : node) {
        out[scalarOf(entry.first, "a variable or map key")] = plainJson(entry.second);
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted: always a string
      if (s == "true") return true;
      if (s == "false") return false;
      if (s == "null" || s == "~") return nullptr;
      // A plain scalar that JSON reads as a number is that number.
      json number = json::parse(s, nullptr, /*allow_exceptions=*/false);
      if (number.is_number()) return number;
      return s;
    }
    default:
      fail(node, "unsupported YAML node in vars");
  }
}

void loadFile(const std::filesystem::path& path, Corpus& corpus) {
  const std::string file = path.filename().string();
  corpus.files.push_back(file);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    corpus.problems.push_back(file + ":" + std::to_string(e.mark.line + 1) +
                              ": not valid YAML: " + e.msg);
    return;
  } catch (const YAML::Exception& e) {
    corpus.problems.push_back(file + ": cannot be read: " + e.what());
    return;
  }
  try {
    if (!root.IsMap()) fail(root, "the file must be a mapping with `section:` and `cases:`");
    for (const auto& entry : root) {
      const std::string key = entry.first.Scalar();
      if (key != "section" && key != "cases") {
        fail(entry.first, "unknown top-level key '" + key + "' (only section and cases)");
      }
    }
    if (!root["section"]) fail(root, "missing `section:`");
    const std::string section = scalarOf(root["section"], "section");
    if (section.empty()) fail(root["section"], "`section:` is empty");
    if (!root["cases"] || !root["cases"].IsSequence() || root["cases"].size() == 0) {
      fail(root, "missing or empty `cases:` (a sequence of cases)");
    }
    std::map<std::string, int> names;  // name -> line
    for (const auto& node : root["cases"]) {
      try {
        if (!node.IsMap()) fail(node, "a case must be a mapping");
        for (const auto& entry : node) {
          const std::string key = entry.first.Scalar();
          static const std::set<std::string> allowed = {"name", "expr", "vars", "vars_json",
                                                        "value", "error"};
          if (!allowed.count(key)) fail(entry.first, "unknown key '" + key + "' in a case");
        }
        Case c;
        c.file = file;
        c.line = node.Mark().line + 1;
        c.section = section;
        if (!node["name"]) fail(node, "a case needs `name:`");
        c.name = scalarOf(node["name"], "name");
        if (c.name.empty()) fail(node["name"], "`name:` is empty");
        if (auto [it, inserted] = names.emplace(c.name, c.line); !inserted) {
          fail(node["name"], "duplicate case name '" + c.name + "' (first at line " +
                                 std::to_string(it->second) + ")");
        }
        if (!node["expr"]) fail(node, "case '" + c.name + "' needs `expr:`");
        c.expr = scalarOf(node["expr"], "expr");
        if (node["vars"] && node["vars_json"]) fail(node, "use either vars or vars_json, not both");
        if (node["vars"]) {
          if (!node["vars"].IsMap()) fail(node["vars"], "`vars:` is a mapping of variables");
          c.vars_json = plainJson(node["vars"]).dump();
        }
        if (node["vars_json"]) {
          // Verbatim, so that a case can feed text that is not JSON.
          c.vars_json = scalarOf(node["vars_json"], "vars_json");
        }
        if (!!node["value"] == !!node["error"]) {
          fail(node, "case '" + c.name + "' needs exactly one of `value:` and `error:`");
        }
        if (node["value"]) c.expected_value = typedValue(node["value"]);
        if (node["error"]) {
          const YAML::Node e = node["error"];
          if (e.IsSequence()) {
            for (const auto& phrase : e) c.error_phrases.push_back(scalarOf(phrase, "error phrase"));
          } else {
            c.error_phrases.push_back(scalarOf(e, "error"));
          }
          if (c.error_phrases.empty() ||
              std::any_of(c.error_phrases.begin(), c.error_phrases.end(),
                          [](const std::string& p) { return p.empty(); })) {
            fail(e, "`error:` needs a non-empty phrase (or a list of them)");
          }
        }
        c.test_name = sanitise(section) + "_" + sanitise(c.name);
        corpus.cases.push_back(std::move(c));
      } catch (const CorpusError& e) {
        corpus.problems.push_back(file + ":" + std::to_string(e.line) + ": " + e.reason);
      }
    }
  } catch (const CorpusError& e) {
    corpus.problems.push_back(file + ":" + std::to_string(e.line) + ": " + e.reason);
  }
}

Corpus loadCorpus() {
  Corpus corpus;
  const std::filesystem::path dir(SP_CEL_CONFORMANCE_DIR);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    corpus.problems.push_back(dir.string() + ": the conformance directory does not exist");
    return corpus;
  }
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) loadFile(path, corpus);

  // Test names must be unique across files (gtest needs it, and a reader
  // looking for a failing case needs it).
  std::map<std::string, std::string> seen;  // test name -> file:line
  for (const auto& c : corpus.cases) {
    const std::string where = c.file + ":" + std::to_string(c.line);
    if (auto [it, inserted] = seen.emplace(c.test_name, where); !inserted) {
      corpus.problems.push_back(where + ": test name " + c.test_name + " is also used at " +
                                it->second);
    }
  }
  // gtest aborts on a repeated name; keep every case runnable and let
  // IsWellFormed report the clash.
  std::map<std::string, int> count;
  for (auto& c : corpus.cases) {
    if (int n = count[c.test_name]++; n > 0) c.test_name += "_" + std::to_string(n + 1);
  }
  return corpus;
}

const Corpus& corpus() {
  static const Corpus* loaded = new Corpus(loadCorpus());
  return *loaded;
}

std::string toLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string describe(const Case& c) {
  std::ostringstream out;
  out << "  case:     " << c.file << ":" << c.line << " (" << c.section << " / " << c.name << ")\n"
      << "  expr:     " << c.expr << "\n"
      << "  vars:     " << (c.vars_json.empty() ? "(none)" : c.vars_json) << "\n";
  return out.str();
}

TEST(CelConformanceCorpus, IsWellFormed) {
  const Corpus& loaded = corpus();
  std::ostringstream problems;
  for (const auto& p : loaded.problems) problems << "\n  " << p;
  EXPECT_TRUE(loaded.problems.empty())
      << "malformed conformance corpus in " << SP_CEL_CONFORMANCE_DIR << ":" << problems.str();
  EXPECT_FALSE(loaded.files.empty()) << "no *.yaml in " << SP_CEL_CONFORMANCE_DIR;
  EXPECT_GE(loaded.cases.size(), kMinimumCases)
      << "the conformance table should keep at least " << kMinimumCases << " cases";
}

// Printed by gtest for a failing parameter instead of its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.file << ":" << c.line << " " << c.expr; }

class CelConformance : public ::testing::TestWithParam<Case> {};

TEST_P(CelConformance, Evaluates) {
  const Case& c = GetParam();
  const std::string line = evalToJsonLine(c.expr, c.vars_json);
  const json actual = json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(actual.is_discarded()) << "evalToJsonLine printed a line that is not JSON\n"
                                      << describe(c) << "  actual:   " << line;
  if (c.expected_value) {
    EXPECT_TRUE(actual == *c.expected_value) << "wrong result\n"
                                         << describe(c)
                                         << "  expected: " << c.expected_value->dump() << "\n"
                                         << "  actual:   " << line;
    return;
  }
  std::string phrases;
  for (const auto& p : c.error_phrases) phrases += (phrases.empty() ? "\"" : " or \"") + p + "\"";
  const bool is_error = actual.is_object() && actual.size() == 1 && actual.contains("error") &&
                        actual["error"].is_string();
  ASSERT_TRUE(is_error) << "expected an error\n"
                        << describe(c) << "  expected: {\"error\": ...} containing " << phrases
                        << "\n  actual:   " << line;
  const std::string message = toLower(actual["error"].get<std::string>());
  const bool matches = std::any_of(c.error_phrases.begin(), c.error_phrases.end(),
                                   [&](const std::string& p) {
                                     return message.find(toLower(p)) != std::string::npos;
                                   });
  EXPECT_TRUE(matches) << "the error does not name the expected problem\n"
                       << describe(c) << "  expected: {\"error\": ...} containing " << phrases
                       << "\n  actual:   " << line;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CelConformance, ::testing::ValuesIn(corpus().cases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.test_name;
                         });

}  // namespace
}  // namespace storepulse::cel
