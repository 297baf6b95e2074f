#include "engine/pipeline/ingest_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "engine/state/memory_state_store.h"
#include "engine/state/rocksdb_state_store.h"
#include "tests/engine/fakes/fake_event_source.h"
#include "tests/engine/fakes/recording_dead_letter_sink.h"
#include "tests/engine/fakes/test_environment.h"

namespace storepulse {
namespace {

using fakes::FakeEventSource;
using fakes::RecordingDeadLetterSink;
using ::testing::HasSubstr;

using namespace fakes;  // the shared topic names: kClicks, ...

PipelineOptions pipelineOptions(size_t batch_max_events = 100) {
  PipelineOptions o;
  o.topics = {{kClicks, EventType::kClick},         {kScans, EventType::kScan},
              {kPurchases, EventType::kPurchase},   {kInventory, EventType::kInventory},
              {kCustomers, EventType::kCustomer},   {kStores, EventType::kStore}};
  o.batch_max_events = batch_max_events;
  o.batch_max_wait = std::chrono::milliseconds(1);
  o.dead_letter_flush_timeout = std::chrono::milliseconds(10);
  return o;
}

std::string clickJson(const std::string& customer, const std::string& sku, int64_t ts) {
  return R"({"customer_id":")" + customer + R"(","sku":")" + sku + R"(","ts":)" + std::to_string(ts) +
         R"(,"category":"tea"})";
}

std::string purchaseJson(const std::string& order, const std::string& customer, int64_t ts, double price,
                         const std::string& store = "st1") {
  return R"({"order_id":")" + order + R"(","customer_id":")" + customer + R"(","ts":)" + std::to_string(ts) +
         R"(,"store_id":")" + store + R"(","items":[{"sku":"p-)" + order + R"(","qty":1,"price":)" +
         std::to_string(price) + "}]}";
}

std::string inventoryJson(const std::string& store, const std::string& sku, int64_t available, int64_t ts) {
  return R"({"store_id":")" + store + R"(","sku":")" + sku + R"(","available":)" + std::to_string(available) +
         R"(,"ts":)" + std::to_string(ts) + "}";
}

CustomerState customerIn(const StateStore& store, int32_t partition, const std::string& id) {
  auto stored = store.get(StateTable::kCustomer, partition, id);
  EXPECT_TRUE(stored.isOk());
  if (!stored.isOk() || !stored->has_value()) {
    ADD_FAILURE() << "no record of customer " << id << " in partition " << partition;
    return {};
  }
  auto decoded = decodeCustomerState(**stored);
  EXPECT_TRUE(decoded.isOk()) << decoded.status().toString();
  return decoded.isOk() ? *decoded : CustomerState{};
}

std::optional<int64_t> offsetOf(const StateStore& store, const std::string& topic, int32_t partition) {
  auto next = store.nextOffset(TopicPartition{topic, partition});
  EXPECT_TRUE(next.isOk());
  return next.isOk() ? *next : std::nullopt;
}

// One poll and its commit, waited for: what the test inspects next is stored.
Status runAndFlush(IngestPipeline& pipeline, EventSource& source) {
  SP_RETURN_IF_ERROR(pipeline.runOnce(source));
  return pipeline.flush();
}

// Polls and commits until the source has nothing left to deliver.
void drain(IngestPipeline& pipeline, FakeEventSource& source) {
  for (int i = 0; i < 10000 && (source.pendingMessages() > 0 || !source.scriptDone()); ++i) {
    const Status s = pipeline.runOnce(source);
    ASSERT_TRUE(s.isOk()) << s.toString();
  }
  ASSERT_EQ(source.pendingMessages(), 0u);
  const Status flushed = pipeline.flush();
  ASSERT_TRUE(flushed.isOk()) << flushed.toString();
}

class IngestPipelineTest : public ::testing::Test {
 protected:
  // The first poll assigns clicks/0 and delivers its one message, c1's click.
  void scheduleFirstBatchOfOneClick() {
    source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
    source_.scheduleAssign({{kClicks, 0}});
    source_.scheduleFetch(1);
    source_.scheduleBreak();
  }

