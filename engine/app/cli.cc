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

  ExprEvalArgs expr_eval;
  auto* expr_cmd = app.add_subcommand("expr", "Work with CEL expressions, the language of rule conditions.");
  expr_cmd->require_subcommand(1);
  auto* expr_eval_cmd = expr_cmd->add_subcommand(
      "eval",
      "Evaluate one CEL expression and print one JSON line: {\"type\": T, \"value\": V}, or {\"error\": ...} "
      "for a syntax, type or evaluation error (exit status 0 either way).");
  expr_eval_cmd
      ->add_option("expression", expr_eval.expression,
                   "The expression, e.g. \"1 + 2 * 3\" (after --, if it starts with -).")
      ->required();
  expr_eval_cmd->add_option("--vars", expr_eval.vars_json,
                            "Variables as a JSON object, e.g. '{\"x\": 5, \"tags\": [\"vip\"]}' (integers bind as "
                            "int, other numbers as double; every variable is typed dyn).");

  RulesArgs rules_args;
  auto* rules_cmd = app.add_subcommand("rules", "Check or test a rules directory (YAML files; see docs/rules.md).");
  rules_cmd->require_subcommand(1);
  auto* rules_check_cmd = rules_cmd->add_subcommand(
      "check", "Load every *.yaml file and compile every expression; print each error as file:line:col and exit "
               "1 if there is any.");
  auto* rules_test_cmd = rules_cmd->add_subcommand(
      "test", "Run the `tests:` of every rule file (events in, expected firings out), like promtool test rules.");
  for (auto* cmd : {rules_check_cmd, rules_test_cmd}) {
    cmd->add_option("dir", rules_args.dir, "The rules directory.")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--config,-c", rules_args.config_path,
                    "The engine's config: rules.timezone and rules.default_lateness_ms come from it.")
        ->check(CLI::ExistingFile);
    cmd->add_option("--timezone", rules_args.timezone, "Zone of calendar windows and `at:` times for stores "
                                                      "without one (IANA name or +08:00; default: the config's, UTC).");
  }

  BacktestArgs backtest;
  std::string backtest_until;
  auto* backtest_cmd = app.add_subcommand(
      "backtest", "Evaluate rules over recorded events in event-time order, exactly as the live engine would; "
                  "write the alerts as JSON lines and print a per-rule summary.");
  backtest_cmd->add_option("--rules", backtest.rules_dir, "The rules directory.")
      ->required()
      ->check(CLI::ExistingDirectory);
  backtest_cmd->add_option("--events", backtest.events_path, "Recorded events: JSON lines with a `type` field "
                                                             "(.gz too).")
      ->required()
      ->check(CLI::ExistingFile);
  backtest_cmd->add_option("--output,-o", backtest.output_path, "Where the alerts go; - for stdout.")
      ->default_val("-");
  backtest_cmd->add_option("--config,-c", backtest.config_path,
                           "The engine's config: rules.timezone, rules.default_lateness_ms and rules.alerts_topic "
                           "come from it, so the backtest judges rules as that engine does.")
      ->check(CLI::ExistingFile);
  backtest_cmd->add_option("--timezone", backtest.timezone, "Default zone, as for `rules check`.");
  backtest_cmd->add_option("--until", backtest_until,
                           "Run scheduled rules up to this RFC 3339 time (default: the last event's time).");

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
  if (expr_eval_cmd->parsed()) return evalExpression(expr_eval);
  if (rules_check_cmd->parsed()) return checkRules(rules_args);
  if (rules_test_cmd->parsed()) return testRules(rules_args);
  if (backtest_cmd->parsed()) {
    if (!backtest_until.empty()) {
      backtest.until_ms = parseRfc3339Millis(backtest_until);
      if (!backtest.until_ms) {
        std::cerr << "storepulse backtest: --until " << backtest_until << " is not an RFC 3339 time\n";
        return kExitUsage;
      }
    }
    return runBacktest(backtest);
  }
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
