#include "engine/event/event.h"

namespace storepulse {

std::string_view eventTypeName(EventType type) {
  switch (type) {
    case EventType::kClick: return "click";
    case EventType::kScan: return "scan";
    case EventType::kPurchase: return "purchase";
    case EventType::kInventory: return "inventory";
    case EventType::kCustomer: return "customer";
    case EventType::kStore: return "store";
  }
  return "unknown";
}

std::optional<EventType> parseEventType(std::string_view name) {
  for (EventType t : kAllEventTypes) {
    if (eventTypeName(t) == name) return t;
  }
  return std::nullopt;
}

void Event::clear() {
  ts_ms = 0;
  customer_id.clear();
  sku.clear();
  store_id.clear();
  order_id.clear();
  channel.clear();
  session_id.clear();
  guide_id.clear();
  category.clear();
  price.reset();
  items.clear();
  total = 0;
  available = 0;
  name.reset();
  tier.reset();
  home_store.reset();
  tags.reset();
  has_guide_id = false;
  lat.reset();
  lon.reset();
  timezone.reset();
  daily_target.reset();
  manager_id.reset();
}

}  // namespace storepulse
