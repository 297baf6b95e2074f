#pragma once
// Records of the global tables (SPEC.md "State"): every instance holds all
// of the inventory and store tables, whatever partitions it owns.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "engine/core/status.h"
#include "engine/event/event.h"

namespace storepulse {

struct InventoryRecord {  // key: "store_id:sku"
  int64_t available = 0;
  int64_t ts_ms = 0;
  bool operator==(const InventoryRecord&) const = default;
};

struct StoreRecord {  // key: store_id
  std::string name;
  std::optional<double> lat;
  std::optional<double> lon;
  std::string timezone;
  std::optional<double> daily_target;
  std::string manager_id;
  bool operator==(const StoreRecord&) const = default;
};

std::string inventoryKey(std::string_view store_id, std::string_view sku);

// Applies an inventory event; a stale event (older than the record) is
// ignored, so replays and reordering across partitions converge.
void applyInventory(const Event& event, InventoryRecord& record);
// Applies a store event: present fields overwrite.
void applyStore(const Event& event, StoreRecord& record);

void encodeInventoryRecord(const InventoryRecord& record, std::string& out);
Result<InventoryRecord> decodeInventoryRecord(std::string_view bytes);
void encodeStoreRecord(const StoreRecord& record, std::string& out);
Result<StoreRecord> decodeStoreRecord(std::string_view bytes);

}  // namespace storepulse
