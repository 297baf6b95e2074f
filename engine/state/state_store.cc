#include "engine/state/state_store.h"

namespace storepulse {

std::string_view stateTableName(StateTable table) {
  switch (table) {
    case StateTable::kCustomer: return "customer";
    case StateTable::kInventory: return "inventory";
    case StateTable::kStore: return "store";
    case StateTable::kAggregate: return "aggregate";
    case StateTable::kRule: return "rule";
  }
  return "unknown";
}

}  // namespace storepulse
