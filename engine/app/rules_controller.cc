#include "engine/app/rules_controller.h"

#include <fmt/format.h>

#include <filesystem>

#include "engine/core/log.h"
#include "engine/core/time.h"
#include "rules/cel/time_values.h"

namespace storepulse::app {
namespace {

std::string joined(const std::vector<rules::Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += (out.empty() ? "" : "\n") + d.toString();
  return out;
}

}  // namespace

Result<std::unique_ptr<RulesController>> RulesController::load(const RulesConfig& config, Metrics& metrics) {
  auto controller = std::unique_ptr<RulesController>(new RulesController(config, metrics));
  SP_ASSIGN_OR_RETURN(controller->file_options_.default_zone, cel::loadTimeZone(config.timezone));
  controller->file_options_.default_lateness_ms = config.default_lateness.count();
  controller->fingerprint_ = controller->directoryFingerprint();
  rules::LoadResult loaded = rules::loadRuleDirectory(config.dir, controller->file_options_);
  if (!loaded.ok()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("rules in {} do not load:\n{}", config.dir, joined(loaded.diagnostics)));
  }
  controller->current_ = loaded.rules;
  controller->loaded_at_ms_ = wallClockMillis();
  log::info("rules loaded", {{"dir", config.dir},
                             {"version", loaded.rules->version},
                             {"rules", std::to_string(loaded.rules->rules.size())}});
  return controller;
}

RulesController::~RulesController() { stopWatching(); }

std::shared_ptr<const rules::CompiledRuleSet> RulesController::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void RulesController::attach(rules::RuleEngine& engine) {
  std::lock_guard lock(mutex_);
  engines_.push_back(&engine);
}

Status RulesController::reload(const std::string& trigger) {
  std::lock_guard one_at_a_time(reload_mutex_);
  rules::LoadResult loaded = rules::loadRuleDirectory(config_.dir, file_options_);
  std::lock_guard lock(mutex_);
  last_trigger_ = trigger;
  last_reload_at_ms_ = wallClockMillis();
  last_errors_.clear();
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) last_errors_.push_back(d.toString());
    metrics_.rule_reloads.Add({{"outcome", "error"}}).Increment();
    log::error("rules not reloaded: the new set has errors; the running set stays",
               {{"dir", config_.dir}, {"trigger", trigger}, {"errors", joined(loaded.diagnostics)}});
    return Status(ErrorCode::kInvalidArgument, joined(loaded.diagnostics));
  }
  current_ = loaded.rules;
  loaded_at_ms_ = last_reload_at_ms_;
  for (rules::RuleEngine* engine : engines_) engine->replaceRules(current_);
  metrics_.rule_reloads.Add({{"outcome", "ok"}}).Increment();
  log::info("rules reloaded", {{"dir", config_.dir}, {"trigger", trigger}, {"version", current_->version}});
  return Status::ok();
}

// Names, sizes and modification times of the rule files: a change to any
// (an editor's save, a new file, a removed one) changes it.
std::string RulesController::directoryFingerprint() const {
  std::error_code ec;
  std::vector<std::string> parts;
  for (const auto& entry : std::filesystem::directory_iterator(config_.dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".yaml" && ext != ".yml") continue;
    std::error_code stat_ec;
    const auto size = entry.file_size(stat_ec);
    const auto mtime = entry.last_write_time(stat_ec).time_since_epoch().count();
    parts.push_back(fmt::format("{}:{}:{}", entry.path().filename().string(), size, mtime));
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + "\n";
  return out;
}

void RulesController::startWatching() {
  if (config_.reload_check.count() == 0) return;
  {
    std::lock_guard lock(watch_mutex_);
    watching_ = true;
  }
  watcher_ = std::thread([this] { watch(); });
}

void RulesController::stopWatching() {
  {
    std::lock_guard lock(watch_mutex_);
    watching_ = false;
  }
  watch_wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void RulesController::watch() {
  std::unique_lock lock(watch_mutex_);
  while (watching_) {
    watch_wake_.wait_for(lock, config_.reload_check, [this] { return !watching_; });
    if (!watching_) break;
    const std::string now = directoryFingerprint();
    if (now == fingerprint_) continue;
    fingerprint_ = now;
    lock.unlock();
    (void)reload("file change");  // logged and counted inside
    lock.lock();
  }
}

nlohmann::json RulesController::describe() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, rules::RuleCounters> counts;
  for (const rules::RuleEngine* engine : engines_) {
    for (const auto& [id, c] : engine->counters()) {
      auto& total = counts[id];
      total.evaluations += c.evaluations;
      total.fires += c.fires;
      total.errors += c.errors;
      total.held += c.held;
      total.waiting += c.waiting;
    }
  }
  nlohmann::json list = nlohmann::json::array();
  for (const rules::CompiledRule& rule : current_->compiled) {
    const rules::RuleSpec& spec = *rule.spec;
    const rules::RuleCounters c = counts.count(spec.id) ? counts.at(spec.id) : rules::RuleCounters{};
    nlohmann::json on = nlohmann::json::array();
    for (EventType t : spec.on) on.push_back(eventTypeName(t));
    list.push_back({{"id", spec.id},
                    {"description", spec.description},
                    {"file", spec.where.file},
                    {"on", on},
                    {"scheduled", spec.schedule.has_value()},
                    {"priority", spec.priority},
                    {"enabled", spec.enabled},
                    {"mode", spec.mode == rules::RuleMode::kShadow ? "shadow" : "live"},
                    {"evaluations", c.evaluations},
                    {"fires", c.fires},
                    {"errors", c.errors},
                    {"held", c.held},
                    {"waiting", c.waiting}});
  }
  nlohmann::json body = {{"dir", config_.dir},
                         {"version", current_->version},
                         {"loaded_at", formatRfc3339Millis(loaded_at_ms_)},
                         {"rules", list}};
  if (last_reload_at_ms_ != 0) {
    body["last_reload"] = {{"at", formatRfc3339Millis(last_reload_at_ms_)},
                           {"trigger", last_trigger_},
                           {"outcome", last_errors_.empty() ? "ok" : "error"},
                           {"errors", last_errors_}};
  }
  return body;
}

}  // namespace storepulse::app
