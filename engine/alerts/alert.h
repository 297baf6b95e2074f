#pragma once
// An alert as SPEC.md "Alerts (output)" defines it: who should act, on
// what, why; with an id that the same input always yields, so that every
// consumer can drop the duplicates an at-least-once replay produces.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace storepulse {

struct Alert {
  std::string id;
  std::string rule;
  std::string severity;
  std::string title;
  std::string body;       // empty when the rule has none
  std::string recipient;  // resolved: a guide id, a store manager id, or a channel name
  std::string recipient_kind;  // guide, store_manager, channel
  std::string customer_id;
  std::string store_id;
  std::string guide_id;
  int64_t event_ts_ms = 0;  // the event (or scheduled time) that fired it
  int64_t fired_ts_ms = 0;  // the engine clock when it fired
  bool shadow = false;      // a shadow-mode rule: counted, never delivered
  nlohmann::ordered_json facts = nlohmann::ordered_json::object();  // in the order the rule lists them
  nlohmann::json recommendations = nlohmann::json::array();

  // The alert as JSON text, fields in SPEC.md's order; optional ones only
  // when set.
  std::string toJson() const;
};

// The deterministic id: a hash of the rule, the key it fired for and the
// event time, written as 16 hex digits. `parts` are the key's values.
std::string alertId(std::string_view rule, const std::vector<std::string>& parts, int64_t event_ts_ms);

}  // namespace storepulse
