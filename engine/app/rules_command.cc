// `storepulse rules check|test DIR` and `storepulse backtest`: marketing's
// tools, on the same loader and the same engine code as `storepulse run`.

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "connectors/importers/gzip_line_reader.h"
#include "engine/app/commands.h"
#include "engine/config/config.h"
#include "engine/core/log.h"
#include "rules/cel/time_values.h"
#include "rules/runtime/replay.h"
#include "rules/runtime/rule_tests.h"
#include "rules/ruleset/ruleset.h"

namespace storepulse::app {
namespace {

// What the tools take from the engine's config so that they judge rules as
// the engine that runs them does: time zone, lateness, alerts topic.
struct ToolSettings {
  absl::TimeZone zone;
  int64_t default_lateness_ms = 0;
  std::string alerts_topic;
};

std::optional<ToolSettings> settings(const std::string& config_path, const std::string& timezone) {
  auto config = config_path.empty() ? defaultConfig() : loadConfig(config_path);
  if (!config.isOk()) {
    std::cerr << "storepulse: " << config.status().message() << "\n";
    return std::nullopt;
  }
  const std::string zone_name = timezone.empty() ? config->rules.timezone : timezone;
  auto zone = cel::loadTimeZone(zone_name);
  if (!zone.isOk()) {
    std::cerr << "storepulse: time zone " << zone_name << ": " << zone.status().message() << "\n";
    return std::nullopt;
  }
  return ToolSettings{*zone, config->rules.default_lateness.count(), config->rules.alerts_topic};
}

// Loads a rules directory, printing every error; null when there is one.
std::shared_ptr<const rules::CompiledRuleSet> load(const std::string& dir, const ToolSettings& tool) {
  // The replays log every partition they assign; the tools' output is theirs.
  log::init("warn", log::Format::kText);
  rules::RuleFileOptions options;
  options.default_zone = tool.zone;
  options.default_lateness_ms = tool.default_lateness_ms;
  rules::LoadResult loaded = rules::loadRuleDirectory(dir, options);
  for (const rules::Diagnostic& d : loaded.diagnostics) std::cerr << d.toString() << "\n";
  if (!loaded.ok()) {
    std::cerr << fmt::format("{}: {} error(s); nothing was loaded\n", dir, loaded.diagnostics.size());
  }
  return loaded.rules;
}

rules::ReplayOptions replayOptions(const ToolSettings& tool) {
  rules::ReplayOptions options;
  options.engine.default_zone = tool.zone;
  options.engine.alerts_topic = tool.alerts_topic;
  return options;
}

// Where a backtest's alerts go: a JSON-lines stream. `emit` records are
// only counted.
class AlertFile final : public OutputSink {
 public:
  AlertFile(std::ostream& out, std::string alerts_topic) : out_(out), alerts_topic_(std::move(alerts_topic)) {}
  void send(std::string_view topic, std::string_view, std::string_view value) override {
    if (topic == alerts_topic_) {
      ++alerts;
      out_ << value << "\n";
    } else {
      ++emitted;
    }
  }
  Status flush(std::chrono::milliseconds) override {
    if (!out_.flush()) return Status(ErrorCode::kIo, "cannot write the alerts file");
    return Status::ok();
  }
  uint64_t alerts = 0;
  uint64_t emitted = 0;

 private:
  std::ostream& out_;
  std::string alerts_topic_;
};

// A progress bar on a terminal, nothing otherwise.
class Progress {
 public:
  Progress() : enabled_(isatty(STDERR_FILENO) != 0) {}
  void operator()(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent == last_) return;
    last_ = percent;
    const int width = 40;
    const int filled = percent * width / 100;
    std::cerr << fmt::format("\r[{}{}] {:3d}%  {} / {} events", std::string(filled, '#'),
                             std::string(width - filled, ' '), percent, done, total)
              << std::flush;
    if (done == total) std::cerr << "\n";
  }

 private:
  bool enabled_;
  int last_ = -1;
};

}  // namespace

