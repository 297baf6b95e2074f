// The rule engine end to end on the real broker: the live engine fires the
// same alerts as `storepulse backtest` over the same events, and rule
// reloads are atomic and never replace a working set with a broken one.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/retail_fixture.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {
namespace {

namespace fs = std::filesystem;

// An alert without `fired_ts`, which is the engine clock when it fired:
// the live clock has seen other partitions' events by then, the backtest's
// has not. Everything else must be equal.
std::string comparable(const std::string& alert_json) {
  nlohmann::json alert = nlohmann::json::parse(alert_json);
  alert.erase("fired_ts");
  return alert.dump();
}

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Waits until `topic` holds at least `count` messages.
std::vector<std::string> waitForMessages(const std::string& bootstrap, const std::string& topic, size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto messages = readTopic(bootstrap, topic);
    if (messages.size() >= count || std::chrono::steady_clock::now() > deadline) return messages;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

TEST(Rules, LiveEngineFiresTheSameAlertsAsTheBacktestOverOnlineRetail) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "rules-live");
  const std::string events = importOnlineRetail(dir.path());
  const std::string rules = std::string(SP_SOURCE_DIR) + "/config/rules";

  // The backtest first: its alerts are the expected set.
  const std::string backtest_alerts = dir.path() + "/backtest-alerts.jsonl";
  runCli({"backtest", "--rules", rules, "--events", events, "--output", backtest_alerts});
  std::multiset<std::string> expected;
  for (const std::string& line : readLines(backtest_alerts)) expected.insert(comparable(line));
  ASSERT_GT(expected.size(), 20u) << "the shipped rules should fire on this data";

  produceEvents(bootstrap, topics, events);
  EngineSettings settings = engineSettings(dir.path(), "rules-live");
  settings.rules_dir = rules;
  settings.event_time_clock = true;  // `now` follows the events, as in the backtest
  auto engine = startEngine(bootstrap, topics, settings);
  engine->waitReady();
  engine->waitConsumed(static_cast<double>(countEventLines(events)));
  ASSERT_EQ(engine->terminate(), 0) << engine->logTail();

  std::multiset<std::string> live;
  for (const std::string& message : waitForMessages(bootstrap, topics.alerts, expected.size())) {
    live.insert(comparable(message));
  }
  EXPECT_EQ(live.size(), expected.size());
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), live.begin(), live.end(), std::back_inserter(missing));
  std::set_difference(live.begin(), live.end(), expected.begin(), expected.end(), std::back_inserter(extra));
  EXPECT_TRUE(missing.empty()) << missing.size() << " backtest alerts not fired live, e.g. " << missing.front();
  EXPECT_TRUE(extra.empty()) << extra.size() << " live alerts not in the backtest, e.g. " << extra.front();
}

// Writes one purchase event per line for customer `customer` with totals
// of 2000, so that every order fires the rule below.
void writeOrders(const std::string& path, const std::string& customer, int first, int count) {
  std::ofstream out(path);
  for (int i = first; i < first + count; ++i) {
    out << nlohmann::json{{"type", "purchase"},
                          {"order_id", "o" + std::to_string(i)},
                          {"customer_id", customer},
                          {"store_id", "s1"},
                          {"ts", 1700000000000 + i * 1000},
                          {"items", {{{"sku", "k"}, {"qty", 1}, {"price", 2000.0}}}}}
                  .dump()
        << "\n";
  }
}

void writeRule(const std::string& dir, const std::string& title) {
  std::ofstream(dir + "/orders.yaml") << "rules:\n"
                                      << "  - id: every-order\n"
                                      << "    on: [purchase]\n"
                                      << "    when: event.total > 0.0\n"
                                      << "    alert: {to: ops, title: \"" << title << " {{event.order_id}}\"}\n";
}

