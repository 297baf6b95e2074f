#include "engine/state/global_records.h"

#include <gtest/gtest.h>

#include <string>

namespace storepulse {
namespace {

Event inventory(int64_t available, int64_t ts) {
  Event e;
  e.type = EventType::kInventory;
  e.store_id = "st1";
  e.sku = "s1";
  e.available = available;
  e.ts_ms = ts;
  return e;
}

TEST(InventoryKey, JoinsStoreAndSkuWithAColon) { EXPECT_EQ(inventoryKey("st1", "sku-9"), "st1:sku-9"); }

TEST(ApplyInventory, NewerEventOverwrites) {
  InventoryRecord r;
  applyInventory(inventory(5, 100), r);
  applyInventory(inventory(0, 200), r);
  EXPECT_EQ(r, (InventoryRecord{0, 200}));
}

TEST(ApplyInventory, StaleEventIsIgnored) {
  InventoryRecord r;
  applyInventory(inventory(0, 200), r);
  applyInventory(inventory(5, 100), r);  // a late replay of an older count
  EXPECT_EQ(r, (InventoryRecord{0, 200}));
}

TEST(ApplyInventory, EventWithTheSameTimeIsAppliedInPartitionOrder) {
  InventoryRecord r;
  applyInventory(inventory(5, 100), r);
  applyInventory(inventory(4, 100), r);
  EXPECT_EQ(r.available, 4);
}

TEST(InventoryRecordCodec, RoundTripsAndRejectsCorruptBytes) {
  const InventoryRecord r{-3, 1700000000000};
  std::string bytes;
  encodeInventoryRecord(r, bytes);
  auto decoded = decodeInventoryRecord(bytes);
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(*decoded, r);
  EXPECT_FALSE(decodeInventoryRecord(bytes.substr(0, bytes.size() - 1)).isOk());
  EXPECT_FALSE(decodeInventoryRecord(bytes + "x").isOk());
  std::string wrong_version = bytes;
  wrong_version[0] = 7;
  EXPECT_EQ(decodeInventoryRecord(wrong_version).status().code(), ErrorCode::kCorruption);
}

TEST(ApplyStore, PresentFieldsOverwriteAbsentOnesKeep) {
  Event first;
  first.type = EventType::kStore;
  first.store_id = "st1";
  first.name = "Jing'an";
  first.lat = 31.2;
  first.lon = 121.4;
  first.timezone = "Asia/Shanghai";
  first.daily_target = 50000;
  first.manager_id = "m1";
  Event second;
  second.type = EventType::kStore;
  second.store_id = "st1";
  second.daily_target = 60000;
  StoreRecord r;
  applyStore(first, r);
  applyStore(second, r);
  EXPECT_EQ(r.name, "Jing'an");
  EXPECT_EQ(r.lat, 31.2);
  EXPECT_EQ(r.timezone, "Asia/Shanghai");
  EXPECT_EQ(r.daily_target, 60000.0);
  EXPECT_EQ(r.manager_id, "m1");
}

TEST(StoreRecordCodec, RoundTripsWithAndWithoutOptionalNumbers) {
  StoreRecord full{"Jing'an", 31.2, -121.4, "Asia/Shanghai", 0.0, "m1"};
  StoreRecord sparse{"", std::nullopt, std::nullopt, "", std::nullopt, ""};
  for (const StoreRecord& r : {full, sparse}) {
    std::string bytes;
    encodeStoreRecord(r, bytes);
    auto decoded = decodeStoreRecord(bytes);
    ASSERT_TRUE(decoded.isOk());
    EXPECT_EQ(*decoded, r);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(decodeStoreRecord(bytes.substr(0, n)).isOk()) << "prefix of " << n << " bytes";
    }
    EXPECT_FALSE(decodeStoreRecord(bytes + "x").isOk());
  }
}

TEST(StoreRecordCodec, ZeroTargetIsDistinctFromNoTarget) {
  // A store with target 0 has met it; one with no target has none to meet.
  std::string zero, none;
  encodeStoreRecord(StoreRecord{"", {}, {}, "", 0.0, ""}, zero);
  encodeStoreRecord(StoreRecord{}, none);
  EXPECT_NE(zero, none);
  EXPECT_EQ(decodeStoreRecord(zero)->daily_target, 0.0);
  EXPECT_FALSE(decodeStoreRecord(none)->daily_target.has_value());
}

}  // namespace
}  // namespace storepulse
