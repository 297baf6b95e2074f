// The StateStore contract, written once and run over both implementations.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/state/keyed_record.h"
#include "engine/state/memory_state_store.h"
#include "engine/state/rocksdb_state_store.h"

namespace storepulse {
namespace {

// Each harness owns a store and can "restart" it: RocksDB closes and reopens
// the same directory; the memory store, which has no durability to test,
// keeps its object (the contract tests then still run against it).
class MemoryHarness {
 public:
  StateStore& store() { return store_; }
  void reopen() {}

 private:
  MemoryStateStore store_;
};

class RocksDbHarness {
 public:
  RocksDbHarness() {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "sp_state_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = pattern;
    open();
  }
  ~RocksDbHarness() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  StateStore& store() { return *store_; }
  void reopen() {
    store_.reset();  // closes the database
    open();
  }

 private:
  void open() {
    RocksDbOptions options;
    options.path = dir_;
    options.block_cache_bytes = 1 << 20;
    options.write_buffer_bytes = 1 << 20;
    auto opened = RocksDbStateStore::open(options);
    if (!opened.isOk()) {
      ADD_FAILURE() << opened.status().toString();
      return;
    }
    store_ = std::move(opened).value();
  }
  std::string dir_;
  std::unique_ptr<RocksDbStateStore> store_;
};

template <typename Harness>
class StateStoreContract : public ::testing::Test {
 protected:
  StateStore& store() { return harness_.store(); }
  void reopen() { harness_.reopen(); }

  void put(StateTable table, int32_t partition, std::string key, std::string value) {
    StateWriteBatch batch;
    batch.writes.push_back({table, partition, std::move(key), std::move(value)});
    ASSERT_TRUE(store().write(batch).isOk());
  }
  std::optional<std::string> get(StateTable table, int32_t partition, std::string_view key) {
    auto got = store().get(table, partition, key);
    EXPECT_TRUE(got.isOk()) << got.status().toString();
    return got.isOk() ? *got : std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> scanAll(StateTable table, int32_t partition) {
    std::vector<std::pair<std::string, std::string>> seen;
    EXPECT_TRUE(store()
                    .scan(table, partition,
                          [&seen](std::string_view k, std::string_view v) {
                            seen.emplace_back(std::string(k), std::string(v));
                            return true;
                          })
                    .isOk());
    return seen;
  }

  Harness harness_;
};

using Harnesses = ::testing::Types<MemoryHarness, RocksDbHarness>;
class HarnessNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryHarness> ? "Memory" : "RocksDb";
  }
};
TYPED_TEST_SUITE(StateStoreContract, Harnesses, HarnessNames);

TYPED_TEST(StateStoreContract, GetOfAMissingRecordIsEmptyNotAnError) {
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, "nobody"), std::nullopt);
}

TYPED_TEST(StateStoreContract, PutThenGetPerTable) {
  for (size_t t = 0; t < kStateTableCount; ++t) {
    const auto table = static_cast<StateTable>(t);
    this->put(table, 0, "k", std::string(stateTableName(table)));
  }
  for (size_t t = 0; t < kStateTableCount; ++t) {
    const auto table = static_cast<StateTable>(t);
    EXPECT_EQ(this->get(table, 0, "k"), std::string(stateTableName(table)));
  }
}

TYPED_TEST(StateStoreContract, EraseDeletesTheRecordInTheSameAtomicBatch) {
  this->put(StateTable::kRule, 0, "block", "v");
  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kRule, 0, "block", "", /*erase=*/true});
  batch.writes.push_back({StateTable::kRule, 0, "other", "w"});
  batch.next_offsets.push_back({TopicPartition{"t", 0}, 5});
  ASSERT_TRUE(this->store().write(batch).isOk());
  EXPECT_EQ(this->get(StateTable::kRule, 0, "block"), std::nullopt);
  EXPECT_EQ(this->get(StateTable::kRule, 0, "other"), "w");
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"t", 0}), 5);
}

