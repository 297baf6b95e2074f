// kill -9 the engine at random points of a replay, restart it each time,
// and require the final state to equal an uninterrupted run's, byte for
// byte per customer: offsets and state are one atomic RocksDB write.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "tests/integration/retail_fixture.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {
namespace {

TEST(CrashRecovery, StateAfterKillNineAndRestartsEqualsAnUninterruptedRun) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "crash");
  const std::string events = importOnlineRetail(dir.path());
  const double event_count = static_cast<double>(countEventLines(events));
  produceEvents(bootstrap, topics, events);

  // Small batches make many commits, so the kills land between and inside them.
  auto settingsFor = [&](const std::string& name) {
    EngineSettings s = engineSettings(dir.path(), name);
    s.batch_max_events = 10;
    return s;
  };

  // The reference: one uninterrupted run.
  const EngineSettings reference = settingsFor("reference");
  {
    auto engine = startEngine(bootstrap, topics, reference);
    engine->waitReady();
    engine->waitConsumed(event_count);
    ASSERT_EQ(engine->terminate(), 0) << engine->logTail();
  }

  // The crashing run: same topics, its own group and state directory.
  EngineSettings crashing = settingsFor("crashing");
  std::mt19937 rng(std::random_device{}());
  double folded_by_killed_runs = 0;  // over-counts what was committed: a kill loses the open batch
  for (int attempt = 0; attempt < 5; ++attempt) {
    crashing.http_port = freePort();
    auto engine = startEngine(bootstrap, topics, crashing);
    engine->waitReady();
    // Kill once this run has folded a random share of what is left, so that
    // every kill lands mid-replay. A run that folds nothing for a minute is
    // a stall, and a failure in its own right.
    const double left = event_count - folded_by_killed_runs;
    const double target = std::max(1.0, std::uniform_real_distribution<double>(0.05, 0.3)(rng) * left);
    double seen = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (seen < target && std::chrono::steady_clock::now() < deadline) {
      const HttpReply reply = httpGet(engine->port(), "/metrics");
      if (reply.status == 200) seen = sumMetric(reply.body, "storepulse_events_consumed_total");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_GE(seen, target) << "run " << attempt + 1 << " stalled:\n" << engine->logTail();
    engine->kill9();
    std::cout << "kill -9 number " << attempt + 1 << " after this run folded " << seen << " events\n";
    folded_by_killed_runs += seen;
  }
  ASSERT_LT(folded_by_killed_runs, event_count) << "the replay ended before the last kill";


  crashing.http_port = freePort();
  auto engine = startEngine(bootstrap, topics, crashing);
  engine->waitReady();
  // The final run consumes only what the crashed runs had not committed; it
  // is done when every partition of the two topics with data reports zero
  // lag, three polls in a row.
  int quiet_polls = 0;
  for (int polls = 0; polls < 600 && quiet_polls < 3; ++polls) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::string metrics = engine->metrics();
    bool all_zero = true;
    for (const std::string& topic : {topics.purchases, topics.customers}) {
      all_zero = all_zero &&
                 countSeries(metrics, "storepulse_consumer_lag_messages", {{"topic", topic}}) == kTestPartitions &&
                 sumMetric(metrics, "storepulse_consumer_lag_messages", {{"topic", topic}}) == 0;
    }
    quiet_polls = all_zero ? quiet_polls + 1 : 0;
  }
  const bool caught_up = quiet_polls >= 3;
  ASSERT_TRUE(caught_up) << engine->logTail();
  ASSERT_EQ(engine->terminate(), 0) << engine->logTail();

  const auto expected = readCustomerRecords(reference.state_path);
  const auto actual = readCustomerRecords(crashing.state_path);
  ASSERT_GT(expected.size(), 1000u);
  EXPECT_EQ(actual.size(), expected.size());
  size_t differing = 0;
  for (const auto& [id, bytes] : expected) {
    auto it = actual.find(id);
    if (it == actual.end() || it->second != bytes) ++differing;
  }
  EXPECT_EQ(differing, 0u) << differing << " customers differ from the uninterrupted run";
}

}  // namespace
}  // namespace storepulse::testing
