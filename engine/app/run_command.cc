#include <iostream>
#include <thread>

#include "engine/app/commands.h"
#include "engine/app/engine.h"
#include "engine/app/rules_controller.h"
#include "engine/app/stop_signal.h"
#include "engine/core/log.h"

namespace storepulse::app {

int runEngine(const RunArgs& args) {
  auto config = args.config_path.empty() ? defaultConfig() : loadConfig(args.config_path);
  if (!config.isOk()) {
    std::cerr << "storepulse: " << config.status().message() << "\n";
    return kExitUsage;
  }
  log::init(config->log.level, config->log.format == "json" ? log::Format::kJson : log::Format::kText);
  installStopSignals();
  auto engine = Engine::start(config.value());
  if (!engine.isOk()) {
    log::error("cannot start", {{"error", engine.status().toString()}});
    return kExitFailure;
  }
  while (!stopRequested() && !engine.value()->stopping()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (takeReloadRequest() && engine.value()->rules() != nullptr) {
      (void)engine.value()->rules()->reload("SIGHUP");  // logged and counted inside
    }
  }
  log::info("stopping: finishing the batch, committing, leaving the group");
  engine.value()->requestStop();
  Status result = engine.value()->wait();
  if (!result.isOk()) {
    log::error("stopped on error", {{"error", result.toString()}});
    return kExitFailure;
  }
  const PipelineCounters counters = engine.value()->counters();
  log::info("stopped", {{"events", std::to_string(counters.events)}, {"invalid", std::to_string(counters.invalid)}});
  return kExitOk;
}

int checkConfig(const ConfigCheckArgs& args) {
  auto config = loadConfig(args.config_path);
  if (!config.isOk()) {
    std::cerr << config.status().message() << "\n";
    return kExitFailure;
  }
  std::cout << args.config_path << ": ok\n";
  return kExitOk;
}

int printDefaultConfig() {
  std::cout << documentedDefaults();
  return kExitOk;
}

}  // namespace storepulse::app