int checkRules(const RulesArgs& args) {
  const auto tool = settings(args.config_path, args.timezone);
  if (!tool) return kExitUsage;
  auto set = load(args.dir, *tool);
  if (!set) return kExitFailure;
  size_t tests = 0;
  for (const auto& file : set->files) tests += file.tests.size();
  std::cout << fmt::format("{}: {} file(s), {} aggregate(s), {} rule(s), {} test(s): OK (version {})\n", args.dir,
                           set->files.size(), set->aggregates.size(), set->rules.size(), tests, set->version);
  return kExitOk;
}

int testRules(const RulesArgs& args) {
  const auto tool = settings(args.config_path, args.timezone);
  if (!tool) return kExitUsage;
  auto set = load(args.dir, *tool);
  if (!set) return kExitFailure;
  size_t failed = 0;
  const rules::RuleFile* current = nullptr;
  const auto results = rules::runRuleTests(set, replayOptions(*tool));
  for (const rules::RuleTestResult& r : results) {
    if (r.file != current) {
      current = r.file;
      std::cout << "Unit Testing: " << r.file->path << "\n";
    }
    if (r.passed()) {
      std::cout << "  PASS  " << r.test->name << "\n";
      continue;
    }
    ++failed;
    std::cout << fmt::format("  FAIL  {} ({}:{})\n", r.test->name, r.test->where.file, r.test->where.line);
    for (const std::string& p : r.problems) std::cout << "        " << p << "\n";
  }
  std::cout << fmt::format("{} passed, {} failed\n", results.size() - failed, failed);
  return failed == 0 ? kExitOk : kExitFailure;
}

int runBacktest(const BacktestArgs& args) {
  const auto tool = settings(args.config_path, args.timezone);
  if (!tool) return kExitUsage;
  auto set = load(args.rules_dir, *tool);
  if (!set) return kExitFailure;
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (args.output_path != "-") {
    file.open(args.output_path, std::ios::trunc);
    if (!file) {
      std::cerr << "storepulse: cannot write " << args.output_path << "\n";
      return kExitFailure;
    }
    out = &file;
  }
  AlertFile alerts(*out, tool->alerts_topic);
  rules::Replay replay(set, alerts, replayOptions(*tool));

  auto reader = importers::GzipLineReader::open(args.events_path);
  if (!reader.isOk()) {
    std::cerr << "storepulse: " << reader.status().message() << "\n";
    return kExitFailure;
  }
  std::string line;
  for (;;) {
    auto more = reader->next(line);
    if (!more.isOk()) {
      std::cerr << fmt::format("storepulse: {}:{}: {}\n", args.events_path, reader->lineNumber(),
                               more.status().message());
      return kExitFailure;
    }
    if (!*more) break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    replay.add(line);
  }
  Progress progress;
  const Status ran = replay.run(args.until_ms, {}, std::ref(progress));
  if (!ran.isOk()) {
    std::cerr << "storepulse: backtest failed: " << ran.toString() << "\n";
    return kExitFailure;
  }
  const rules::ReplaySummary summary = replay.summary();
  std::ostream& report = args.output_path == "-" ? std::cerr : std::cout;
  report << fmt::format("backtest: {} events folded, {} dead-lettered, {} alert(s) written to {}\n", summary.events,
                        summary.dead_letters, alerts.alerts, args.output_path == "-" ? "stdout" : args.output_path);
  for (const auto& [reason, n] : summary.dead_letters_by_reason) report << fmt::format("  dead letters {}: {}\n", reason, n);
  report << fmt::format("{:<32} {:>12} {:>10} {:>8} {:>8} {:>8}  {}\n", "rule", "evaluations", "fires", "errors",
                        "held", "waiting", "mode");
  for (const rules::CompiledRule& rule : set->compiled) {
    const auto it = summary.rules.find(rule.spec->id);
    const rules::RuleCounters c = it == summary.rules.end() ? rules::RuleCounters{} : it->second;
    report << fmt::format("{:<32} {:>12} {:>10} {:>8} {:>8} {:>8}  {}{}\n", rule.spec->id, c.evaluations, c.fires,
                          c.errors, c.held, c.waiting,
                          rule.spec->mode == rules::RuleMode::kShadow ? "shadow" : "live",
                          rule.spec->enabled ? "" : " (disabled)");
  }
  return kExitOk;
}

}  // namespace storepulse::app
