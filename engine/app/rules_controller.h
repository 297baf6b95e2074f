#pragma once
// The live engine's rule set: loaded at start (an instance with broken rules
// does not start), reloaded on a changed file, SIGHUP or POST
// /v1/rules/reload. A reload is atomic: every rule engine swaps to the new
// set between two events; a set with any error never replaces a working one
// — the error is logged, counted and shown at GET /v1/rules.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/config/config.h"
#include "engine/metrics/metrics.h"
#include "rules/runtime/rule_engine.h"

namespace storepulse::app {

class RulesController {
 public:
  // Loads `config.dir`; an error names every problem (file:line:col).
  static Result<std::unique_ptr<RulesController>> load(const RulesConfig& config, Metrics& metrics);
  ~RulesController();

  std::shared_ptr<const rules::CompiledRuleSet> current() const;
  rules::RuleFileOptions fileOptions() const { return file_options_; }
  // Engines to keep on the current set; they must outlive the controller's
  // watching (stopWatching) or the controller.
  void attach(rules::RuleEngine& engine);
  // Checks the directory for changes every config.reload_check (if not 0).
  void startWatching();
  void stopWatching();

  // Loads the directory again; on success every attached engine switches.
  // Returns the diagnostics when the new set is broken (the old one stays).
  Status reload(const std::string& trigger);
  // What GET /v1/rules shows: the loaded set with per-rule counts, and the
  // last reload's outcome.
  nlohmann::json describe() const;

 private:
  RulesController(RulesConfig config, Metrics& metrics) : config_(std::move(config)), metrics_(metrics) {}
  std::string directoryFingerprint() const;
  void watch();

  RulesConfig config_;
  Metrics& metrics_;
  rules::RuleFileOptions file_options_;

  mutable std::mutex mutex_;
  std::shared_ptr<const rules::CompiledRuleSet> current_;
  std::vector<rules::RuleEngine*> engines_;
  int64_t loaded_at_ms_ = 0;
  std::string last_trigger_;
  int64_t last_reload_at_ms_ = 0;
  std::vector<std::string> last_errors_;  // of the last reload; empty when it succeeded
  std::mutex reload_mutex_;               // one reload at a time

  std::thread watcher_;
  std::mutex watch_mutex_;
  std::condition_variable watch_wake_;
  bool watching_ = false;
  std::string fingerprint_;
};

}  // namespace storepulse::app
