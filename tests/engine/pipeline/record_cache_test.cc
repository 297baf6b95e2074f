#include "engine/pipeline/record_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace storepulse {
namespace {

struct Record {
  StateTable table;
  int32_t partition;
  std::string key;
  int value = 0;
};

std::unique_ptr<Record> record(StateTable table, int32_t partition, std::string key, int value) {
  return std::make_unique<Record>(Record{table, partition, std::move(key), value});
}

TEST(RecordCacheTest, FindsByTablePartitionAndKey) {
  RecordCache<Record> cache;
  cache.insert(record(StateTable::kCustomer, 0, "c1", 1));
  cache.insert(record(StateTable::kCustomer, 1, "c1", 2));
  cache.insert(record(StateTable::kInventory, kGlobalPartition, "c1", 3));

  EXPECT_EQ(cache.find(StateTable::kCustomer, 0, "c1")->value, 1);
  EXPECT_EQ(cache.find(StateTable::kCustomer, 1, "c1")->value, 2);
  EXPECT_EQ(cache.find(StateTable::kInventory, kGlobalPartition, "c1")->value, 3);
  EXPECT_EQ(cache.find(StateTable::kStore, kGlobalPartition, "c1"), nullptr);
  EXPECT_EQ(cache.find(StateTable::kCustomer, 0, "c2"), nullptr);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(RecordCacheTest, GrowingKeepsEveryRecordAndItsAddress) {
  RecordCache<Record> cache;
  std::vector<Record*> inserted;
  for (int i = 0; i < 50000; ++i) inserted.push_back(cache.insert(record(StateTable::kCustomer, i % 7, "c" + std::to_string(i), i)));
  for (int i = 0; i < 50000; ++i) {
    ASSERT_EQ(cache.find(StateTable::kCustomer, i % 7, "c" + std::to_string(i)), inserted[i]) << i;
  }
  EXPECT_EQ(cache.find(StateTable::kCustomer, 1, "c0"), nullptr);
}

TEST(RecordCacheTest, EraseIfRemovesOnlyTheSelectedRecords) {
  RecordCache<Record> cache;
  cache.reserve(100);
  for (int i = 0; i < 100; ++i) cache.insert(record(StateTable::kCustomer, i % 2, "c" + std::to_string(i), i));
  cache.eraseIf([](const Record& r) { return r.partition == 1; });
  EXPECT_EQ(cache.size(), 50u);
  for (int i = 0; i < 100; ++i) {
    Record* found = cache.find(StateTable::kCustomer, i % 2, "c" + std::to_string(i));
    if (i % 2) {
      EXPECT_EQ(found, nullptr) << i;
    } else {
      ASSERT_NE(found, nullptr) << i;
      EXPECT_EQ(found->value, i);
    }
  }
}

TEST(RecordCacheTest, ClearEmptiesAndTheCacheFillsAgain) {
  RecordCache<Record> cache;
  for (int i = 0; i < 3000; ++i) cache.insert(record(StateTable::kCustomer, 0, "c" + std::to_string(i), i));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find(StateTable::kCustomer, 0, "c1"), nullptr);
  cache.insert(record(StateTable::kCustomer, 0, "c1", 7));
  EXPECT_EQ(cache.find(StateTable::kCustomer, 0, "c1")->value, 7);
}

}  // namespace
}  // namespace storepulse
