// Customer-keyed topics with different partition counts would spread one
// customer's events over two partitions' state; the engine refuses to start
// on them, naming the topics, as Kafka Streams does.

#include <gtest/gtest.h>

#include "tests/integration/retail_fixture.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {
namespace {

TEST(CoPartitioning, EngineStopsWithAClearErrorWhenCustomerTopicsDifferInPartitionCount) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  TestTopics topics = createTestTopics(bootstrap, "copart");
  topics.clicks = topics.prefix + ".clicks-2";
  createTopics(bootstrap, {topics.clicks}, 2);

  const EngineSettings settings = engineSettings(dir.path(), "copart");
  auto engine = startEngine(bootstrap, topics, settings);
  EXPECT_EQ(engine->waitExit(), 1);
  const std::string log = engine->logTail();
  EXPECT_NE(log.find("must have the same partition count"), std::string::npos) << log;
  EXPECT_NE(log.find(topics.clicks + " (2 partitions)"), std::string::npos) << log;
}

}  // namespace
}  // namespace storepulse::testing