TYPED_TEST(StateStoreContract, SameKeyInTwoPartitionsIsTwoRecords) {
  this->put(StateTable::kCustomer, 0, "c1", "in-p0");
  this->put(StateTable::kCustomer, 1, "c1", "in-p1");
  this->put(StateTable::kCustomer, kGlobalPartition, "c1", "global");
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, "c1"), "in-p0");
  EXPECT_EQ(this->get(StateTable::kCustomer, 1, "c1"), "in-p1");
  EXPECT_EQ(this->get(StateTable::kCustomer, kGlobalPartition, "c1"), "global");
  EXPECT_EQ(this->get(StateTable::kCustomer, 2, "c1"), std::nullopt);
}

TYPED_TEST(StateStoreContract, LaterWriteOverwrites) {
  this->put(StateTable::kCustomer, 3, "c1", "v1");
  this->put(StateTable::kCustomer, 3, "c1", "v2");
  EXPECT_EQ(this->get(StateTable::kCustomer, 3, "c1"), "v2");
}

TYPED_TEST(StateStoreContract, KeyWrittenTwiceInOneBatchKeepsTheLastValue) {
  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kCustomer, 0, "c1", "first"});
  batch.writes.push_back({StateTable::kCustomer, 0, "a", "other"});
  batch.writes.push_back({StateTable::kCustomer, 0, "c1", "last"});
  ASSERT_TRUE(this->store().write(batch).isOk());
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, "c1"), "last");
}

TYPED_TEST(StateStoreContract, KeysAndValuesAreBinarySafe) {
  const std::string key("a\0b\xff", 4);
  const std::string value("\0\0\x01", 3);
  this->put(StateTable::kCustomer, 0, key, value);
  this->put(StateTable::kCustomer, 0, "", "empty key");
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, key), value);
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, std::string("a\0b", 3)), std::nullopt);
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, ""), "empty key");
}

TYPED_TEST(StateStoreContract, NextOffsetIsAbsentUntilCommittedThenPresent) {
  const TopicPartition tp{"retail.clicks", 4};
  auto before = this->store().nextOffset(tp);
  ASSERT_TRUE(before.isOk());
  EXPECT_EQ(*before, std::nullopt);
  StateWriteBatch batch;
  batch.next_offsets.push_back({tp, 42});
  ASSERT_TRUE(this->store().write(batch).isOk());
  EXPECT_EQ(*this->store().nextOffset(tp), 42);
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"retail.clicks", 5}), std::nullopt);
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"retail.scans", 4}), std::nullopt);
}

TYPED_TEST(StateStoreContract, OffsetsOfTopicsWithCommonPrefixesStayApart) {
  StateWriteBatch batch;
  batch.next_offsets.push_back({TopicPartition{"a", 1}, 10});
  batch.next_offsets.push_back({TopicPartition{"ab", 1}, 20});
  batch.next_offsets.push_back({TopicPartition{"a", 256}, 30});
  batch.next_offsets.push_back({TopicPartition{"big", 0}, int64_t{1} << 50});
  ASSERT_TRUE(this->store().write(batch).isOk());
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"a", 1}), 10);
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"ab", 1}), 20);
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"a", 256}), 30);
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"big", 0}), int64_t{1} << 50);
}

TYPED_TEST(StateStoreContract, CommitsStateAndOffsetsInOneWriteThatSurvivesReopen) {
  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kCustomer, 0, "c1", "state-c1"});
  batch.writes.push_back({StateTable::kCustomer, 1, "c2", "state-c2"});
  batch.writes.push_back({StateTable::kInventory, kGlobalPartition, "st1:s1", "inv"});
  batch.next_offsets.push_back({TopicPartition{"retail.clicks", 0}, 11});
  batch.next_offsets.push_back({TopicPartition{"retail.clicks", 1}, 7});
  ASSERT_TRUE(this->store().write(batch).isOk());
  this->reopen();
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, "c1"), "state-c1");
  EXPECT_EQ(this->get(StateTable::kCustomer, 1, "c2"), "state-c2");
  EXPECT_EQ(this->get(StateTable::kInventory, kGlobalPartition, "st1:s1"), "inv");
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"retail.clicks", 0}), 11);
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"retail.clicks", 1}), 7);
}

