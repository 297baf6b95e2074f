#include "engine/alerts/alert.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace storepulse {
namespace {

// What nlohmann::ordered_json writes for the same alert: the text the
// writer must equal byte for byte.
std::string reference(const Alert& a, const std::string& event_ts, const std::string& fired_ts) {
  nlohmann::ordered_json j = {
      {"id", a.id},
      {"rule", a.rule},
      {"severity", a.severity},
      {"title", a.title},
      {"recipient", {{"kind", a.recipient_kind}, {"id", a.recipient}}},
      {"event_ts", event_ts},
      {"fired_ts", fired_ts},
      {"facts", a.facts},
  };
  if (!a.body.empty()) j["body"] = a.body;
  if (!a.customer_id.empty()) j["customer_id"] = a.customer_id;
  if (!a.store_id.empty()) j["store_id"] = a.store_id;
  if (!a.guide_id.empty()) j["guide_id"] = a.guide_id;
  if (!a.recommendations.empty()) j["recommendations"] = a.recommendations;
  if (a.shadow) j["shadow"] = true;
  return j.dump();
}

TEST(AlertTest, JsonTextIsWhatAJsonLibraryWritesEscapesIncluded) {
  Alert a;
  a.id = "00ff00ff00ff00ff";
  a.rule = "high-value-lead";
  a.severity = "high";
  a.title = "张三 \"VIP\" looks at C:\\bags\n\ttab \x01\x1f end";
  a.recipient = "g7";
  a.recipient_kind = "guide";
  a.event_ts_ms = 1709287200000;  // 2024-03-01T10:00:00Z
  a.fired_ts_ms = 1709287200123;
  a.facts["spend"] = 6000.5;
  a.facts["views"] = 3;
  a.facts["nested"] = {{"b", nullptr}, {"a", {1, "x"}}};
  EXPECT_EQ(a.toJson(), reference(a, "2024-03-01T10:00:00Z", "2024-03-01T10:00:00.123Z"));

  a.body = "line one\r\nline two";
  a.customer_id = "c1";
  a.store_id = "s\"1";
  a.guide_id = "g7";
  a.recommendations = nlohmann::json::array({"sku-1", "sku-2"});
  a.shadow = true;
  const std::string text = a.toJson();
  EXPECT_EQ(text, reference(a, "2024-03-01T10:00:00Z", "2024-03-01T10:00:00.123Z"));
  EXPECT_EQ(nlohmann::json::parse(text)["title"], a.title);
}

TEST(AlertTest, IdIsDeterministicAndDependsOnEveryPart) {
  const std::string id = alertId("r", {"c1", "sku"}, 5);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id, alertId("r", {"c1", "sku"}, 5));
  EXPECT_NE(id, alertId("r", {"c1", "sku"}, 6));
  EXPECT_NE(id, alertId("r", {"c1sku"}, 5));
  EXPECT_NE(id, alertId("q", {"c1", "sku"}, 5));
}

}  // namespace
}  // namespace storepulse