  MemoryStateStore store_;
  RecordingDeadLetterSink dead_letters_;
  FakeEventSource source_;
};

TEST_F(IngestPipelineTest, FoldsMessagesAndCommitsRecordsWithNextOffsetsInOneWrite) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.append(kClicks, 0, clickJson("c1", "b", 200), "c1");
  source_.append(kClicks, 0, clickJson("c1", "c", 300), "c1");
  source_.append(kPurchases, 0, purchaseJson("o1", "c1", 250, 19.5), "c1");
  source_.append(kClicks, 1, clickJson("c2", "a", 100), "c2");
  source_.scheduleAssign({{kClicks, 0}, {kClicks, 1}, {kPurchases, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);

  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  EXPECT_EQ(store_.writeCount(), 1u);  // records and offsets together
  const CustomerState c1 = customerIn(store_, 0, "c1");
  EXPECT_EQ(c1.order_count, 1);
  EXPECT_DOUBLE_EQ(c1.lifetime_spend, 19.5);
  EXPECT_EQ(c1.recent_items.size(), 4u);
  EXPECT_EQ(c1.last_seen_ms, 300);
  EXPECT_EQ(customerIn(store_, 1, "c2").recent_items.size(), 1u);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 3);  // the next to read: last offset + 1
  EXPECT_EQ(offsetOf(store_, kClicks, 1), 1);
  EXPECT_EQ(offsetOf(store_, kPurchases, 0), 1);
  EXPECT_EQ(pipeline.counters().events, 5u);
  EXPECT_EQ(pipeline.counters().commits, 1u);
  EXPECT_EQ(source_.acknowledged().at(TopicPartition{kClicks, 0}), 3);
}

TEST_F(IngestPipelineTest, CommitWithNothingNewWritesNothing) {
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  EXPECT_EQ(store_.writeCount(), 0u);
  EXPECT_EQ(pipeline.counters().commits, 0u);
}

TEST_F(IngestPipelineTest, OnAssignedReturnsStoredOffsetsAndNulloptForFreshPartitions) {
  StateWriteBatch committed;
  committed.next_offsets.push_back({TopicPartition{kClicks, 0}, 2});
  ASSERT_TRUE(store_.write(committed).isOk());
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  EXPECT_FALSE(pipeline.ready());

  auto starts = pipeline.onAssigned({{kClicks, 0}, {kClicks, 1}});

  ASSERT_TRUE(starts.isOk());
  EXPECT_EQ(*starts, (std::vector<std::optional<int64_t>>{2, std::nullopt}));
  EXPECT_TRUE(pipeline.ready());
  EXPECT_EQ(pipeline.ownedPartitions(), (std::set<int32_t>{0, 1}));
}

TEST_F(IngestPipelineTest, ResumesFromTheStoredOffset) {
  StateWriteBatch committed;
  committed.next_offsets.push_back({TopicPartition{kClicks, 0}, 2});
  ASSERT_TRUE(store_.write(committed).isOk());
  for (int i = 0; i < 4; ++i) source_.append(kClicks, 0, clickJson("c1", "s" + std::to_string(i), 100 + i));
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);

  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  const CustomerState c1 = customerIn(store_, 0, "c1");
  ASSERT_EQ(c1.recent_items.size(), 2u);  // offsets 0 and 1 were already in the store
  EXPECT_EQ(c1.recent_items[0].sku, "s3");
  EXPECT_EQ(c1.recent_items[1].sku, "s2");
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 4);
}

TEST_F(IngestPipelineTest, RejectedMessageIsDeadLetteredAndItsOffsetStillCommitted) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.append(kClicks, 0, "{not json", "c1");
  source_.append(kClicks, 0, clickJson("c1", "b", 200), "c1");
  source_.append(kClicks, 0, R"({"customer_id":"c1","sku":"x","ts":"soon"})", "c1");  // bad, and last
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);

  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  ASSERT_EQ(dead_letters_.stored().size(), 2u);
  const auto& first = dead_letters_.stored()[0];
  EXPECT_EQ(first.topic, kClicks);
  EXPECT_EQ(first.partition, 0);
  EXPECT_EQ(first.offset, 1);
  EXPECT_EQ(first.key, "c1");
  EXPECT_EQ(first.payload, "{not json");  // the original bytes
  EXPECT_EQ(first.reason, "invalid_json");
  EXPECT_THAT(first.detail, HasSubstr("not valid JSON"));
  EXPECT_EQ(dead_letters_.stored()[1].offset, 3);
  EXPECT_EQ(dead_letters_.stored()[1].reason, "invalid_value");
  EXPECT_THAT(dead_letters_.stored()[1].detail, HasSubstr("RFC 3339"));

  EXPECT_EQ(offsetOf(store_, kClicks, 0), 4);  // the partition keeps flowing
  const CustomerState c1 = customerIn(store_, 0, "c1");
  ASSERT_EQ(c1.recent_items.size(), 2u);  // the good messages around them
  EXPECT_EQ(pipeline.counters().events, 2u);
  EXPECT_EQ(pipeline.counters().invalid, 2u);
}

TEST_F(IngestPipelineTest, BatchOfOnlyRejectedMessagesStillCommitsOffsets) {
  source_.append(kPurchases, 2, R"({"order_id":"o1"})");
  source_.scheduleAssign({{kPurchases, 2}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  EXPECT_EQ(dead_letters_.stored().size(), 1u);
  EXPECT_EQ(dead_letters_.stored()[0].reason, "missing_field");
  EXPECT_EQ(offsetOf(store_, kPurchases, 2), 1);
}

TEST_F(IngestPipelineTest, FailedDeadLetterFlushCommitsNothing) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  const std::string before = **store_.get(StateTable::kCustomer, 0, "c1");
  const size_t writes_before = store_.writeCount();

  dead_letters_.setFailFlush(true);
  source_.append(kClicks, 0, clickJson("c1", "b", 200), "c1");
  source_.append(kClicks, 0, "garbage", "c1");
  source_.append(kClicks, 0, clickJson("c2", "c", 300), "c2");
  const Status s = runAndFlush(pipeline, source_);

  ASSERT_FALSE(s.isOk());
  EXPECT_THAT(s.message(), HasSubstr("dead letters not stored"));
  EXPECT_EQ(store_.writeCount(), writes_before);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 1);  // not advanced past the lost dead letter
  EXPECT_EQ(**store_.get(StateTable::kCustomer, 0, "c1"), before);
  EXPECT_EQ(*store_.get(StateTable::kCustomer, 0, "c2"), std::nullopt);
  EXPECT_TRUE(dead_letters_.stored().empty());
}

