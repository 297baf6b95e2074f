#pragma once
// Per-customer state (SPEC.md "State"), what one customer's events fold
// into. Windowed spend and cooldown stamps arrive with the rules issue.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/core/status.h"
#include "engine/event/event.h"

namespace storepulse {

struct RecentItem {
  std::string sku;
  int64_t ts_ms = 0;
  EventType kind = EventType::kClick;  // click, scan or purchase
  std::string store_id;
  bool operator==(const RecentItem&) const = default;
};

struct CategoryWeight {
  std::string category;
  int64_t weight = 0;  // integer so that the fold order never changes it
  bool operator==(const CategoryWeight&) const = default;
};

struct CustomerState {
  // Profile, from `customer` events; last event time wins per field.
  std::string name;
  std::string tier;
  std::string guide_id;
  std::string home_store;
  std::vector<std::string> tags;
  int64_t profile_ts_ms = 0;

  double lifetime_spend = 0;  // currency units, sum of purchase totals
  int64_t order_count = 0;
  int64_t first_seen_ms = 0;  // 0: never seen
  int64_t last_seen_ms = 0;
  int64_t last_purchase_ms = 0;
  std::string last_store_id;   // of the newest scan or purchase with a store
  int64_t last_store_ts_ms = 0;  // its event time, so that topic order cannot decide

  std::vector<RecentItem> recent_items;          // newest first, capped
  std::vector<CategoryWeight> category_affinity;  // by category name

  bool operator==(const CustomerState&) const = default;
};

struct CustomerStateOptions {
  size_t max_recent_items = 20;
  size_t max_categories = 32;  // the lightest category goes first
};

// Folds one decoded event into the state. Only customer-keyed types apply.
// The result depends on the events, not on how the topics interleave.
void applyEvent(const Event& event, const CustomerStateOptions& options, CustomerState& state);

void encodeCustomerState(const CustomerState& state, std::string& out);
Result<CustomerState> decodeCustomerState(std::string_view bytes);
nlohmann::json customerStateToJson(std::string_view customer_id, const CustomerState& state);

}  // namespace storepulse
