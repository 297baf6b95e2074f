#pragma once
// The documented fields of each event type (SPEC.md "Events (input)") and
// their value kinds: what rule files may group aggregates by or sum, and
// what the rule language declares on `event`. Events may carry further
// fields; rules read those as dynamic values.

#include <span>
#include <string_view>

#include "engine/event/event.h"

namespace storepulse {

enum class FieldKind { kString, kInt, kDouble, kTimestamp, kStringList, kItemList };

struct EventField {
  std::string_view name;
  FieldKind kind;
  bool required;
};

std::span<const EventField> eventFields(EventType type);
const EventField* findEventField(EventType type, std::string_view name);

}  // namespace storepulse
