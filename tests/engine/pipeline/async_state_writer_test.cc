#include "engine/pipeline/async_state_writer.h"

#include <gtest/gtest.h>

#include "engine/state/memory_state_store.h"

namespace storepulse {
namespace {

StateWriteBatch batchWith(const std::string& key, int64_t next_offset) {
  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kCustomer, 0, key, "v-" + key});
  batch.next_offsets.push_back({TopicPartition{"t", 0}, next_offset});
  return batch;
}

TEST(AsyncStateWriterTest, WaitWithNothingInFlightIsOk) {
  MemoryStateStore store;
  AsyncStateWriter writer(store);
  EXPECT_FALSE(writer.inFlight());
  EXPECT_TRUE(writer.wait().isOk());
}

TEST(AsyncStateWriterTest, WritesTheBatchAndGivesBackThePreviousOne) {
  MemoryStateStore store;
  AsyncStateWriter writer(store);
  StateWriteBatch batch = batchWith("a", 1);
  ASSERT_TRUE(writer.submit(batch).isOk());
  EXPECT_TRUE(batch.empty());  // swapped with the writer's empty batch
  ASSERT_TRUE(writer.wait().isOk());
  EXPECT_EQ(writer.written().next_offsets.at(0).second, 1);
  EXPECT_EQ(**store.get(StateTable::kCustomer, 0, "a"), "v-a");

  batch = batchWith("b", 2);
  ASSERT_TRUE(writer.submit(batch).isOk());
  ASSERT_EQ(batch.writes.size(), 1u);
  EXPECT_EQ(batch.writes[0].key, "a");  // the written one, for its capacity
  ASSERT_TRUE(writer.wait().isOk());
  EXPECT_EQ(*store.nextOffset(TopicPartition{"t", 0}), 2);
  EXPECT_EQ(store.writeCount(), 2u);
}

TEST(AsyncStateWriterTest, SecondSubmitBeforeWaitIsRefusedAndWritesNothing) {
  MemoryStateStore store;
  AsyncStateWriter writer(store);
  StateWriteBatch first = batchWith("a", 1);
  StateWriteBatch second = batchWith("b", 2);
  ASSERT_TRUE(writer.submit(first).isOk());
  EXPECT_EQ(writer.submit(second).code(), ErrorCode::kInternal);
  EXPECT_EQ(second.writes.at(0).key, "b");  // untouched
  ASSERT_TRUE(writer.wait().isOk());
  EXPECT_EQ(*store.get(StateTable::kCustomer, 0, "b"), std::nullopt);
}

TEST(AsyncStateWriterTest, DestructorFinishesTheWriteInFlight) {
  MemoryStateStore store;
  {
    AsyncStateWriter writer(store);
    StateWriteBatch batch = batchWith("a", 1);
    ASSERT_TRUE(writer.submit(batch).isOk());
  }
  EXPECT_EQ(**store.get(StateTable::kCustomer, 0, "a"), "v-a");
}

}  // namespace
}  // namespace storepulse
