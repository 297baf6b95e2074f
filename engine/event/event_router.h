#pragma once
// Finds the type and the Kafka key of a recorded event (a JSON line with a
// `type` field): customer_id for customer-keyed events, "store_id:sku" for
// inventory, store_id for stores (SPEC.md "Events (input)").
// One per thread: it reuses its parser.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "engine/event/event.h"

namespace storepulse {

struct RoutedEvent {
  EventType type;
  std::string key;
  int64_t ts_ms = 0;  // event time when `ts` reads as one, else 0 (the decoder judges it)
};

class EventRouter {
 public:
  EventRouter();
  ~EventRouter();
  Result<RoutedEvent> route(std::string_view json_line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace storepulse
