#include "engine/event/event_fields.h"

namespace storepulse {
namespace {

using K = FieldKind;

constexpr EventField kClick[] = {
    {"customer_id", K::kString, true}, {"sku", K::kString, true},        {"ts", K::kTimestamp, true},
    {"channel", K::kString, false},    {"session_id", K::kString, false}, {"category", K::kString, false},
    {"price", K::kDouble, false},
};
constexpr EventField kScan[] = {
    {"customer_id", K::kString, true}, {"ts", K::kTimestamp, true},     {"store_id", K::kString, true},
    {"sku", K::kString, false},        {"guide_id", K::kString, false}, {"category", K::kString, false},
    {"price", K::kDouble, false},
};
constexpr EventField kPurchase[] = {
    {"order_id", K::kString, true},  {"customer_id", K::kString, true}, {"ts", K::kTimestamp, true},
    {"items", K::kItemList, true},   {"store_id", K::kString, false},   {"channel", K::kString, false},
    {"guide_id", K::kString, false}, {"total", K::kDouble, false},
};
constexpr EventField kInventory[] = {
    {"sku", K::kString, true},
    {"store_id", K::kString, true},
    {"available", K::kInt, true},
    {"ts", K::kTimestamp, true},
};
constexpr EventField kCustomer[] = {
    {"customer_id", K::kString, true}, {"ts", K::kTimestamp, true},       {"name", K::kString, false},
    {"tier", K::kString, false},       {"guide_id", K::kString, false},   {"home_store", K::kString, false},
    {"tags", K::kStringList, false},
};
constexpr EventField kStore[] = {
    {"store_id", K::kString, true},   {"name", K::kString, false},       {"lat", K::kDouble, false},
    {"lon", K::kDouble, false},       {"timezone", K::kString, false},   {"daily_target", K::kDouble, false},
    {"manager_id", K::kString, false},
};

}  // namespace

std::span<const EventField> eventFields(EventType type) {
  switch (type) {
    case EventType::kClick: return kClick;
    case EventType::kScan: return kScan;
    case EventType::kPurchase: return kPurchase;
    case EventType::kInventory: return kInventory;
    case EventType::kCustomer: return kCustomer;
    case EventType::kStore: return kStore;
  }
  return {};
}

const EventField* findEventField(EventType type, std::string_view name) {
  for (const EventField& f : eventFields(type)) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace storepulse