TEST_F(IngestPipelineTest, AfterAFailedFlushARestartReplaysAndStoresTheDeadLetter) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.append(kClicks, 0, "garbage", "c1");
  source_.scheduleAssign({{kClicks, 0}});
  {
    RecordingDeadLetterSink failing;
    failing.setFailFlush(true);
    IngestPipeline pipeline(pipelineOptions(), store_, failing, nullptr);
    ASSERT_FALSE(runAndFlush(pipeline, source_).isOk());
  }
  FakeEventSource restarted;
  restarted.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  restarted.append(kClicks, 0, "garbage", "c1");
  restarted.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, restarted).isOk());
  EXPECT_EQ(restarted.assignedStarts()[0].second, std::nullopt);
  ASSERT_EQ(dead_letters_.stored().size(), 1u);
  EXPECT_EQ(dead_letters_.stored()[0].offset, 1);
  EXPECT_EQ(customerIn(store_, 0, "c1").recent_items.size(), 1u);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 2);
}

TEST_F(IngestPipelineTest, RevocationCommitsPendingWorkBeforeReturning) {
  for (int i = 0; i < 3; ++i) source_.append(kClicks, 0, clickJson("c1", "s" + std::to_string(i), 100 + i));
  source_.append(kClicks, 1, clickJson("c2", "s", 100));
  source_.scheduleAssign({{kClicks, 0}, {kClicks, 1}});
  source_.scheduleFetch(4);
  source_.scheduleRevoke({{kClicks, 0}});
  source_.scheduleBreak();
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);

  // poll() alone, not runOnce(): any commit seen now was made by onRevoked.
  ASSERT_TRUE(source_.poll(pipeline, std::chrono::milliseconds(1), 100).isOk());

  EXPECT_EQ(store_.writeCount(), 1u);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 3);
  EXPECT_EQ(offsetOf(store_, kClicks, 1), 1);
  EXPECT_EQ(customerIn(store_, 0, "c1").recent_items.size(), 3u);
  EXPECT_EQ(pipeline.ownedPartitions(), std::set<int32_t>{1});
}

TEST_F(IngestPipelineTest, RevocationWhoseCommitFailsKeepsItsWorkForALaterCommit) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.append(kClicks, 0, "garbage", "c1");
  source_.scheduleAssign({{kClicks, 0}, {kClicks, 1}});
  source_.scheduleFetch(2);
  source_.scheduleRevoke({{kClicks, 0}});
  source_.scheduleBreak();
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  dead_letters_.setFailFlush(true);
  ASSERT_FALSE(runAndFlush(pipeline, source_).isOk());  // the revocation could not commit
  EXPECT_EQ(offsetOf(store_, kClicks, 0), std::nullopt);

  // The dead-letter topic is back when the instance leaves the group: the
  // final commit must write the revoked partition's state with its offsets,
  // both or neither, and not touch records it already dropped.
  dead_letters_.setFailFlush(false);
  ASSERT_TRUE(source_.close(pipeline).isOk());
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 2);
  EXPECT_EQ(customerIn(store_, 0, "c1").recent_items.size(), 1u);
  EXPECT_EQ(dead_letters_.stored().size(), 1u);
}

TEST_F(IngestPipelineTest, PartitionStaysOwnedWhileAnotherTopicOfItIsAssigned) {
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(pipeline.onAssigned({{kClicks, 0}, {kPurchases, 0}, {kInventory, 0}}).isOk());
  EXPECT_EQ(pipeline.ownedPartitions(), std::set<int32_t>{0});
  pipeline.onRevoked({{kClicks, 0}});
  EXPECT_EQ(pipeline.ownedPartitions(), std::set<int32_t>{0});
  pipeline.onRevoked({{kPurchases, 0}});
  EXPECT_TRUE(pipeline.ownedPartitions().empty());  // inventory is global, not an owned partition
}

TEST_F(IngestPipelineTest, ReassignedPartitionReloadsStateFromTheStoreNotAStaleCache) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  source_.scheduleRevoke({{kClicks, 0}});
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  // Meanwhile another instance owned the partition and moved the customer on.
  CustomerState elsewhere = customerIn(store_, 0, "c1");
  elsewhere.order_count = 42;
  elsewhere.name = "set elsewhere";
  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kCustomer, 0, "c1", ""});
  encodeCustomerState(elsewhere, batch.writes.back().value);
  ASSERT_TRUE(store_.write(batch).isOk());

  source_.append(kClicks, 0, clickJson("c1", "b", 200), "c1");
  source_.scheduleAssign({{kClicks, 0}});
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  const CustomerState c1 = customerIn(store_, 0, "c1");
  EXPECT_EQ(c1.order_count, 42);
  EXPECT_EQ(c1.name, "set elsewhere");
  ASSERT_EQ(c1.recent_items.size(), 2u);
  EXPECT_EQ(c1.recent_items[0].sku, "b");
}

