#pragma once
// Decodes and validates one message's bytes into an Event, per the schemas
// of SPEC.md. A rejected message carries a reason (a fixed, small set: it is
// a metric label) and a human detail, and goes to the dead-letter topic.
//
// Owned by one partition worker; not thread-safe (it reuses its parser).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/event/event.h"

namespace storepulse {

enum class InvalidReason : uint8_t {
  kInvalidJson,     // not JSON, not UTF-8, trailing bytes, nested too deep
  kNotAnObject,     // JSON, but not an object
  kMissingField,    // a required field is absent or null
  kWrongType,       // a field of the wrong JSON type
  kInvalidValue,    // right type, impossible value (negative price, bad date)
  kDuplicateField,  // a known field given twice: which one counts is unclear
  kOversized,       // larger than ingest.max_message_bytes
  kUnknownType,     // `type` names no event type
  kTypeMismatch,    // `type` names another type than the topic carries
};
inline constexpr size_t kInvalidReasonCount = 9;

std::string_view invalidReasonName(InvalidReason reason);

struct Rejection {
  InvalidReason reason;
  std::string detail;  // "field 'qty' of items[2] must be an integer > 0"
};

struct DecoderOptions {
  size_t max_message_bytes = 64 * 1024;  // bytes; larger messages are rejected unread
  size_t max_depth = 32;                 // JSON nesting limit
  size_t max_items = 1000;               // purchase line items
  size_t max_id_length = 256;            // bytes in customer_id, sku, store_id, ...
};

class EventDecoder {
 public:
  explicit EventDecoder(DecoderOptions options = {});
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes `bytes` as an event of `type` (the type the topic carries) into
  // `out`. Returns nullopt on success, else why the message was rejected.
  std::optional<Rejection> decode(EventType type, std::string_view bytes, Event& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace storepulse
