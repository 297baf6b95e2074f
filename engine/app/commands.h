#pragma once
// One function per `storepulse` subcommand; cli.cc parses the arguments and
// calls them. Each returns the process exit code.

#include <chrono>
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

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace storepulse::app