TEST_F(IngestPipelineTest, InventoryAndStoreEventsGoToTheGlobalPartition) {
  source_.append(kInventory, 3, inventoryJson("st1", "s1", 5, 200), "st1:s1");
  source_.append(kInventory, 3, inventoryJson("st1", "s1", 9, 100), "st1:s1");  // stale: ignored
  source_.append(kStores, 1, R"({"store_id":"st1","name":"Jing'an","daily_target":50000})", "st1");
  source_.scheduleAssign({{kInventory, 3}, {kStores, 1}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  auto inventory = store_.get(StateTable::kInventory, kGlobalPartition, "st1:s1");
  ASSERT_TRUE(inventory.isOk() && inventory->has_value());
  EXPECT_EQ(*decodeInventoryRecord(**inventory), (InventoryRecord{5, 200}));
  EXPECT_EQ(*store_.get(StateTable::kInventory, 3, "st1:s1"), std::nullopt);
  auto shop = store_.get(StateTable::kStore, kGlobalPartition, "st1");
  ASSERT_TRUE(shop.isOk() && shop->has_value());
  EXPECT_EQ(decodeStoreRecord(**shop)->name, "Jing'an");
  EXPECT_EQ(offsetOf(store_, kInventory, 3), 2);
  EXPECT_TRUE(pipeline.ownedPartitions().empty());
}

TEST_F(IngestPipelineTest, MessageFromAnUnconfiguredTopicIsAnError) {
  source_.append("retail.unknown", 0, clickJson("c1", "a", 1));
  source_.scheduleAssign({{"retail.unknown", 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  const Status s = runAndFlush(pipeline, source_);
  ASSERT_FALSE(s.isOk());
  EXPECT_THAT(s.message(), HasSubstr("retail.unknown"));
  EXPECT_EQ(store_.writeCount(), 0u);
}

TEST_F(IngestPipelineTest, SourceFailureIsReturned) {
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  source_.failNextPoll();
  EXPECT_EQ(runAndFlush(pipeline, source_).code(), ErrorCode::kKafka);
}

TEST_F(IngestPipelineTest, CorruptStoredRecordStopsThePipelineInsteadOfOverwritingIt) {
  StateWriteBatch batch;
  batch.writes.push_back({StateTable::kCustomer, 0, "c1", "\x63garbage"});
  ASSERT_TRUE(store_.write(batch).isOk());
  source_.append(kClicks, 0, clickJson("c1", "a", 1));
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  const Status s = runAndFlush(pipeline, source_);
  EXPECT_EQ(s.code(), ErrorCode::kCorruption);
  EXPECT_EQ(**store_.get(StateTable::kCustomer, 0, "c1"), "\x63garbage");
  EXPECT_EQ(offsetOf(store_, kClicks, 0), std::nullopt);
}

// Stops the run loop after a number of polls, as a signal handler would.
class StopAfterPolls final : public EventSource {
 public:
  StopAfterPolls(FakeEventSource& inner, std::atomic<bool>& stop, int polls)
      : inner_(inner), stop_(stop), polls_(polls) {}
  Status poll(SourceHandler& h, std::chrono::milliseconds wait, size_t max) override {
    const Status s = inner_.poll(h, wait, max);
    if (--polls_ <= 0) stop_ = true;
    return s;
  }
  void acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>& o) override { inner_.acknowledge(o); }
  std::vector<PartitionLag> lag() const override { return inner_.lag(); }
  Status close(SourceHandler& h) override { return inner_.close(h); }

 private:
  FakeEventSource& inner_;
  std::atomic<bool>& stop_;
  int polls_;
};

TEST_F(IngestPipelineTest, RunCommitsEverythingAndLeavesTheGroupOnStop) {
  for (int i = 0; i < 10; ++i) source_.append(kClicks, 0, clickJson("c1", "s" + std::to_string(i), i + 1));
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(4), store_, dead_letters_, nullptr);
  std::atomic<bool> stop{false};
  StopAfterPolls stopping(source_, stop, 3);

  ASSERT_TRUE(pipeline.run(stopping, stop).isOk());

  EXPECT_TRUE(source_.closed());
  EXPECT_EQ(source_.revokedPartitions(), (std::vector<TopicPartition>{{kClicks, 0}}));
  EXPECT_TRUE(pipeline.ownedPartitions().empty());
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 10);  // 3 polls of at most 4
  EXPECT_EQ(pipeline.counters().events, 10u);
}

TEST_F(IngestPipelineTest, BatchMaxEventsBoundsEachCommit) {
  for (int i = 0; i < 10; ++i) source_.append(kClicks, 0, clickJson("c1", "s" + std::to_string(i), i + 1));
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(3), store_, dead_letters_, nullptr);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 3);
  drain(pipeline, source_);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 10);
  EXPECT_EQ(store_.writeCount(), 4u);  // 3 + 3 + 3 + 1
}

TEST_F(IngestPipelineTest, PublishesCountsToMetrics) {
  Metrics metrics;
  source_.append(kClicks, 0, clickJson("c1", "a", 1));
  source_.append(kClicks, 0, clickJson("c1", "b", 2));
  source_.append(kClicks, 0, "[]");
  source_.scheduleAssign({{kClicks, 0}});
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, &metrics);
  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  const std::string text = metrics.scrape();
  EXPECT_THAT(text, HasSubstr(R"(storepulse_events_consumed_total{topic="retail.clicks",type="click"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_events_invalid_total{reason="not_an_object",topic="retail.clicks"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_state_commits_total{outcome="ok"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(storepulse_assigned_partitions{topic="retail.clicks"} 1)"));
  EXPECT_THAT(text, HasSubstr("storepulse_event_processing_seconds_count 3"));
}

// ---------------------------------------------------------------------------
// Event processors: run after the fold, commit with the batch.

class RecordingProcessor final : public EventProcessor {
 public:
  Status process(const ProcessedEvent& e) override {
    seen.push_back({std::string(eventTypeName(e.event.type)), e.partition,
                    e.customer ? e.customer->recent_items.size() : 0, e.message.offset});
    return Status::ok();
  }
  Status tick(int64_t wall_clock_ms) override {
    last_tick_ms = wall_clock_ms;
    return Status::ok();
  }
  Status prepareCommit(StateWriteBatch& batch) override {
    if (fail_next_commit) {
      fail_next_commit = false;
      return Status(ErrorCode::kKafka, "alerts not delivered");
    }
    if (seen.size() == written) return Status::ok();  // nothing new: nothing to write
    written = seen.size();
    batch.writes.push_back({StateTable::kStore, kGlobalPartition, "processor", std::to_string(written)});
    return Status::ok();
  }
  void revoked(const std::set<int32_t>& partitions) override { revoked_partitions = partitions; }

