// The golden rule sets (tests/rules/golden/<set>/, each a self-contained
// rule file with its tests) and the shipped rules (config/rules), run as
// `storepulse rules test DIR` runs them: one test per directory. A failing
// rule test prints its file and line, its name, every problem and what fired.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ostream>
#include <filesystem>
#include <string>
#include <vector>

#include "rules/runtime/rule_tests.h"
#include "rules/ruleset/ruleset.h"
#include "tests/engine/fakes/test_environment.h"

namespace storepulse::rules {
namespace {

namespace fs = std::filesystem;

struct RuleDir {
  std::string name;  // the test's name
  fs::path path;
};
// What gtest prints for a parameter, instead of its bytes.
void PrintTo(const RuleDir& dir, std::ostream* os) { *os << dir.path.string(); }

// Every directory under tests/rules/golden, in name order, then config/rules.
std::vector<RuleDir> ruleDirs() {
  std::vector<RuleDir> dirs;
  const fs::path golden = fs::path(SP_SOURCE_DIR) / "tests/rules/golden";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(golden, ec)) {
    if (entry.is_directory()) dirs.push_back({entry.path().filename().string(), entry.path()});
  }
  std::sort(dirs.begin(), dirs.end(), [](const RuleDir& a, const RuleDir& b) { return a.name < b.name; });
  dirs.push_back({"shipped_config_rules", fs::path(SP_SOURCE_DIR) / "config/rules"});
  return dirs;
}

std::string testName(const ::testing::TestParamInfo<RuleDir>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class GoldenRulesTest : public ::testing::TestWithParam<RuleDir> {};

TEST_P(GoldenRulesTest, EveryRuleTestPasses) {
  const RuleDir& dir = GetParam();
  const LoadResult loaded = loadRuleDirectory(dir.path.string(), RuleFileOptions{});
  std::string diagnostics;
  for (const Diagnostic& d : loaded.diagnostics) diagnostics += "  " + d.toString() + "\n";
  ASSERT_TRUE(loaded.ok()) << dir.path << " does not load:\n" << diagnostics;

  const std::vector<RuleTestResult> results = runRuleTests(loaded.rules, ReplayOptions{});
  ASSERT_FALSE(results.empty()) << dir.path << " has no tests";
  for (const RuleTestResult& r : results) {
    if (r.passed()) continue;
    std::string report = fmt::format("{}:{}: rule test '{}' failed:\n", r.test->where.file, r.test->where.line,
                                     r.test->name);
    for (const std::string& p : r.problems) report += "    " + p + "\n";
    report += "  what fired:\n";
    for (const Firing& f : r.firings) report += "    " + describe(f) + "\n";
    if (r.firings.empty()) report += "    (nothing)\n";
    ADD_FAILURE() << report;
  }
}

INSTANTIATE_TEST_SUITE_P(Dirs, GoldenRulesTest, ::testing::ValuesIn(ruleDirs()), testName);

// The sets the golden tests are meant to cover are all there: a set that
// vanished (renamed, deleted) would otherwise just stop being tested.
TEST(GoldenRuleSets, AllSetsArePresent) {
  std::vector<std::string> names;
  for (const RuleDir& d : ruleDirs()) names.push_back(d.name);
  for (const char* expected :
       {"absences", "actions", "aggregates", "calendar", "cooldowns", "lateness", "quiet_hours", "scheduled", "sequences",
        "windows", "shipped_config_rules"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << "missing golden set " << expected;
  }
}

}  // namespace
}  // namespace storepulse::rules
