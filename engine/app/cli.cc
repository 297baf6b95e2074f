#include "engine/app/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "engine/app/commands.h"
#include "engine/core/build_info.h"
#include "engine/core/time.h"

namespace storepulse::app {

int runCli(int argc, char** argv) {
  CLI::App app{"Storepulse: real-time recommendations and alerts for retail."};
  app.set_version_flag("--version", kBuildVersion);
  app.require_subcommand(1);

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "Run the engine: consume events, keep state, serve HTTP.");
  run_cmd->add_option("--config,-c", run.config_path, "Configuration file (see config/storepulse.yaml).")
      ->check(CLI::ExistingFile);

  auto* config_cmd = app.add_subcommand("config", "Check a configuration file or print the defaults.");
  config_cmd->require_subcommand(1);
  ConfigCheckArgs check;
  auto* check_cmd = config_cmd->add_subcommand("check", "Validate a configuration file; exit 1 on any error.");
  check_cmd->add_option("file", check.config_path, "Configuration file.")->required();
  auto* defaults_cmd = config_cmd->add_subcommand("defaults", "Print every key with its default and meaning.");

  ProduceArgs produce;
  auto* produce_cmd = app.add_subcommand(
      "produce", "Load JSON-lines events into Kafka, routed by their `type` field to the configured topics.");
  produce_cmd->add_option("--events,-e", produce.events_path, "JSON-lines file (.gz too), or - for stdin.")
      ->required();
  produce_cmd->add_option("--bootstrap,-b", produce.bootstrap_servers, "Kafka brokers (default: from config).");
  produce_cmd->add_option("--config,-c", produce.config_path, "Configuration file for topics and brokers.")
      ->check(CLI::ExistingFile);
  produce_cmd->add_option("--topic-map", produce.topic_map, "Override a topic: TYPE=TOPIC (repeatable).");
  produce_cmd->add_option("--raw-topic", produce.raw_topic,
                          "Send every line unchanged to this topic (for testing bad input).");

  ImportArgs import;
  auto* import_cmd = app.add_subcommand(
      "import", "Turn a public retail data set into Storepulse events (JSON lines). See docs/data-import.md.");
  import_cmd->add_option("format", import.format, "online-retail | yoochoose | diginetica")
      ->required()
      ->check(CLI::IsMember({"online-retail", "yoochoose", "diginetica"}));
  import_cmd->add_option("input", import.input_path, "Input file (.gz or plain).")->required()->check(CLI::ExistingFile);
  import_cmd->add_option("--output,-o", import.output_path, "Output JSON-lines file; - for stdout.")
      ->default_val("-");

  DemoArgs demo;
  std::string demo_for;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Run everything on this machine with no setup: in-process Kafka, shoppers, engine, HTTP.");
  demo_cmd->add_option("--for", demo_for, "Stop after this long (e.g. 30s, 2m) and print a summary.");
  demo_cmd->add_option("--port", demo.port, "HTTP port (0 picks a free one).")->default_val(8080);
  demo_cmd->add_option("--source", demo.source, "generator (synthetic shoppers) or online-retail (replay).")
      ->default_val("generator")
      ->check(CLI::IsMember({"generator", "online-retail"}));
  demo_cmd->add_option("--data", demo.data_path, "The Online Retail CSV(.gz) replayed by --source online-retail.")
      ->default_val("../shared/data/online_retail_2010-12_2011-01.csv.gz");
  demo_cmd->add_option("--rate", demo.events_per_second, "Generated events per second.")->default_val(200);
  demo_cmd->add_option("--state", demo.state_path, "State directory (default: a fresh temporary one).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (run_cmd->parsed()) return runEngine(run);
  if (check_cmd->parsed()) return checkConfig(check);
  if (defaults_cmd->parsed()) return printDefaultConfig();
  if (produce_cmd->parsed()) return produceEvents(produce);
  if (import_cmd->parsed()) return importData(import);
  if (demo_cmd->parsed()) {
    if (!demo_for.empty()) {
      auto ms = parseDurationMillis(demo_for);
      if (!ms) {
        std::cerr << "storepulse demo: --for: '" << demo_for << "' is not a duration like 30s or 2m\n";
        return kExitUsage;
      }
      demo.duration = std::chrono::milliseconds(*ms);
    }
    return runDemo(demo);
  }
  return kExitUsage;
}

}  // namespace storepulse::app
