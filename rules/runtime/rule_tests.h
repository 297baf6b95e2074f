#pragma once
// The `tests:` blocks of rule files, run as `storepulse rules test` runs
// them: each test's events through a fresh Replay, its firings matched in
// order against the `expect:` entries.

#include <string>
#include <vector>

#include "rules/runtime/replay.h"

namespace storepulse::rules {

struct RuleTestResult {
  const RuleFile* file = nullptr;
  const RuleTestCase* test = nullptr;
  std::vector<std::string> problems;  // empty: passed
  std::vector<Firing> firings;        // what happened, for reports
  bool passed() const { return problems.empty(); }
};

// Runs every test of every file of `rules`, in file order.
std::vector<RuleTestResult> runRuleTests(const std::shared_ptr<const CompiledRuleSet>& rules,
                                         const ReplayOptions& options);

// "{rule: high-value-lead, action: alert, customer_id: c1, ...}"
std::string describe(const Firing& firing);

}  // namespace storepulse::rules
