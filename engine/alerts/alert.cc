#include "engine/alerts/alert.h"

#include <fmt/format.h>

#include "engine/core/stable_hash.h"
#include "engine/core/time.h"

namespace storepulse {

std::string alertId(std::string_view rule, const std::vector<std::string>& parts, int64_t event_ts_ms) {
  StableHash h;
  h.addPart(rule);
  for (const std::string& p : parts) h.addPart(p);
  h.addPart(std::to_string(event_ts_ms));
  return fmt::format("{:016x}", h.value());
}

nlohmann::ordered_json Alert::toJson() const {
  nlohmann::ordered_json j = {
      {"id", id},
      {"rule", rule},
      {"severity", severity},
      {"title", title},
      {"recipient", {{"kind", recipient_kind}, {"id", recipient}}},
      {"event_ts", formatRfc3339Millis(event_ts_ms)},
      {"fired_ts", formatRfc3339Millis(fired_ts_ms)},
      {"facts", facts},
  };
  if (!body.empty()) j["body"] = body;
  if (!customer_id.empty()) j["customer_id"] = customer_id;
  if (!store_id.empty()) j["store_id"] = store_id;
  if (!guide_id.empty()) j["guide_id"] = guide_id;
  if (!recommendations.empty()) j["recommendations"] = recommendations;
  if (shadow) j["shadow"] = true;
  return j;
}

}  // namespace storepulse