// A keyed record of entries (keyed_record.h).
std::string keyed(std::initializer_list<std::pair<uint64_t, std::string>> entries) {
  std::string out;
  keyed_record::begin(out, entries.size());
  for (const auto& [id, bytes] : entries) keyed_record::add(out, id, bytes);
  return out;
}

TYPED_TEST(StateStoreContract, MergeReplacesAndAddsEntriesAndSurvivesReopen) {
  StateWriteBatch first;
  first.writes.push_back({StateTable::kAggregate, 0, "c1", keyed({{1, "a"}, {2, "b"}})});
  ASSERT_TRUE(this->store().write(first).isOk());
  StateWriteBatch second;  // entry 2 changed, 3 new; two operands for one key in one batch apply in order
  second.writes.push_back({StateTable::kAggregate, 0, "c1", keyed({{2, "b2"}}), false, true});
  second.writes.push_back({StateTable::kAggregate, 0, "c1", keyed({{3, "c"}, {2, "b3"}}), false, true});
  second.writes.push_back({StateTable::kAggregate, 0, "c2", keyed({{9, "new"}}), false, true});
  ASSERT_TRUE(this->store().write(second).isOk());
  const std::string merged = keyed({{1, "a"}, {2, "b3"}, {3, "c"}});
  EXPECT_EQ(this->get(StateTable::kAggregate, 0, "c1"), merged);
  EXPECT_EQ(this->get(StateTable::kAggregate, 0, "c2"), keyed({{9, "new"}}));  // onto no record
  this->reopen();
  EXPECT_EQ(this->get(StateTable::kAggregate, 0, "c1"), merged);
  std::vector<std::string> scanned;
  ASSERT_TRUE(this->store()
                  .scan(StateTable::kAggregate, 0, [&](std::string_view, std::string_view v) {
                    scanned.emplace_back(v);
                    return true;
                  })
                  .isOk());
  EXPECT_EQ(scanned, (std::vector<std::string>{merged, keyed({{9, "new"}})}));
}

TYPED_TEST(StateStoreContract, LaterBatchesMoveOffsetsAndKeepEarlierRecords) {
  StateWriteBatch first;
  first.writes.push_back({StateTable::kCustomer, 0, "c1", "v1"});
  first.next_offsets.push_back({TopicPartition{"t", 0}, 5});
  ASSERT_TRUE(this->store().write(first).isOk());
  StateWriteBatch second;
  second.writes.push_back({StateTable::kCustomer, 0, "c2", "v2"});
  second.next_offsets.push_back({TopicPartition{"t", 0}, 9});
  ASSERT_TRUE(this->store().write(second).isOk());
  this->reopen();
  EXPECT_EQ(*this->store().nextOffset(TopicPartition{"t", 0}), 9);
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, "c1"), "v1");
  EXPECT_EQ(this->get(StateTable::kCustomer, 0, "c2"), "v2");
}

TYPED_TEST(StateStoreContract, EmptyBatchIsAccepted) {
  EXPECT_TRUE(this->store().write(StateWriteBatch{}).isOk());
}

TYPED_TEST(StateStoreContract, ScanVisitsExactlyOnePartitionInKeyOrder) {
  // Neighbouring partitions on both sides, and 256 whose big-endian prefix
  // differs from 1's only in another byte.
  for (int32_t p : {0, 1, 2, 256, kGlobalPartition}) {
    this->put(StateTable::kCustomer, p, "k-other-" + std::to_string(p), "x");
  }
  this->put(StateTable::kCustomer, 1, "b", "2");
  this->put(StateTable::kCustomer, 1, "a", "1");
  this->put(StateTable::kCustomer, 1, "c", "3");
  this->put(StateTable::kInventory, 1, "a", "another table");
  const auto seen = this->scanAll(StateTable::kCustomer, 1);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "1"}, {"b", "2"}, {"c", "3"}, {"k-other-1", "x"}};
  EXPECT_EQ(seen, expected);
}