TEST(Rules, ReloadTakesEffectBetweenEventsAndABrokenSetNeverReplacesTheRunningOne) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "rules-reload");
  const std::string rules = dir.path() + "/rules";
  fs::create_directories(rules);
  writeRule(rules, "first");

  EngineSettings settings = engineSettings(dir.path(), "rules-reload");
  settings.rules_dir = rules;
  auto engine = startEngine(bootstrap, topics, settings);
  engine->waitReady();
  const std::string version_one = nlohmann::json::parse(httpGet(engine->port(), "/v1/rules").body)["version"];

  writeOrders(dir.path() + "/a.jsonl", "c1", 0, 5);
  produceEvents(bootstrap, topics, dir.path() + "/a.jsonl");
  engine->waitConsumed(5);

  // A valid change, reloaded on request: the next events see it.
  writeRule(rules, "second");
  const HttpReply reloaded = httpRequest(engine->port(), "POST", "/v1/rules/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  EXPECT_NE(nlohmann::json::parse(reloaded.body)["version"], version_one);
  writeOrders(dir.path() + "/b.jsonl", "c1", 5, 5);
  produceEvents(bootstrap, topics, dir.path() + "/b.jsonl");
  engine->waitConsumed(10);

  // A broken file: refused with its line, and the running set stays.
  std::ofstream(rules + "/broken.yaml") << "rules:\n  - id: oops\n    on: [purchase]\n    when: event.total >= 'a'\n"
                                           "    alert: {to: ops, title: x}\n";
  const HttpReply refused = httpRequest(engine->port(), "POST", "/v1/rules/reload");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("broken.yaml:4:"), std::string::npos) << refused.body;
  const auto described = nlohmann::json::parse(httpGet(engine->port(), "/v1/rules").body);
  EXPECT_EQ(described["last_reload"]["outcome"], "error");
  EXPECT_NE(described["last_reload"]["errors"][0].get<std::string>().find("broken.yaml:4:"), std::string::npos);
  ASSERT_EQ(described["rules"].size(), 1u);
  EXPECT_EQ(described["rules"][0]["id"], "every-order");
  EXPECT_EQ(described["rules"][0]["fires"], 10);
  writeOrders(dir.path() + "/c.jsonl", "c1", 10, 5);
  produceEvents(bootstrap, topics, dir.path() + "/c.jsonl");
  engine->waitConsumed(15);
  const std::string metrics = engine->metrics();
  EXPECT_EQ(sumMetric(metrics, "storepulse_rule_reloads_total", {{"outcome", "ok"}}), 1);
  EXPECT_EQ(sumMetric(metrics, "storepulse_rule_reloads_total", {{"outcome", "error"}}), 1);
  ASSERT_EQ(engine->terminate(), 0) << engine->logTail();

  // Orders 0-4 fired under the first set, 5-14 under the second.
  std::map<std::string, std::string> title_by_order;
  for (const std::string& message : waitForMessages(bootstrap, topics.alerts, 15)) {
    const auto alert = nlohmann::json::parse(message);
    const std::string title = alert["title"];
    title_by_order[title.substr(title.find(' ') + 1)] = title.substr(0, title.find(' '));
  }
  ASSERT_EQ(title_by_order.size(), 15u);
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(title_by_order["o" + std::to_string(i)], i < 5 ? "first" : "second") << "order o" << i;
  }
}

// The rule set's version as GET /v1/rules shows it, once it differs from
// `old_version` (or the time runs out).
std::string waitForNewVersion(uint16_t port, const std::string& old_version) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    const std::string version = nlohmann::json::parse(httpGet(port, "/v1/rules").body)["version"];
    if (version != old_version || std::chrono::steady_clock::now() > deadline) return version;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(Rules, ReloadsOnAChangedFileAndOnSighup) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "rules-watch");
  const std::string rules = dir.path() + "/rules";
  fs::create_directories(rules);
  writeRule(rules, "first");

  EngineSettings settings = engineSettings(dir.path(), "rules-watch");
  settings.rules_dir = rules;
  settings.reload_check_ms = 100;
  auto engine = startEngine(bootstrap, topics, settings);
  engine->waitReady();
  const std::string first = nlohmann::json::parse(httpGet(engine->port(), "/v1/rules").body)["version"];

  writeRule(rules, "second");  // the watcher sees the file change
  const std::string second = waitForNewVersion(engine->port(), first);
  EXPECT_NE(second, first);
  auto described = nlohmann::json::parse(httpGet(engine->port(), "/v1/rules").body);
  EXPECT_EQ(described["last_reload"]["trigger"], "file change");

  // SIGHUP reloads too; with the watcher off it is the only way besides the API.
  engine->terminate();
  settings.reload_check_ms = 0;
  settings.http_port = freePort();
  engine = startEngine(bootstrap, topics, settings);
  engine->waitReady();
  writeRule(rules, "third");
  engine->signal(SIGHUP);
  EXPECT_NE(waitForNewVersion(engine->port(), second), second);
  described = nlohmann::json::parse(httpGet(engine->port(), "/v1/rules").body);
  EXPECT_EQ(described["last_reload"]["trigger"], "SIGHUP");
  EXPECT_EQ(described["last_reload"]["outcome"], "ok");
  ASSERT_EQ(engine->terminate(), 0) << engine->logTail();
}

}  // namespace
}  // namespace storepulse::testing
