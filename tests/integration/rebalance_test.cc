// Two engine instances in one consumer group: each partition is processed
// by exactly one of them, no event is folded twice, and when one leaves the
// other takes its partitions over and ends with the complete, correct state.

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "engine/state/customer_state.h"
#include "tests/integration/retail_fixture.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {
namespace {

double consumed(EngineProcess& e) { return sumMetric(e.metrics(), "storepulse_events_consumed_total"); }
double assigned(EngineProcess& e, const std::string& topic) {
  return sumMetric(e.metrics(), "storepulse_assigned_partitions", {{"topic", topic}});
}

void expectStateMatchesCsv(const std::map<std::string, std::string>& records,
                           const std::map<std::string, ExpectedCustomer>& expected) {
  ASSERT_EQ(records.size(), expected.size());
  for (const auto& [id, want] : expected) {
    auto it = records.find(id);
    ASSERT_NE(it, records.end()) << id;
    auto state = decodeCustomerState(it->second);
    ASSERT_TRUE(state.isOk());
    EXPECT_EQ(state->order_count, want.orders) << id;
    EXPECT_NEAR(state->lifetime_spend, want.spend, 0.005 * static_cast<double>(want.orders) + 1e-6) << id;
  }
}

TEST(Rebalance, TwoInstancesSplitPartitionsFoldNoEventTwiceAndHandOverOnLeave) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "rebalance");
  const std::string events = importOnlineRetail(dir.path());
  const double event_count = static_cast<double>(countEventLines(events));
  const std::string group = uniqueName("rebalance");

  EngineSettings a_settings = engineSettings(dir.path(), "a");
  EngineSettings b_settings = engineSettings(dir.path(), "b");
  b_settings.group_id = a_settings.group_id = group;
  a_settings.batch_max_events = b_settings.batch_max_events = 50;
  auto a = startEngine(bootstrap, topics, a_settings);
  auto b = startEngine(bootstrap, topics, b_settings);
  a->waitReady();
  b->waitReady();
  // Both members in the group, each with half of every topic's partitions.
  for (int i = 0; i < 300; ++i) {
    if (assigned(*a, topics.purchases) == kTestPartitions / 2 && assigned(*b, topics.purchases) == kTestPartitions / 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(assigned(*a, topics.purchases), kTestPartitions / 2) << a->logTail();
  ASSERT_EQ(assigned(*b, topics.purchases), kTestPartitions / 2) << b->logTail();

  produceEvents(bootstrap, topics, events);
  for (int i = 0; i < 1200 && consumed(*a) + consumed(*b) < event_count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double consumed_a = consumed(*a);
  const double consumed_b = consumed(*b);
  EXPECT_EQ(consumed_a + consumed_b, event_count) << "every event folded exactly once across the two";
  EXPECT_GT(consumed_a, 0);
  EXPECT_GT(consumed_b, 0);

  // B leaves: A gets B's partitions. A holds no offsets for them, so it
  // rebuilds their state from the start of the topic — complete, not doubled.
  ASSERT_EQ(b->terminate(), 0) << b->logTail();
  for (int i = 0; i < 600 && consumed(*a) < consumed_a + consumed_b; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(assigned(*a, topics.purchases), kTestPartitions);
  EXPECT_EQ(consumed(*a), consumed_a + consumed_b);
  ASSERT_EQ(a->terminate(), 0) << a->logTail();

  const auto expected = expectedFromOnlineRetailCsv();
  const auto records_b = readCustomerRecords(b_settings.state_path);
  const auto records_a = readCustomerRecords(a_settings.state_path);
  EXPECT_GT(records_b.size(), 0u);
  EXPECT_LT(records_b.size(), expected.size());
  expectStateMatchesCsv(records_a, expected);
}

}  // namespace
}  // namespace storepulse::testing