TYPED_TEST(StateStoreContract, ScanStopsWhenTheVisitorReturnsFalse) {
  for (const char* k : {"a", "b", "c", "d"}) this->put(StateTable::kCustomer, 0, k, "v");
  std::vector<std::string> seen;
  ASSERT_TRUE(this->store()
                  .scan(StateTable::kCustomer, 0,
                        [&seen](std::string_view k, std::string_view) {
                          seen.emplace_back(k);
                          return seen.size() < 2;
                        })
                  .isOk());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TYPED_TEST(StateStoreContract, ScanOfAnEmptyPartitionVisitsNothing) {
  this->put(StateTable::kCustomer, 0, "a", "v");
  EXPECT_TRUE(this->scanAll(StateTable::kCustomer, 7).empty());
  EXPECT_TRUE(this->scanAll(StateTable::kStore, 0).empty());
}

TYPED_TEST(StateStoreContract, GlobalPartitionRecordsDoNotShowInPartitionScans) {
  this->put(StateTable::kInventory, kGlobalPartition, "st1:s1", "g");
  this->put(StateTable::kInventory, 0, "p0", "p");
  EXPECT_EQ(this->scanAll(StateTable::kInventory, 0), (std::vector<std::pair<std::string, std::string>>{{"p0", "p"}}));
  EXPECT_EQ(this->scanAll(StateTable::kInventory, kGlobalPartition),
            (std::vector<std::pair<std::string, std::string>>{{"st1:s1", "g"}}));
}

TYPED_TEST(StateStoreContract, StatsReportKeysPerTable) {
  StateWriteBatch batch;
  for (int i = 0; i < 5; ++i) batch.writes.push_back({StateTable::kCustomer, i % 2, "c" + std::to_string(i), "v"});
  batch.writes.push_back({StateTable::kStore, kGlobalPartition, "st1", "v"});
  batch.next_offsets.push_back({TopicPartition{"t", 0}, 3});  // offsets are not records
  ASSERT_TRUE(this->store().write(batch).isOk());
  const StateStoreStats stats = this->store().stats();
  EXPECT_EQ(stats.estimated_keys[static_cast<size_t>(StateTable::kCustomer)], 5u);
  EXPECT_EQ(stats.estimated_keys[static_cast<size_t>(StateTable::kInventory)], 0u);
  EXPECT_EQ(stats.estimated_keys[static_cast<size_t>(StateTable::kStore)], 1u);
  EXPECT_GT(stats.live_bytes, 0u);
  EXPECT_EQ(stats.background_errors, 0u);
}

TEST(StateTableName, NamesEveryTable) {
  EXPECT_EQ(stateTableName(StateTable::kCustomer), "customer");
  EXPECT_EQ(stateTableName(StateTable::kInventory), "inventory");
  EXPECT_EQ(stateTableName(StateTable::kStore), "store");
  EXPECT_EQ(stateTableName(StateTable::kAggregate), "aggregate");
  EXPECT_EQ(stateTableName(StateTable::kRule), "rule");
}

TEST(MemoryStateStore, CountsWrites) {
  MemoryStateStore store;
  EXPECT_EQ(store.writeCount(), 0u);
  ASSERT_TRUE(store.write(StateWriteBatch{}).isOk());
  EXPECT_EQ(store.writeCount(), 1u);
}

TEST(RocksDbStateStore, OpenFailsWithAnErrorWhenThePathIsAFile) {
  std::string pattern = (std::filesystem::path(::testing::TempDir()) / "sp_file_XXXXXX").string();
  const int fd = mkstemp(pattern.data());
  ASSERT_GE(fd, 0);
  close(fd);
  RocksDbOptions options;
  options.path = pattern;
  auto opened = RocksDbStateStore::open(options);
  EXPECT_FALSE(opened.isOk());
  std::filesystem::remove(pattern);
}

TEST(RocksDbStateStore, CreatesMissingDirectories) {
  std::string pattern = (std::filesystem::path(::testing::TempDir()) / "sp_dirs_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  RocksDbOptions options;
  options.path = pattern + "/nested/deeper";
  {
    auto opened = RocksDbStateStore::open(options);
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  }
  EXPECT_TRUE(std::filesystem::exists(options.path));
  std::filesystem::remove_all(pattern);
}

}  // namespace
}  // namespace storepulse
