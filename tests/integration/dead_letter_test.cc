// Every kind of bad message a producer can send, through the real broker:
// each lands in the dead-letter topic with its original bytes, where it came
// from and why; the good messages around them are all folded into state.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/retail_fixture.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {
namespace {

struct BadMessage {
  const char* kind;
  std::string TestTopics::*topic;
  std::string payload;
  const char* reason;
};

std::vector<BadMessage> badMessages() {
  const std::string big(70 * 1024, 'x');
  return {
      {"not JSON", &TestTopics::clicks, "hello", "invalid_json"},
      {"truncated JSON", &TestTopics::clicks, R"({"customer_id":"c","sku":"s","ts":)", "invalid_json"},
      {"trailing bytes", &TestTopics::clicks, R"({"customer_id":"c","sku":"s","ts":1} x)", "invalid_json"},
      {"invalid UTF-8", &TestTopics::clicks, "{\"customer_id\":\"\xff\xfe\",\"sku\":\"s\",\"ts\":1}", "invalid_json"},
      {"empty message", &TestTopics::clicks, "", "invalid_json"},
      {"too deep", &TestTopics::clicks, std::string(100, '[') + std::string(100, ']'), "invalid_json"},
      {"array", &TestTopics::clicks, R"([1,2,3])", "not_an_object"},
      {"string", &TestTopics::scans, R"("scan")", "not_an_object"},
      {"oversized", &TestTopics::clicks, R"({"customer_id":"c","sku":"s","ts":1,"pad":")" + big + "\"}", "oversized"},
      {"click without sku", &TestTopics::clicks, R"({"customer_id":"c","ts":1})", "missing_field"},
      {"scan without store", &TestTopics::scans, R"({"customer_id":"c","ts":1})", "missing_field"},
      {"purchase without items", &TestTopics::purchases, R"({"order_id":"o","customer_id":"c","ts":1})",
       "missing_field"},
      {"item without price", &TestTopics::purchases,
       R"({"order_id":"o","customer_id":"c","ts":1,"items":[{"sku":"s","qty":1}]})", "missing_field"},
      {"inventory without available", &TestTopics::inventory, R"({"sku":"s","store_id":"s1","ts":1})",
       "missing_field"},
      {"customer id null", &TestTopics::customers, R"({"customer_id":null,"ts":1})", "missing_field"},
      {"numeric customer id", &TestTopics::clicks, R"({"customer_id":42,"sku":"s","ts":1})", "wrong_type"},
      {"ts as float", &TestTopics::clicks, R"({"customer_id":"c","sku":"s","ts":1.5})", "wrong_type"},
      {"qty as string", &TestTopics::purchases,
       R"({"order_id":"o","customer_id":"c","ts":1,"items":[{"sku":"s","qty":"1","price":2}]})", "wrong_type"},
      {"available as double", &TestTopics::inventory, R"({"sku":"s","store_id":"s1","available":1.5,"ts":1})",
       "wrong_type"},
      {"tags not a list", &TestTopics::customers, R"({"customer_id":"c","ts":1,"tags":"vip"})", "wrong_type"},
      {"negative price", &TestTopics::purchases,
       R"({"order_id":"o","customer_id":"c","ts":1,"items":[{"sku":"s","qty":1,"price":-2}]})", "invalid_value"},
      {"zero quantity", &TestTopics::purchases,
       R"({"order_id":"o","customer_id":"c","ts":1,"items":[{"sku":"s","qty":0,"price":2}]})", "invalid_value"},
      {"empty items", &TestTopics::purchases, R"({"order_id":"o","customer_id":"c","ts":1,"items":[]})",
       "invalid_value"},
      {"bad timestamp", &TestTopics::scans, R"({"customer_id":"c","ts":"yesterday","store_id":"s1"})",
       "invalid_value"},
      {"ts in the year 20000", &TestTopics::clicks, R"({"customer_id":"c","sku":"s","ts":9999999999999999})",
       "invalid_value"},
      {"empty customer id", &TestTopics::clicks, R"({"customer_id":"","sku":"s","ts":1})", "invalid_value"},
      {"latitude 91", &TestTopics::stores, R"({"store_id":"s1","lat":91})", "invalid_value"},
      {"duplicate field", &TestTopics::clicks, R"({"customer_id":"a","customer_id":"b","sku":"s","ts":1})",
       "duplicate_field"},
      {"unknown type", &TestTopics::clicks, R"({"type":"hover","customer_id":"c","sku":"s","ts":1})",
       "unknown_type"},
      {"type of another topic", &TestTopics::clicks, R"({"type":"purchase","customer_id":"c","sku":"s","ts":1})",
       "type_mismatch"},
  };
}