  struct Seen {
    std::string type;
    int32_t partition;
    size_t recent_items;  // of the customer after the fold
    int64_t offset;
  };
  std::vector<Seen> seen;
  size_t written = 0;
  int64_t last_tick_ms = 0;
  bool fail_next_commit = false;
  std::set<int32_t> revoked_partitions;
};

TEST_F(IngestPipelineTest, ProcessorsSeeEachEventAfterItsFoldAndCommitTheirStateWithTheBatch) {
  source_.append(kClicks, 0, clickJson("c1", "a", 100), "c1");
  source_.append(kClicks, 0, clickJson("c1", "b", 200), "c1");
  source_.append(kInventory, 0, inventoryJson("st1", "s1", 0, 300), "st1:s1");
  source_.scheduleAssign({{kClicks, 0}, {kInventory, 0}});
  RecordingProcessor processor;
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  pipeline.addProcessor(processor);

  ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());

  ASSERT_EQ(processor.seen.size(), 3u);  // the fake source alternates partitions
  EXPECT_EQ(processor.seen[0].recent_items, 1u);  // the fold came first
  EXPECT_EQ(processor.seen[1].type, "inventory");
  EXPECT_EQ(processor.seen[1].partition, kGlobalPartition);
  EXPECT_EQ(processor.seen[2].recent_items, 2u);
  EXPECT_EQ(processor.seen[2].offset, 1);
  EXPECT_GT(processor.last_tick_ms, 0);
  EXPECT_EQ(store_.writeCount(), 1u);  // the processor's record joined the one atomic write
  EXPECT_EQ(**store_.get(StateTable::kStore, kGlobalPartition, "processor"), "3");
}

TEST_F(IngestPipelineTest, FailedProcessorCommitKeepsTheBatchForALaterCommit) {
  scheduleFirstBatchOfOneClick();
  RecordingProcessor processor;
  processor.fail_next_commit = true;
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  pipeline.addProcessor(processor);

  const Status failed = pipeline.runOnce(source_);
  EXPECT_EQ(failed.code(), ErrorCode::kKafka);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), std::nullopt);

  ASSERT_TRUE(pipeline.flush().isOk());  // the retry writes the record with its offset
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 1);
  EXPECT_EQ(customerIn(store_, 0, "c1").recent_items.size(), 1u);
}

// The pipeline reuses its batch's write slots from commit to commit; a
// processor's delete (or merge) in a slot must not carry over to the
// customer record written there next.
class DeletingProcessor final : public EventProcessor {
 public:
  Status process(const ProcessedEvent&) override { return Status::ok(); }
  Status tick(int64_t) override { return Status::ok(); }
  Status prepareCommit(StateWriteBatch& batch) override {
    batch.writes.push_back({StateTable::kRule, 0, "gone", "", /*erase=*/true});
    return Status::ok();
  }
  void revoked(const std::set<int32_t>&) override {}
};

TEST_F(IngestPipelineTest, AProcessorsDeleteDoesNotCarryOverToTheNextCommitsRecords) {
  DeletingProcessor processor;
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  pipeline.addProcessor(processor);
  source_.scheduleAssign({{kClicks, 0}});
  // Commits of 1, 1, 2, 2, 3, 3 customers: each buffer's delete sits where
  // a later, larger commit puts a customer (c3 last of all).
  int64_t ts = 100;
  for (int round = 1; round <= 6; ++round) {
    for (int c = 1; c <= (round + 1) / 2; ++c) {
      const std::string id = "c" + std::to_string(c);
      source_.append(kClicks, 0, clickJson(id, "a", ts++), id);
    }
    ASSERT_TRUE(runAndFlush(pipeline, source_).isOk());
  }
  for (const char* id : {"c1", "c2", "c3"}) {
    EXPECT_TRUE(store_.get(StateTable::kCustomer, 0, id)->has_value()) << id;
  }
}

TEST_F(IngestPipelineTest, ProcessorsHearWhichCustomerPartitionsWereRevoked) {
  IngestPipeline pipeline(pipelineOptions(), store_, dead_letters_, nullptr);
  RecordingProcessor processor;
  pipeline.addProcessor(processor);
  ASSERT_TRUE(pipeline.onAssigned({{kClicks, 0}, {kPurchases, 0}, {kClicks, 1}}).isOk());
  pipeline.onRevoked({{kClicks, 0}});
  EXPECT_TRUE(processor.revoked_partitions.empty());  // purchases/0 still owned
  pipeline.onRevoked({{kPurchases, 0}, {kClicks, 1}});
  EXPECT_EQ(processor.revoked_partitions, (std::set<int32_t>{0, 1}));
}

// ---------------------------------------------------------------------------
// Commits overlap folding: one write in flight, waited for where it matters.

