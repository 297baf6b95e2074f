// Replays the whole Online Retail sample through a real broker into the
// real engine binary and checks every customer's spend and order count
// against values computed straight from the CSV; checks the state API and
// that /metrics passes `promtool check metrics`.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/state/customer_state.h"
#include "tests/integration/retail_fixture.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {
namespace {

TEST(OnlineRetailReplay, CustomerStateMatchesValuesComputedFromTheCsv) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "replay");
  const std::string events = importOnlineRetail(dir.path());
  const size_t event_count = countEventLines(events);
  ASSERT_GT(event_count, 3000u);
  produceEvents(bootstrap, topics, events);

  const EngineSettings settings = engineSettings(dir.path(), "replay");
  auto engine = startEngine(bootstrap, topics, settings);
  engine->waitReady();
  engine->waitConsumed(static_cast<double>(event_count));

  const auto expected = expectedFromOnlineRetailCsv();
  ASSERT_GT(expected.size(), 1000u);

  // The state API, for a spread of customers, while the engine runs.
  size_t i = 0, checked = 0;
  for (const auto& [id, want] : expected) {
    if (i++ % 50 != 0) continue;
    const HttpReply reply = httpGet(engine->port(), "/v1/customers/" + id);
    ASSERT_EQ(reply.status, 200) << id << ": " << reply.body;
    const auto body = nlohmann::json::parse(reply.body);
    EXPECT_EQ(body["customer_id"], id);
    EXPECT_EQ(body["order_count"].get<int64_t>(), want.orders) << id;
    EXPECT_NEAR(body["lifetime_spend"].get<double>(), want.spend, 0.005 * static_cast<double>(want.orders) + 1e-6)
        << id;
    ++checked;
  }
  EXPECT_GE(checked, 20u);
  const HttpReply missing = httpGet(engine->port(), "/v1/customers/no-such-customer");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"error\""), std::string::npos);

  // /metrics in the exposition format Prometheus accepts.
  const std::string metrics = engine->metrics();
  EXPECT_EQ(sumMetric(metrics, "storepulse_events_invalid_total"), 0);
  EXPECT_EQ(sumMetric(metrics, "storepulse_events_consumed_total", {{"topic", topics.purchases}}),
            static_cast<double>([&] {
              int64_t orders = 0;
              for (const auto& [id, e] : expected) orders += e.orders;
              return orders;
            }()));
  const std::string metrics_path = dir.path() + "/metrics.txt";
  std::ofstream(metrics_path) << metrics;
  const std::string promtool = "promtool check metrics < '" + metrics_path + "' 2>&1";
  FILE* pipe = popen(promtool.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string lint;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe)) lint += buffer;
  EXPECT_EQ(pclose(pipe), 0) << "promtool check metrics:\n" << lint;
  EXPECT_EQ(lint, "") << "promtool check metrics:\n" << lint;

  ASSERT_EQ(engine->terminate(), 0) << engine->logTail();

  // Every customer, from the committed RocksDB state.
  const auto records = readCustomerRecords(settings.state_path);
  size_t compared = 0;
  for (const auto& [id, want] : expected) {
    auto it = records.find(id);
    ASSERT_NE(it, records.end()) << "no state for customer " << id;
    auto state = decodeCustomerState(it->second);
    ASSERT_TRUE(state.isOk()) << state.status().toString();
    EXPECT_EQ(state->order_count, want.orders) << id;
    EXPECT_NEAR(state->lifetime_spend, want.spend, 0.005 * static_cast<double>(want.orders) + 1e-6) << id;
    ++compared;
  }
  EXPECT_EQ(compared, expected.size());
}

}  // namespace
}  // namespace storepulse::testing
