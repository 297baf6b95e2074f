#include "engine/event/event_router.h"

#include <simdjson.h>

#include "engine/core/time.h"

namespace storepulse {

struct EventRouter::Impl {
  simdjson::dom::parser parser;
};

EventRouter::EventRouter() : impl_(std::make_unique<Impl>()) {}
EventRouter::~EventRouter() = default;

Result<RoutedEvent> EventRouter::route(std::string_view line) {
  simdjson::dom::object object;
  if (impl_->parser.parse(line.data(), line.size(), true).get_object().get(object) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidArgument, "not a JSON object");
  }
  auto field = [&object](const char* name) -> std::string_view {
    std::string_view value;
    if (object[name].get_string().get(value) != simdjson::SUCCESS) return {};
    return value;
  };
  const std::string_view type_name = field("type");
  if (type_name.empty()) return Status(ErrorCode::kInvalidArgument, "no string field 'type'");
  auto type = parseEventType(type_name);
  if (!type) return Status(ErrorCode::kInvalidArgument, "unknown event type '" + std::string(type_name) + "'");
  RoutedEvent routed{*type, {}, 0};
  // Replays order events by time: read `ts` as the decoder would.
  if (int64_t ms = 0; object["ts"].get_int64().get(ms) == simdjson::SUCCESS) {
    routed.ts_ms = ms;
  } else if (std::string_view text; object["ts"].get_string().get(text) == simdjson::SUCCESS) {
    routed.ts_ms = parseRfc3339Millis(text).value_or(0);
  }
  switch (*type) {
    case EventType::kInventory:
      routed.key = std::string(field("store_id")) + ":" + std::string(field("sku"));
      break;
    case EventType::kStore:
      routed.key = field("store_id");
      break;
    default:
      routed.key = field("customer_id");
      break;
  }
  return routed;
}

}  // namespace storepulse