// A MemoryStateStore whose writes wait at a gate the test opens, and can fail.
class GatedStore final : public StateStore {
 public:
  explicit GatedStore(StateStore& inner) : inner_(inner) {}
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void failWrites() {
    std::lock_guard lock(mutex_);
    fail_ = true;
  }
  // True once a write is waiting at the (closed) gate.
  bool writeWaiting() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [this] { return waiting_ > 0; });
  }

  Result<std::optional<std::string>> get(StateTable t, int32_t p, std::string_view k) const override {
    return inner_.get(t, p, k);
  }
  Result<std::optional<int64_t>> nextOffset(const TopicPartition& tp) const override { return inner_.nextOffset(tp); }
  Status write(const StateWriteBatch& batch) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    --waiting_;
    if (fail_) return Status(ErrorCode::kIo, "disk full");
    return inner_.write(batch);
  }
  Status scan(StateTable t, int32_t p, const std::function<bool(std::string_view, std::string_view)>& v) const override {
    return inner_.scan(t, p, v);
  }
  StateStoreStats stats() const override { return inner_.stats(); }

 private:
  StateStore& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  bool fail_ = false;
  int waiting_ = 0;
};

TEST_F(IngestPipelineTest, NextBatchIsFoldedWhileThePreviousOneIsBeingWritten) {
  GatedStore gated(store_);
  scheduleFirstBatchOfOneClick();
  IngestPipeline pipeline(pipelineOptions(), gated, dead_letters_, nullptr);

  ASSERT_TRUE(pipeline.runOnce(source_).isOk());  // hands batch 1 to the writer
  ASSERT_TRUE(gated.writeWaiting());
  // Batch 2 folds while batch 1 is still at the gate.
  source_.append(kClicks, 0, clickJson("c1", "b", 200), "c1");
  ASSERT_TRUE(source_.poll(pipeline, std::chrono::milliseconds(1), 100).isOk());

  // Nothing counts as committed, or is acknowledged, before it is stored.
  EXPECT_EQ(store_.writeCount(), 0u);
  EXPECT_EQ(pipeline.counters().events, 0u);
  EXPECT_EQ(pipeline.counters().uncommitted, 2u);
  EXPECT_TRUE(source_.acknowledged().empty());

  gated.open();
  ASSERT_TRUE(pipeline.flush().isOk());
  EXPECT_EQ(store_.writeCount(), 2u);
  EXPECT_EQ(customerIn(store_, 0, "c1").recent_items.size(), 2u);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 2);
  EXPECT_EQ(pipeline.counters().events, 2u);
  EXPECT_EQ(pipeline.counters().commits, 2u);
  EXPECT_EQ(pipeline.counters().uncommitted, 0u);
  EXPECT_EQ(source_.acknowledged().at(TopicPartition{kClicks, 0}), 2);
}

TEST_F(IngestPipelineTest, FailedWriteIsReportedByTheNextCommitAndStopsAllLaterOnes) {
  GatedStore gated(store_);
  gated.failWrites();
  gated.open();
  scheduleFirstBatchOfOneClick();
  IngestPipeline pipeline(pipelineOptions(), gated, dead_letters_, nullptr);
  ASSERT_TRUE(pipeline.runOnce(source_).isOk());  // the write fails on the writer thread

  source_.append(kClicks, 0, clickJson("c2", "b", 200), "c2");
  const Status next = pipeline.runOnce(source_);
  EXPECT_EQ(next.code(), ErrorCode::kIo);
  EXPECT_THAT(next.message(), HasSubstr("disk full"));
  EXPECT_EQ(pipeline.flush().code(), ErrorCode::kIo);  // sticky: batch 2 is never written alone
  EXPECT_EQ(store_.writeCount(), 0u);
  EXPECT_EQ(pipeline.counters().events, 0u);
  EXPECT_TRUE(source_.acknowledged().empty());
}

TEST_F(IngestPipelineTest, RevocationReturnsOnlyOnceTheWriteInFlightIsStored) {
  GatedStore gated(store_);
  scheduleFirstBatchOfOneClick();
  source_.scheduleRevoke({{kClicks, 0}});
  source_.scheduleBreak();
  IngestPipeline pipeline(pipelineOptions(), gated, dead_letters_, nullptr);
  ASSERT_TRUE(pipeline.runOnce(source_).isOk());
  ASSERT_TRUE(gated.writeWaiting());

  std::thread opener([&gated] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gated.open();
  });
  ASSERT_TRUE(source_.poll(pipeline, std::chrono::milliseconds(1), 100).isOk());  // revokes
  // The next owner reads the store as soon as the revocation returns.
  EXPECT_EQ(store_.writeCount(), 1u);
  EXPECT_EQ(offsetOf(store_, kClicks, 0), 1);
  opener.join();
}

// ---------------------------------------------------------------------------
// Crash recovery: state after a crash and replay equals an uninterrupted run.

constexpr int32_t kPartitions = 2;

int32_t partitionOf(int customer) { return customer % kPartitions; }

// A deterministic mixed history: every customer-keyed topic co-partitioned
// by customer, global topics with one partition, and some bad messages.
struct History {
  struct Entry {
    std::string topic;
    int32_t partition;
    std::string payload;
  };
  std::vector<Entry> entries;
  std::vector<TopicPartition> partitions;
};

