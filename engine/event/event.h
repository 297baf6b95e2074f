#pragma once
// The six kinds of input event of SPEC.md "Events (input)", decoded and
// validated. An Event is reused across messages by the decoder, so its
// strings keep their capacity on the hot path.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace storepulse {

enum class EventType : uint8_t { kClick, kScan, kPurchase, kInventory, kCustomer, kStore };
inline constexpr size_t kEventTypeCount = 6;
inline constexpr std::array<EventType, kEventTypeCount> kAllEventTypes = {
    EventType::kClick, EventType::kScan, EventType::kPurchase,
    EventType::kInventory, EventType::kCustomer, EventType::kStore};

// "click", "scan", ... as they appear in config, metrics and `type` fields.
std::string_view eventTypeName(EventType type);
std::optional<EventType> parseEventType(std::string_view name);

struct LineItem {
  std::string sku;
  int64_t qty = 0;
  double price = 0;
  std::string category;  // empty when absent
};

struct Event {
  EventType type = EventType::kClick;
  int64_t ts_ms = 0;  // event time; 0 for store events, which carry none

  // Identity fields; empty when the type does not have them.
  std::string customer_id;
  std::string sku;
  std::string store_id;
  std::string order_id;

  // click / scan / purchase
  std::string channel;
  std::string session_id;
  std::string guide_id;
  std::string category;
  std::optional<double> price;
  std::vector<LineItem> items;
  double total = 0;  // purchase: `total`, else the sum of qty * price

  // inventory
  int64_t available = 0;

  // customer profile: present fields overwrite, absent ones keep state.
  std::optional<std::string> name;
  std::optional<std::string> tier;
  std::optional<std::string> home_store;
  std::optional<std::vector<std::string>> tags;
  bool has_guide_id = false;

  // store profile
  std::optional<double> lat;
  std::optional<double> lon;
  std::optional<std::string> timezone;
  std::optional<double> daily_target;
  std::optional<std::string> manager_id;

  void clear();
};

}  // namespace storepulse
