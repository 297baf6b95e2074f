// The walking skeleton's first test against a real broker: the test helpers
// themselves (tests/support/kafka_test_env.h) create a topic, produce keyed
// messages and read every one of them back. Run through
// deploy/test-kafka.sh run (which sets STOREPULSE_TEST_KAFKA).

#include "tests/support/kafka_test_env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace storepulse::testing {
namespace {

using namespace std::chrono_literals;

TEST(KafkaTestEnv, UniqueNamesDiffer) {
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) names.insert(uniqueName("t"));
  EXPECT_EQ(names.size(), 1000u);
  for (const std::string& n : names) {
    EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"),
              std::string::npos)
        << n;
  }
}

TEST(KafkaTestEnv, ProducesAndConsumesKeyedMessagesInPartitionOrder) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  const std::string topic = uniqueName("sp-test-env");
  createTopics(bootstrap, {topic}, 3);
  createTopics(bootstrap, {topic}, 3);  // already exists: fine

  constexpr int kCustomers = 50;
  constexpr int kMessages = 1000;
  std::vector<std::pair<std::string, std::string>> sent;
  for (int i = 0; i < kMessages; ++i) {
    sent.emplace_back("customer-" + std::to_string(i % kCustomers), "event-" + std::to_string(i));
  }
  produce(bootstrap, topic, sent);

  const std::vector<ConsumedMessage> got = consumeAll(bootstrap, topic, 30s, kMessages);
  ASSERT_EQ(got.size(), static_cast<size_t>(kMessages));

  std::map<int32_t, int64_t> last_offset;          // per partition
  std::map<std::string, int32_t> partition_of;     // per key
  std::map<std::string, int> last_seq;             // per key: produce order
  std::set<std::string> values;
  for (const ConsumedMessage& m : got) {
    EXPECT_EQ(m.topic, topic);
    ASSERT_GE(m.partition, 0);
    ASSERT_LT(m.partition, 3);
    EXPECT_FALSE(m.key_is_null);
    EXPECT_TRUE(m.headers.empty());
    EXPECT_GT(m.timestamp_ms, 0);
    // Offsets within a partition are consecutive, from 0 (one producer, no
    // transactions).
    auto [it, first] = last_offset.try_emplace(m.partition, -1);
    EXPECT_EQ(m.offset, it->second + 1) << "partition " << m.partition;
    it->second = m.offset;
    // A key always lands on one partition, and its events keep produce order.
    auto [p, new_key] = partition_of.try_emplace(m.key, m.partition);
    EXPECT_EQ(p->second, m.partition) << m.key;
    const int seq = std::stoi(m.value.substr(std::string("event-").size()));
    EXPECT_EQ(sent[static_cast<size_t>(seq)].first, m.key) << m.value;
    auto [s, new_seq] = last_seq.try_emplace(m.key, -1);
    EXPECT_GT(seq, s->second) << m.key;
    s->second = seq;
    values.insert(m.value);
  }
  EXPECT_EQ(values.size(), static_cast<size_t>(kMessages));  // no duplicates
  EXPECT_EQ(partition_of.size(), static_cast<size_t>(kCustomers));
  EXPECT_EQ(last_offset.size(), 3u) << "50 keys should spread over all 3 partitions";
  int64_t total = 0;
  for (const auto& [partition, offset] : last_offset) total += offset + 1;
  EXPECT_EQ(total, kMessages);
}

TEST(KafkaTestEnv, ExplicitPartitionHeadersAndNullKeys) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  const std::string topic = uniqueName("sp-test-env-explicit");
  createTopics(bootstrap, {topic}, 2);

  produce(bootstrap, topic, 1, {{"a", "1"}, {"b", "2"}});
  produceMessages(bootstrap, topic, {{std::nullopt, "no-key", 0, {{"reason", "bad json"}, {"x", ""}}, 1234}});

  const std::vector<ConsumedMessage> got = consumeAll(bootstrap, topic, 30s, 3);
  ASSERT_EQ(got.size(), 3u);
  std::vector<ConsumedMessage> p0, p1;
  for (const ConsumedMessage& m : got) (m.partition == 0 ? p0 : p1).push_back(m);
  ASSERT_EQ(p1.size(), 2u);
  EXPECT_EQ(p1[0].key, "a");
  EXPECT_EQ(p1[0].value, "1");
  EXPECT_EQ(p1[1].key, "b");
  EXPECT_EQ(p1[1].value, "2");
  ASSERT_EQ(p0.size(), 1u);
  EXPECT_TRUE(p0[0].key_is_null);
  EXPECT_EQ(p0[0].value, "no-key");
  EXPECT_EQ(p0[0].timestamp_ms, 1234);
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p0[0].headers, (Headers{{"reason", "bad json"}, {"x", ""}}));
}

TEST(KafkaTestEnv, TopicConfigReachesTheBroker) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  const std::string topic = uniqueName("sp-test-env-compact");
  createTopics(bootstrap, {topic}, 2, {{"cleanup.policy", "compact"}});
  produce(bootstrap, topic, {{"k", "v1"}, {"k", "v2"}});
  // A compacted topic rejects records without a key: proof that the config
  // was applied, and that a failed delivery report is an error.
  EXPECT_THROW(produceMessages(bootstrap, topic, {{std::nullopt, "x", -1, {}, 0}}), std::runtime_error);
  EXPECT_EQ(consumeAll(bootstrap, topic, 30s, 2).size(), 2u);
}

TEST(KafkaTestEnv, EmptyAndMissingTopics) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  const std::string empty = uniqueName("sp-test-env-empty");
  createTopics(bootstrap, {empty}, 4);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(consumeAll(bootstrap, empty, 30s).empty());
  EXPECT_TRUE(consumeAll(bootstrap, uniqueName("sp-test-env-missing"), 30s).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << "end of empty partitions should be seen at once";
}

}  // namespace
}  // namespace storepulse::testing