History makeHistory() {
  History h;
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % 1000;
  };
  const int64_t base = 1700000000000;
  const char* stores[] = {"st1", "st2", "st3"};
  const char* categories[] = {"tea", "bags", "shoes"};
  for (int i = 0; i < 160; ++i) {
    const int c = static_cast<int>(next() % 7);
    const std::string id = "c" + std::to_string(c);
    const int32_t p = partitionOf(c);
    const int64_t ts = base + i * 1000 + static_cast<int64_t>(next() % 5000);  // out of order too
    const std::string store = stores[next() % 3];
    const std::string category = categories[next() % 3];
    switch (next() % 8) {
      case 0:
      case 1:
      case 2:
        h.entries.push_back({kClicks, p,
                             R"({"customer_id":")" + id + R"(","sku":"k)" + std::to_string(next() % 20) +
                                 R"(","ts":)" + std::to_string(ts) + R"(,"category":")" + category + "\"}"});
        break;
      case 3:
        h.entries.push_back({kScans, p,
                             R"({"customer_id":")" + id + R"(","store_id":")" + store + R"(","sku":"k)" +
                                 std::to_string(next() % 20) + R"(","ts":)" + std::to_string(ts) +
                                 R"(,"category":")" + category + "\"}"});
        break;
      case 4:
        h.entries.push_back({kPurchases, p,
                             R"({"order_id":"o)" + std::to_string(i) + R"(","customer_id":")" + id +
                                 R"(","store_id":")" + store + R"(","ts":)" + std::to_string(ts) +
                                 R"(,"items":[{"sku":"k)" + std::to_string(next() % 20) +
                                 R"(","qty":2,"price":)" + std::to_string(next() % 100) + R"(.37,"category":")" +
                                 category + "\"}]}"});
        break;
      case 5:
        h.entries.push_back({kCustomers, p,
                             R"({"customer_id":")" + id + R"(","ts":)" + std::to_string(ts) + R"(,"tier":"t)" +
                                 std::to_string(next() % 3) + "\"}"});
        break;
      case 6:
        h.entries.push_back({kInventory, 0,
                             R"({"store_id":")" + store + R"(","sku":"k)" + std::to_string(next() % 5) +
                                 R"(","available":)" + std::to_string(next() % 10) + R"(,"ts":)" +
                                 std::to_string(ts) + "}"});
        break;
      default:
        if (i % 3 == 0) {
          h.entries.push_back({kClicks, p, R"({"customer_id":")" + id + R"(","ts":)" + std::to_string(ts) + "}"});
        } else {
          h.entries.push_back({kStores, 0,
                               R"({"store_id":")" + store + R"(","daily_target":)" + std::to_string(next()) + "}"});
        }
        break;
    }
  }
  for (const std::string& topic : {kClicks, kScans, kPurchases, kCustomers}) {
    for (int32_t p = 0; p < kPartitions; ++p) h.partitions.push_back({topic, p});
  }
  h.partitions.push_back({kInventory, 0});
  h.partitions.push_back({kStores, 0});
  return h;
}

void load(const History& h, FakeEventSource& source) {
  for (const auto& e : h.entries) source.append(e.topic, e.partition, e.payload);
  source.scheduleAssign(h.partitions);
}

using Dump = std::map<std::tuple<StateTable, int32_t, std::string>, std::string>;

Dump dumpRecords(const StateStore& store) {
  Dump out;
  for (StateTable table : {StateTable::kCustomer, StateTable::kInventory, StateTable::kStore}) {
    for (int32_t p = kGlobalPartition; p < kPartitions; ++p) {
      EXPECT_TRUE(store
                      .scan(table, p,
                            [&](std::string_view k, std::string_view v) {
                              out[{table, p, std::string(k)}] = std::string(v);
                              return true;
                            })
                      .isOk());
    }
  }
  return out;
}

std::map<TopicPartition, std::optional<int64_t>> dumpOffsets(const StateStore& store, const History& h) {
  std::map<TopicPartition, std::optional<int64_t>> out;
  for (const auto& tp : h.partitions) out[tp] = *store.nextOffset(tp);
  return out;
}

std::set<std::tuple<std::string, int32_t, int64_t>> deadLettered(const RecordingDeadLetterSink& sink) {
  std::set<std::tuple<std::string, int32_t, int64_t>> out;
  for (const auto& d : sink.stored()) out.insert({d.topic, d.partition, d.offset});
  return out;
}

class CrashRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    history_ = makeHistory();
    FakeEventSource source;
    load(history_, source);
    IngestPipeline pipeline(pipelineOptions(5), reference_, reference_dead_letters_, nullptr);
    drain(pipeline, source);
    reference_records_ = dumpRecords(reference_);
    ASSERT_FALSE(reference_records_.empty());
    ASSERT_FALSE(reference_dead_letters_.stored().empty());
  }

  History history_;
  MemoryStateStore reference_;
  RecordingDeadLetterSink reference_dead_letters_;
  Dump reference_records_;
};

TEST_F(CrashRecoveryTest, HistoryCoversEveryTopicAndSomeBadMessages) {
  std::set<std::string> topics;
  for (const auto& e : history_.entries) topics.insert(e.topic);
  EXPECT_EQ(topics.size(), 6u);
  EXPECT_GE(reference_dead_letters_.stored().size(), 3u);
}

TEST_F(CrashRecoveryTest, CacheOfOneRecordGivesTheSameState) {
  MemoryStateStore store;
  RecordingDeadLetterSink dead_letters;
  FakeEventSource source;
  load(history_, source);
  PipelineOptions options = pipelineOptions(5);
  options.cache_max_records = 1;
  IngestPipeline pipeline(options, store, dead_letters, nullptr);
  drain(pipeline, source);
  EXPECT_EQ(dumpRecords(store), reference_records_);
  EXPECT_EQ(dumpOffsets(store, history_), dumpOffsets(reference_, history_));
}

TEST_F(CrashRecoveryTest, BatchSizeDoesNotChangeTheState) {
  for (size_t batch : {1, 2, 7, 1000}) {
    MemoryStateStore store;
    RecordingDeadLetterSink dead_letters;
    FakeEventSource source;
    load(history_, source);
    IngestPipeline pipeline(pipelineOptions(batch), store, dead_letters, nullptr);
    drain(pipeline, source);
    EXPECT_EQ(dumpRecords(store), reference_records_) << "batch_max_events " << batch;
  }
}

