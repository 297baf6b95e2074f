#pragma once
// One function per `storepulse` subcommand; cli.cc parses the arguments and
// calls them. Each returns the process exit code.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace storepulse::app {

struct RunArgs {
  std::string config_path;  // empty: defaults plus environment
};
int runEngine(const RunArgs& args);

struct ConfigCheckArgs {
  std::string config_path;
};
int checkConfig(const ConfigCheckArgs& args);
int printDefaultConfig();

struct ProduceArgs {
  std::string events_path;               // JSON lines, plain or .gz; "-" for stdin
  std::string bootstrap_servers;         // empty: from config
  std::string config_path;
  std::vector<std::string> topic_map;    // "type=topic" overrides
  std::string raw_topic;                 // send every line as-is to this topic
};
int produceEvents(const ProduceArgs& args);

struct ImportArgs {
  std::string format;  // online-retail | yoochoose | diginetica
  std::string input_path;
  std::string output_path;  // "-" for stdout
};
int importData(const ImportArgs& args);

struct DemoArgs {
  std::optional<std::chrono::milliseconds> duration;  // unset: until Ctrl-C
  uint16_t port = 8080;
  std::string source = "generator";  // generator | online-retail
  std::string data_path;             // the Online Retail file, for source online-retail
  double events_per_second = 200;
  std::string state_path;  // empty: a fresh temporary directory
};
int runDemo(const DemoArgs& args);

struct ExprEvalArgs {
  std::string expression;  // CEL
  std::string vars_json;   // a JSON object of variables; empty for none
};
// Prints {"type": T, "value": V} or {"error": "..."}; always exits 0.
int evalExpression(const ExprEvalArgs& args);

struct RulesArgs {
  std::string dir;          // a rules directory (*.yaml)
  std::string config_path;  // the engine's config: rules.timezone and rules.default_lateness_ms from it
  std::string timezone;     // overrides the config's; default UTC
};
// Reports every error with file, line and column; exit 1 on any.
int checkRules(const RulesArgs& args);
// Runs the `tests:` of every file, like `promtool test rules`.
int testRules(const RulesArgs& args);

struct BacktestArgs {
  std::string rules_dir;
  std::string events_path;          // JSON lines, plain or .gz
  std::string output_path = "-";    // alerts as JSON lines; "-" for stdout
  std::string config_path;          // as for RulesArgs; also rules.alerts_topic
  std::string timezone;             // overrides the config's; default UTC
  std::optional<int64_t> until_ms;  // run scheduled rules up to here (default: the last event)
};
// Evaluates the rules over recorded events in event-time order, exactly as
// the live engine would, writing the alerts and a per-rule summary.
int runBacktest(const BacktestArgs& args);

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace storepulse::app