std::string header(const ConsumedMessage& m, const std::string& name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(DeadLetters, EveryKindOfBadMessageIsDeadLetteredWithItsReasonAndGoodOnesAreFolded) {
  SP_REQUIRE_KAFKA();
  const std::string bootstrap = kafkaBootstrap();
  TempDir dir;
  const TestTopics topics = createTestTopics(bootstrap, "dlq");
  const auto bad = badMessages();
  ASSERT_GE(bad.size(), 20u);

  // Each bad message sits between two good purchases of its own customer,
  // on the same partition (same key), so the partition must flow past it.
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string customer = "good-" + std::to_string(i);
    auto purchase = [&](int n) {
      return nlohmann::json{{"order_id", customer + "-" + std::to_string(n)},
                            {"customer_id", customer},
                            {"ts", 1700000000000 + n},
                            {"items", {{{"sku", "s1"}, {"qty", 1}, {"price", 10.5}}}}}
          .dump();
    };
    produceMessages(bootstrap, topics.purchases, {{customer, purchase(1)}});
    produceMessages(bootstrap, topics.*(bad[i].topic), {{customer, bad[i].payload}});
    produceMessages(bootstrap, topics.purchases, {{customer, purchase(2)}});
  }

  const EngineSettings settings = engineSettings(dir.path(), "dlq");
  auto engine = startEngine(bootstrap, topics, settings);
  engine->waitReady();
  engine->waitConsumed(static_cast<double>(bad.size() * 3));

  const auto letters = consumeAll(bootstrap, topics.dlq, std::chrono::seconds(30), bad.size());
  ASSERT_EQ(letters.size(), bad.size());
  for (const BadMessage& b : bad) {
    const std::string& topic = topics.*(b.topic);
    const ConsumedMessage* found = nullptr;
    for (const auto& m : letters) {
      if (m.value == b.payload && header(m, "storepulse.source.topic") == topic) found = &m;
    }
    ASSERT_NE(found, nullptr) << b.kind << ": not in the dead-letter topic with its original bytes";
    EXPECT_EQ(header(*found, "storepulse.reason"), b.reason) << b.kind << ": " << header(*found, "storepulse.detail");
    EXPECT_FALSE(header(*found, "storepulse.detail").empty()) << b.kind;
    EXPECT_FALSE(header(*found, "storepulse.source.partition").empty()) << b.kind;
    EXPECT_GE(std::stoll(header(*found, "storepulse.source.offset")), 0) << b.kind;
    EXPECT_EQ(found->key.rfind("good-", 0), 0u) << b.kind << ": the original key is kept";
  }

  const std::string metrics = engine->metrics();
  EXPECT_EQ(sumMetric(metrics, "storepulse_events_invalid_total"), static_cast<double>(bad.size()));
  EXPECT_EQ(sumMetric(metrics, "storepulse_events_invalid_total", {{"reason", "oversized"}}), 1);
  for (size_t i = 0; i < bad.size(); ++i) {
    const HttpReply reply = httpGet(engine->port(), "/v1/customers/good-" + std::to_string(i));
    ASSERT_EQ(reply.status, 200) << bad[i].kind;
    EXPECT_EQ(nlohmann::json::parse(reply.body)["order_count"], 2) << "around " << bad[i].kind;
  }
  ASSERT_EQ(engine->terminate(), 0) << engine->logTail();
}

}  // namespace
}  // namespace storepulse::testing