struct CrashPoint {
  int commits_before;         // batches committed before the crash
  size_t uncommitted;         // messages folded but not committed when it dies
  size_t batch_after_restart;  // a new batch size, so topics interleave differently
};

void PrintTo(const CrashPoint& c, std::ostream* os) {
  *os << c.commits_before << " commits, " << c.uncommitted << " uncommitted, then batches of "
      << c.batch_after_restart;
}

class CrashAt : public CrashRecoveryTest, public ::testing::WithParamInterface<CrashPoint> {};

TEST_P(CrashAt, ReplayFromStoredOffsetsEndsWithTheStateOfAnUninterruptedRun) {
  const CrashPoint crash = GetParam();
  MemoryStateStore store;
  RecordingDeadLetterSink dead_letters;
  {
    FakeEventSource source;
    load(history_, source);
    IngestPipeline doomed(pipelineOptions(5), store, dead_letters, nullptr);
    for (int i = 0; i < crash.commits_before; ++i) ASSERT_TRUE(doomed.runOnce(source).isOk());
    // Consumed and folded into the cache, never committed: then the process dies.
    ASSERT_TRUE(source.poll(doomed, std::chrono::milliseconds(1), crash.uncommitted).isOk());
  }
  FakeEventSource source;
  load(history_, source);
  IngestPipeline pipeline(pipelineOptions(crash.batch_after_restart), store, dead_letters, nullptr);
  drain(pipeline, source);

  EXPECT_EQ(dumpRecords(store), reference_records_);
  EXPECT_EQ(dumpOffsets(store, history_), dumpOffsets(reference_, history_));
  // No dead letter is lost (a replayed one may be sent twice).
  EXPECT_EQ(deadLettered(dead_letters), deadLettered(reference_dead_letters_));
}

INSTANTIATE_TEST_SUITE_P(IngestPipeline, CrashAt,
                         ::testing::Values(CrashPoint{0, 0, 5}, CrashPoint{0, 3, 4}, CrashPoint{1, 0, 3},
                                           CrashPoint{1, 4, 9}, CrashPoint{3, 2, 1}, CrashPoint{7, 5, 5},
                                           CrashPoint{12, 1, 50}, CrashPoint{20, 4, 2}, CrashPoint{31, 3, 6},
                                           CrashPoint{40, 0, 5}),
                         [](const auto& info) {
                           return "After" + std::to_string(info.param.commits_before) + "CommitsWith" +
                                  std::to_string(info.param.uncommitted) + "Uncommitted";
                         });

TEST_F(CrashRecoveryTest, CrashWithRocksDbThenReopenEndsWithTheSameState) {
  std::string dir = (std::filesystem::path(::testing::TempDir()) / "sp_pipeline_XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  RocksDbOptions options;
  options.path = dir;
  RecordingDeadLetterSink dead_letters;
  {
    auto store = RocksDbStateStore::open(options);
    ASSERT_TRUE(store.isOk()) << store.status().toString();
    FakeEventSource source;
    load(history_, source);
    IngestPipeline doomed(pipelineOptions(5), **store, dead_letters, nullptr);
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(doomed.runOnce(source).isOk());
    ASSERT_TRUE(source.poll(doomed, std::chrono::milliseconds(1), 4).isOk());
  }  // the pipeline dies uncommitted, then the database closes
  {
    auto store = RocksDbStateStore::open(options);
    ASSERT_TRUE(store.isOk()) << store.status().toString();
    FakeEventSource source;
    load(history_, source);
    IngestPipeline pipeline(pipelineOptions(8), **store, dead_letters, nullptr);
    drain(pipeline, source);
    EXPECT_EQ(dumpRecords(**store), reference_records_);
    EXPECT_EQ(dumpOffsets(**store, history_), dumpOffsets(reference_, history_));
  }
  EXPECT_EQ(deadLettered(dead_letters), deadLettered(reference_dead_letters_));
  std::filesystem::remove_all(dir);
}

TEST_F(CrashRecoveryTest, CrashAfterAFailedDeadLetterFlushLosesNothing) {
  MemoryStateStore store;
  RecordingDeadLetterSink dead_letters;
  {
    FakeEventSource source;
    load(history_, source);
    RecordingDeadLetterSink failing;
    IngestPipeline doomed(pipelineOptions(5), store, failing, nullptr);
    bool failed = false;
    for (int i = 0; i < 40 && !failed; ++i) {
      // The dead-letter topic goes down once some dead letters made it.
      failing.setFailFlush(!failing.stored().empty());
      failed = !doomed.runOnce(source).isOk();  // the engine stops on the error
    }
    ASSERT_TRUE(failed);
    for (const auto& d : failing.stored()) {
      dead_letters.send(SourceMessage{d.topic, d.partition, d.offset, d.key, d.payload}, d.reason, d.detail);
    }
    ASSERT_TRUE(dead_letters.flush(std::chrono::milliseconds(1)).isOk());
  }
  FakeEventSource source;
  load(history_, source);
  IngestPipeline pipeline(pipelineOptions(5), store, dead_letters, nullptr);
  drain(pipeline, source);
  EXPECT_EQ(dumpRecords(store), reference_records_);
  EXPECT_EQ(deadLettered(dead_letters), deadLettered(reference_dead_letters_));
}

}  // namespace
}  // namespace storepulse
