#pragma once
// Helpers for integration tests against the real Kafka broker that
// deploy/test-kafka.sh starts (it exports STOREPULSE_TEST_KAFKA=host:port).
//
//   TEST(Foo, Bar) {
//     SP_REQUIRE_KAFKA();
//     const std::string bootstrap = kafkaBootstrap();
//     const std::string topic = uniqueName("foo-events");
//     createTopics(bootstrap, {topic}, 3);
//     produce(bootstrap, topic, {{"c1", R"({"customer_id":"c1"})"}});
//     auto got = consumeAll(bootstrap, topic, std::chrono::seconds(10), 1);
//   }
//
// Error convention: tests are the one place where exceptions are fine. Every
// helper throws std::runtime_error with a descriptive message on failure;
// GoogleTest reports an exception escaping a test body as a failure.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace storepulse::testing {

inline constexpr const char* kKafkaEnvVar = "STOREPULSE_TEST_KAFKA";

// True when STOREPULSE_TEST_KAFKA is set and not empty.
bool kafkaConfigured();

// The broker's bootstrap address from STOREPULSE_TEST_KAFKA; throws if it is
// not set (use SP_REQUIRE_KAFKA() first for a clear test failure).
std::string kafkaBootstrap();

// prefix-<pid>-<counter>-<random hex>: a topic or group name no other test,
// process or earlier run uses. Only [A-Za-z0-9._-], valid for Kafka topics.
std::string uniqueName(std::string_view prefix);

// Creates the topics (replication factor 1) with the admin API and waits
// until the metadata shows each with every partition led. A topic that
// already exists is fine (its partition count is then left as it is).
// config: topic configs, e.g. {{"cleanup.policy", "compact"}}.
void createTopics(const std::string& bootstrap, const std::vector<std::string>& topics,
                  int partitions, const std::map<std::string, std::string>& config = {});

// One message to produce. partition < 0: chosen by the partitioner
// (murmur2_random, as Java clients do: the same key always lands on the
// same partition). key std::nullopt: a null key. timestamp_ms 0: now.
struct OutgoingMessage {
  std::optional<std::string> key;
  std::string value;
  int32_t partition = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestamp_ms = 0;
};

// Produces the messages in order (idempotent producer, acks=all), flushes
// and checks every delivery report; throws if any message failed. (Its own
// name: a braced list of string pairs would also match OutgoingMessage.)
void produceMessages(const std::string& bootstrap, const std::string& topic,
                     const std::vector<OutgoingMessage>& messages);
// Keyed messages, partitioned by key. Same checks as produceMessages.
void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<std::pair<std::string, std::string>>& key_values);
// Keyed messages, all to one partition.
void produce(const std::string& bootstrap, const std::string& topic, int32_t partition,
             const std::vector<std::pair<std::string, std::string>>& key_values);

struct ConsumedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;    // empty for a null key (see key_is_null)
  std::string value;  // empty for a null value
  std::vector<std::pair<std::string, std::string>> headers;
  bool key_is_null = false;
  int64_t timestamp_ms = -1;
};

// Reads the topic from the beginning of every partition (assign, no group
// membership, no commits) until every partition reached its end (high
// watermark; the last stable offset for transactions) and at least
// expected_at_least messages were read, or until the timeout; returns what
// was read, in arrival order (ordered within each partition). A topic that
// does not exist gives an empty result at once when expected_at_least is 0,
// else it is waited for. Throws on non-retriable consumer errors.
std::vector<ConsumedMessage> consumeAll(const std::string& bootstrap, const std::string& topic,
                                        std::chrono::milliseconds timeout,
                                        size_t expected_at_least = 0);

}  // namespace storepulse::testing

// Fails the current test (fatally, returns from it) unless a broker is
// configured. Integration tests must fail, not skip, without a broker: CI
// runs them through deploy/test-kafka.sh, and a skipped test proves nothing.
#define SP_REQUIRE_KAFKA()                                                       \
  do {                                                                           \
    if (!::storepulse::testing::kafkaConfigured()) {                             \
      FAIL() << "STOREPULSE_TEST_KAFKA is not set: run through "                 \
                "deploy/test-kafka.sh run (e.g. deploy/test-kafka.sh run -- "    \
                "ctest --test-dir build -L integration)";                        \
    }                                                                            \
  } while (0)
