#pragma once
// The ingest pipeline: source -> decode/validate -> fold into state ->
// commit state and offsets atomically. Invalid messages go to the dead-letter
// sink, which is flushed before the offsets past them are committed.
//
// Exactly-once state: a batch's records and the next offset of every
// partition it read are one StateStore write. On (re)assignment the pipeline
// starts each partition at the offset the store holds, so a crash at any
// point replays exactly the uncommitted tail.
//
// Commits overlap folding: a batch is encoded on the pipeline thread and
// written by an AsyncStateWriter while the next batch is folded. At most one
// write is in flight; it is waited for before the next one, before any
// cached record is dropped (so the store is never read behind it), on
// assignment and revocation, and on stop. Offsets are acknowledged to the
// source and counted as committed only once their write is done.
//
// Owned and run by one thread (the one calling run/runOnce). ownedPartitions,
// ready() and counters() may be read from any thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/event/event_decoder.h"
#include "engine/metrics/metrics.h"
#include "engine/pipeline/async_state_writer.h"
#include "engine/pipeline/dead_letter_sink.h"
#include "engine/pipeline/event_processor.h"
#include "engine/pipeline/event_source.h"
#include "engine/pipeline/record_cache.h"
#include "engine/state/customer_state.h"
#include "engine/state/global_records.h"
#include "engine/state/state_store.h"

namespace storepulse {

struct TopicBinding {
  std::string topic;
  EventType type;
};

struct PipelineOptions {
  std::vector<TopicBinding> topics;          // what each consumed topic carries
  // A commit rewrites each touched record once, so larger batches write
  // fewer records per event; the wait bounds latency, the count bounds a burst.
  size_t batch_max_events = 100000;          // events per commit at most
  std::chrono::milliseconds batch_max_wait{200};  // time per commit at most
  size_t cache_max_records = 200000;         // records cached between commits; cleared past this
  std::chrono::milliseconds dead_letter_flush_timeout{30000};
  CustomerStateOptions customer;
  DecoderOptions decoder;
};

// Everything but `uncommitted` counts what is committed: in the store,
// offsets included.
struct PipelineCounters {
  uint64_t events = 0;       // folded into state
  uint64_t invalid = 0;      // dead-lettered
  uint64_t commits = 0;
  uint64_t uncommitted = 0;  // messages taken from the source, not yet committed
};

class IngestPipeline final : public SourceHandler, public PipelineRecords {
 public:
  // `metrics` may be null (tools and tests that do not export metrics).
  IngestPipeline(PipelineOptions options, StateStore& store, DeadLetterSink& dead_letters,
                 Metrics* metrics);
  ~IngestPipeline() override;

  // Runs `processor` on every folded event, in the order added; it must
  // outlive the pipeline. Add before the first poll.
  void addProcessor(EventProcessor& processor) {
    processors_.push_back(&processor);
    processor.attached(*this);
  }

  // PipelineRecords
  const StoreRecord* cachedStore(std::string_view store_id) const override;
  std::vector<std::string> cachedStoreIds() const override;
  const CustomerState* cachedCustomer(int32_t partition, std::string_view customer_id) const override;
  std::vector<std::pair<int32_t, std::string>> cachedCustomerIds() const override;
  const InventoryRecord* cachedInventory(std::string_view store_id, std::string_view sku) const override;

  // One poll of the source, then the batch is handed to the writer (after
  // the previous batch's write is done). An error is fatal for the
  // pipeline: state could not be committed, or the source failed.
  Status runOnce(EventSource& source);
  // Commits what is folded and waits until every write is done.
  Status flush();
  // Repeats runOnce until `stop` is set, then flushes and closes the source.
  Status run(EventSource& source, const std::atomic<bool>& stop);

  // Partitions (of the customer-keyed topics) this instance owns now.
  std::set<int32_t> ownedPartitions() const;
  // True once the first assignment was received and restored.
  bool ready() const { return ready_.load(); }
  PipelineCounters counters() const;

  // SourceHandler
  void onMessage(const SourceMessage& message) override;
  Result<std::vector<std::optional<int64_t>>> onAssigned(const std::vector<TopicPartition>& partitions) override;
  void onRevoked(const std::vector<TopicPartition>& partitions) override;

 private:
  struct CachedRecord;
  struct TopicSlot;

  TopicSlot* slotFor(std::string_view topic);
  Result<CachedRecord*> applyToState(const Event& event, int32_t partition);
  // The decoded event_: processors' before(), the fold, their process().
  Status foldAndProcess(const SourceMessage& message);
  Result<CachedRecord*> cached(StateTable table, int32_t partition, std::string_view key);
  enum class Wait { kNo, kYes };
  Status commit(Wait wait);
  Status finishWrite();
  void publishFoldMetrics();
  void publishCommitMetrics(std::chrono::steady_clock::time_point committed_at);
  void publishLag(EventSource& source);
  void updateAssignedGauge();  // caller holds owned_mutex_

  PipelineOptions options_;
  StateStore& store_;
  DeadLetterSink& dead_letters_;
  Metrics* metrics_;
  EventDecoder decoder_;
  Event event_;  // reused across messages

  std::vector<std::unique_ptr<TopicSlot>> slots_;
  std::vector<EventProcessor*> processors_;
  RecordCache<CachedRecord> cache_;
  std::vector<CachedRecord*> dirty_;
  StateWriteBatch batch_;  // being encoded; then swapped with the writer's
  // When the pending events arrived, in chunks of up to kReceiptChunk events
  // that share the time their first event arrived.
  struct ReceiptChunk {
    std::chrono::steady_clock::time_point received;
    uint32_t count;
  };
  static constexpr uint32_t kReceiptChunk = 64;
  std::vector<ReceiptChunk> receipt_chunks_;
  size_t pending_events_ = 0;
  size_t pending_dead_letters_ = 0;
  // The batch being written: what to count and observe once it is stored.
  struct InFlight {
    size_t events = 0;
    size_t dead_letters = 0;
    std::vector<ReceiptChunk> receipt_chunks;
  };
  InFlight in_flight_;
  Status write_failure_;  // sticky: after a failed write nothing more may commit
  EventSource* current_source_ = nullptr;
  Status deferred_error_;  // from onMessage/onRevoked, surfaced by runOnce
  std::chrono::steady_clock::time_point last_lag_update_;
  prometheus::Histogram* latency_ = nullptr;

  mutable std::mutex owned_mutex_;
  std::set<TopicPartition> owned_;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> total_events_{0};
  std::atomic<uint64_t> total_invalid_{0};
  std::atomic<uint64_t> total_commits_{0};
  std::atomic<uint64_t> total_uncommitted_{0};

  AsyncStateWriter writer_;  // last: its destructor waits for the write in flight
};

}  // namespace storepulse
