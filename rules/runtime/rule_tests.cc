#include "rules/runtime/rule_tests.h"

#include <fmt/format.h>

#include <optional>

namespace storepulse::rules {
namespace {

// Tests match firings, not output.
class DiscardOutput final : public OutputSink {
 public:
  void send(std::string_view, std::string_view, std::string_view) override {}
  Status flush(std::chrono::milliseconds) override { return Status::ok(); }
};

// The fields an `expect:` entry gives must all equal the firing's.
std::optional<std::string> mismatch(const std::map<std::string, std::string>& expected, const Firing& got) {
  for (const auto& [key, value] : expected) {
    std::string actual;
    if (key == "rule") {
      actual = got.rule;
    } else if (key == "action") {
      actual = got.action;
    } else if (key == "shadow") {
      actual = got.shadow ? "true" : "false";
    } else if (auto it = got.fields.find(key); it != got.fields.end()) {
      actual = it->second;
    } else {
      return fmt::format("{} is not a field of a {} firing", key, got.action);
    }
    if (actual != value) return fmt::format("{}: expected '{}', got '{}'", key, value, actual);
  }
  return std::nullopt;
}

}  // namespace

std::string describe(const Firing& f) {
  std::string out = fmt::format("{{rule: {}, action: {}", f.rule, f.action);
  for (const char* key : {"customer_id", "store_id", "sku", "event_ts", "title", "value"}) {
    if (auto it = f.fields.find(key); it != f.fields.end() && !it->second.empty()) {
      out += fmt::format(", {}: {}", key, it->second);
    }
  }
  return out + (f.shadow ? ", shadow: true}" : "}");
}

std::vector<RuleTestResult> runRuleTests(const std::shared_ptr<const CompiledRuleSet>& rules,
                                         const ReplayOptions& options) {
  std::vector<RuleTestResult> results;
  for (const RuleFile& file : rules->files) {
    for (const RuleTestCase& test : file.tests) {
      RuleTestResult r;
      r.file = &file;
      r.test = &test;
      DiscardOutput discard;
      Replay replay(rules, discard, options);
      for (const std::string& event : test.given) replay.add(event);
      const Status ran = replay.run(test.run_until_ms, [&](const Firing& f) { r.firings.push_back(f); });
      if (!ran.isOk()) r.problems.push_back("the replay failed: " + ran.toString());
      for (const auto& [reason, n] : replay.summary().dead_letters_by_reason) {
        r.problems.push_back(fmt::format("{} given event(s) were dead-lettered ({})", n, reason));
      }
      for (size_t i = 0; i < std::max(test.expect.size(), r.firings.size()); ++i) {
        if (i >= r.firings.size()) {
          r.problems.push_back(fmt::format("expected firing #{} ({}) did not happen", i + 1, test.expect[i].at("rule")));
        } else if (i >= test.expect.size()) {
          r.problems.push_back(fmt::format("unexpected firing #{}: {}", i + 1, describe(r.firings[i])));
        } else if (auto why = mismatch(test.expect[i], r.firings[i])) {
          r.problems.push_back(fmt::format("firing #{} {}: {}", i + 1, describe(r.firings[i]), *why));
        }
      }
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace storepulse::rules
