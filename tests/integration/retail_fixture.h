#pragma once
// Shared set-up of the engine integration tests: unique topics per test on
// the real broker, a generated config, the Online Retail data imported and
// produced through the real `storepulse` CLI, and the committed customer
// state read back from a stopped engine's RocksDB.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/engine_process.h"

namespace storepulse::testing {

inline constexpr int kTestPartitions = 4;

struct TestTopics {
  std::string prefix;
  std::string clicks, scans, purchases, inventory, customers, stores, dlq, alerts;
  std::vector<std::string> all() const {
    return {clicks, scans, purchases, inventory, customers, stores, dlq, alerts};
  }
};

// Creates a fresh set of topics with kTestPartitions partitions each.
TestTopics createTestTopics(const std::string& bootstrap, const std::string& name);

struct EngineSettings {
  std::string group_id;
  std::string state_path;
  uint16_t http_port = 0;
  size_t batch_max_events = 5000;
  std::string rules_dir;          // empty: ingest only
  bool event_time_clock = false;  // rules.clock: event_time, as backtests run
  int reload_check_ms = 0;        // 0: reload on request only
};

// Settings for one engine: a fresh group, state in dir/name, a free port.
EngineSettings engineSettings(const std::string& dir, const std::string& name);

// Writes the config (STATE_PATH.yaml) and starts `storepulse run` on it; its
// log goes to STATE_PATH.log.
std::unique_ptr<EngineProcess> startEngine(const std::string& bootstrap, const TestTopics& topics,
                                           const EngineSettings& settings);

// Every message of a topic, from the beginning to its end now, via kcat.
std::vector<std::string> readTopic(const std::string& bootstrap, const std::string& topic);

// Runs `storepulse ARGS...`; throws with the output if it exits non-zero.
std::string runCli(const std::vector<std::string>& args);

// Non-empty lines of a JSON-lines file: the events it holds.
size_t countEventLines(const std::string& path);

// The Online Retail sample as Storepulse events (JSON lines), via the CLI.
std::string importOnlineRetail(const std::string& dir);
// Produces a JSON-lines file into the test topics, via the CLI.
void produceEvents(const std::string& bootstrap, const TestTopics& topics, const std::string& events_path);

// Every customer record committed in a (stopped) engine's state directory:
// customer_id -> encoded record bytes, over all test partitions.
std::map<std::string, std::string> readCustomerRecords(const std::string& state_path);

// Expected spend and order count per customer, computed straight from the
// CSV with the rules docs/data-import.md states, sharing no importer code.
struct ExpectedCustomer {
  double spend = 0;
  int64_t orders = 0;
};
std::map<std::string, ExpectedCustomer> expectedFromOnlineRetailCsv();

std::string onlineRetailCsvPath();

}  // namespace storepulse::testing
