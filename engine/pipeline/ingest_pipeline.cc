#include "engine/pipeline/ingest_pipeline.h"

#include <algorithm>
#include <iterator>
#include <variant>

#include "engine/core/log.h"
#include "engine/core/time.h"
#include "engine/state/codec.h"

namespace storepulse {
namespace {

using Clock = std::chrono::steady_clock;

bool isCustomerKeyed(EventType type) {
  return type != EventType::kInventory && type != EventType::kStore;
}

// A stored record, or a fresh one when the store has none.
template <typename T>
Result<T> decodeOrNew(const std::optional<std::string>& stored, Result<T> (*decode)(std::string_view)) {
  if (!stored) return T{};
  return decode(*stored);
}

// Logging every rejected message would let one bad producer flood the log;
// the metric and the dead-letter topic have them all.
constexpr int kRejectionsLoggedPerBatch = 5;

}  // namespace

struct IngestPipeline::TopicSlot {
  std::string topic;
  EventType type;
  std::vector<int64_t> next_offsets;  // by partition; -1: nothing pending
  uint64_t consumed = 0;
  uint64_t invalid[kInvalidReasonCount] = {};
  int64_t max_event_ts = 0;
  prometheus::Counter* consumed_metric = nullptr;
  prometheus::Counter* invalid_metric[kInvalidReasonCount] = {};
  prometheus::Gauge* event_time_lag_metric = nullptr;
};

struct IngestPipeline::CachedRecord {
  StateTable table;
  int32_t partition;
  std::string key;
  std::variant<CustomerState, InventoryRecord, StoreRecord> value;
  bool dirty = false;
};

IngestPipeline::IngestPipeline(PipelineOptions options, StateStore& store, DeadLetterSink& dead_letters,
                               Metrics* metrics)
    : options_(std::move(options)),
      store_(store),
      dead_letters_(dead_letters),
      metrics_(metrics),
      decoder_(options_.decoder),
      writer_(store) {
  // Sized up front: growing by rehash mid-batch showed in profiles.
  cache_.reserve(std::min<size_t>(options_.cache_max_records, 1u << 20));
  for (const auto& binding : options_.topics) {
    auto slot = std::make_unique<TopicSlot>();
    slot->topic = binding.topic;
    slot->type = binding.type;
    if (metrics_) {
      slot->consumed_metric = &metrics_->events_consumed.Add(
          {{"topic", binding.topic}, {"type", std::string(eventTypeName(binding.type))}});
      for (size_t r = 0; r < kInvalidReasonCount; ++r) {
        slot->invalid_metric[r] = &metrics_->events_invalid.Add(
            {{"topic", binding.topic}, {"reason", std::string(invalidReasonName(static_cast<InvalidReason>(r)))}});
      }
      slot->event_time_lag_metric = &metrics_->event_time_lag.Add({{"topic", binding.topic}});
    }
    slots_.push_back(std::move(slot));
  }
}

IngestPipeline::~IngestPipeline() = default;

IngestPipeline::TopicSlot* IngestPipeline::slotFor(std::string_view topic) {
  for (auto& slot : slots_) {
    if (slot->topic == topic) return slot.get();
  }
  return nullptr;
}

Status IngestPipeline::foldAndProcess(const SourceMessage& message) {
  for (EventProcessor* processor : processors_) SP_RETURN_IF_ERROR(processor->before(event_));
  SP_ASSIGN_OR_RETURN(CachedRecord * record, applyToState(event_, message.partition));
  if (processors_.empty()) return Status::ok();
  const bool global = !isCustomerKeyed(event_.type);
  const ProcessedEvent processed{event_, message, global ? kGlobalPartition : message.partition,
                                 global ? nullptr : &std::get<CustomerState>(record->value)};
  for (EventProcessor* processor : processors_) SP_RETURN_IF_ERROR(processor->process(processed));
  return Status::ok();
}

void IngestPipeline::onMessage(const SourceMessage& message) {
  TopicSlot* slot = slotFor(message.topic);
  if (slot == nullptr) {
    deferred_error_ = Status(ErrorCode::kInternal, "message from unconfigured topic " + std::string(message.topic));
    return;
  }
  if (message.partition < 0) return;
  if (static_cast<size_t>(message.partition) >= slot->next_offsets.size()) {
    slot->next_offsets.resize(message.partition + 1, -1);
  }
  slot->next_offsets[message.partition] = message.offset + 1;
  // One clock read per chunk of messages: per message it showed in profiles.
  if (receipt_chunks_.empty() || receipt_chunks_.back().count == kReceiptChunk) {
    receipt_chunks_.push_back({Clock::now(), 0});
  }
  ++receipt_chunks_.back().count;
  total_uncommitted_.fetch_add(1, std::memory_order_relaxed);

  if (auto rejected = decoder_.decode(slot->type, message.payload, event_)) {
    dead_letters_.send(message, invalidReasonName(rejected->reason), rejected->detail);
    ++slot->invalid[static_cast<size_t>(rejected->reason)];
    if (++pending_dead_letters_ <= kRejectionsLoggedPerBatch) {
      log::warn("event rejected, sent to dead-letter topic",
                {{"topic", std::string(message.topic)},
                 {"partition", std::to_string(message.partition)},
                 {"offset", std::to_string(message.offset)},
                 {"reason", std::string(invalidReasonName(rejected->reason))},
                 {"detail", rejected->detail}});
    }
    return;
  }
  const Status s = foldAndProcess(message);
  if (!s.isOk()) {
    log::error("cannot process event",
               {{"topic", std::string(message.topic)},
                {"partition", std::to_string(message.partition)},
                {"offset", std::to_string(message.offset)},
                {"error", s.toString()}});
    deferred_error_ = s;
    return;
  }
  ++slot->consumed;
  slot->max_event_ts = std::max(slot->max_event_ts, event_.ts_ms);
  ++pending_events_;
}

Result<IngestPipeline::CachedRecord*> IngestPipeline::cached(StateTable table, int32_t partition,
                                                             std::string_view key) {
  if (CachedRecord* hit = cache_.find(table, partition, key)) return hit;

  auto record = std::make_unique<CachedRecord>();
  record->table = table;
  record->partition = partition;
  record->key.assign(key);
  SP_ASSIGN_OR_RETURN(auto stored, store_.get(table, partition, key));
  switch (table) {
    case StateTable::kCustomer: {
      SP_ASSIGN_OR_RETURN(record->value, decodeOrNew(stored, decodeCustomerState));
      break;
    }
    case StateTable::kInventory: {
      SP_ASSIGN_OR_RETURN(record->value, decodeOrNew(stored, decodeInventoryRecord));
      break;
    }
    case StateTable::kStore: {
      SP_ASSIGN_OR_RETURN(record->value, decodeOrNew(stored, decodeStoreRecord));
      break;
    }
    case StateTable::kAggregate:
    case StateTable::kRule:
      return Status(ErrorCode::kInternal, "the pipeline caches customer and global records only");
  }
  return cache_.insert(std::move(record));
}

const StoreRecord* IngestPipeline::cachedStore(std::string_view store_id) const {
  const CachedRecord* record = cache_.find(StateTable::kStore, kGlobalPartition, store_id);
  return record ? &std::get<StoreRecord>(record->value) : nullptr;
}

std::vector<std::string> IngestPipeline::cachedStoreIds() const {
  std::vector<std::string> ids;
  cache_.forEach([&ids](const CachedRecord& r) {
    if (r.table == StateTable::kStore) ids.push_back(r.key);
  });
  return ids;
}

const CustomerState* IngestPipeline::cachedCustomer(int32_t partition, std::string_view customer_id) const {
  const CachedRecord* record = cache_.find(StateTable::kCustomer, partition, customer_id);
  return record ? std::get_if<CustomerState>(&record->value) : nullptr;
}

std::vector<std::pair<int32_t, std::string>> IngestPipeline::cachedCustomerIds() const {
  std::vector<std::pair<int32_t, std::string>> ids;
  cache_.forEach([&ids](const CachedRecord& r) {
    if (r.table == StateTable::kCustomer && std::holds_alternative<CustomerState>(r.value)) {
      ids.emplace_back(r.partition, r.key);
    }
  });
  return ids;
}

const InventoryRecord* IngestPipeline::cachedInventory(std::string_view store_id, std::string_view sku) const {
  const CachedRecord* record = cache_.find(StateTable::kInventory, kGlobalPartition, inventoryKey(store_id, sku));
  return record ? std::get_if<InventoryRecord>(&record->value) : nullptr;
}

Result<IngestPipeline::CachedRecord*> IngestPipeline::applyToState(const Event& event, int32_t partition) {
  CachedRecord* record = nullptr;
  switch (event.type) {
    case EventType::kInventory: {
      SP_ASSIGN_OR_RETURN(record, cached(StateTable::kInventory, kGlobalPartition,
                                         inventoryKey(event.store_id, event.sku)));
      applyInventory(event, std::get<InventoryRecord>(record->value));
      break;
    }
    case EventType::kStore: {
      SP_ASSIGN_OR_RETURN(record, cached(StateTable::kStore, kGlobalPartition, event.store_id));
      applyStore(event, std::get<StoreRecord>(record->value));
      break;
    }
    default: {
      SP_ASSIGN_OR_RETURN(record, cached(StateTable::kCustomer, partition, event.customer_id));
      applyEvent(event, options_.customer, std::get<CustomerState>(record->value));
      break;
    }
  }
  if (!record->dirty) {
    record->dirty = true;
    dirty_.push_back(record);
  }
  return record;
}

Status IngestPipeline::commit(Wait wait) {
  SP_RETURN_IF_ERROR(finishWrite());
  // The writes themselves are rebuilt below; clearing only the offsets keeps
  // the StateWrite strings of an earlier commit, so encoding reuses their
  // capacity instead of allocating and regrowing every record every commit.
  batch_.next_offsets.clear();
  for (auto& slot : slots_) {
    for (size_t p = 0; p < slot->next_offsets.size(); ++p) {
      if (slot->next_offsets[p] >= 0) {
        batch_.next_offsets.emplace_back(TopicPartition{slot->topic, static_cast<int32_t>(p)},
                                         slot->next_offsets[p]);
      }
    }
  }
  if (batch_.next_offsets.empty() && processors_.empty()) return Status::ok();

  if (pending_dead_letters_ > 0) {
    // Offsets may only move past a rejected message once its dead letter is
    // stored; otherwise a crash here would lose it.
    Status flushed = dead_letters_.flush(options_.dead_letter_flush_timeout);
    if (!flushed.isOk()) {
      if (metrics_) metrics_->commits.Add({{"outcome", "error"}}).Increment();
      return Status(flushed.code(), "dead letters not stored, state not committed: " + flushed.message());
    }
  }
  batch_.writes.resize(dirty_.size());  // one write per dirty record, in dirty_ order
  for (size_t i = 0; i < dirty_.size(); ++i) {
    CachedRecord* record = dirty_[i];
    StateWrite& w = batch_.writes[i];
    w.table = record->table;
    w.partition = record->partition;
    w.key.assign(record->key);
    // The slot may have held a processor's write last commit: a delete or
    // a merge must not carry over to this record.
    w.erase = false;
    w.merge = false;
    std::visit(
        [&w](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, CustomerState>) {
            encodeCustomerState(value, w.value);
          } else if constexpr (std::is_same_v<T, InventoryRecord>) {
            encodeInventoryRecord(value, w.value);
          } else {
            encodeStoreRecord(value, w.value);
          }
        },
        record->value);
  }
  for (EventProcessor* processor : processors_) {
    if (Status s = processor->prepareCommit(batch_); !s.isOk()) {
      // Like a failed dead-letter flush: the records stay dirty, and a
      // later commit writes them with their offsets.
      if (metrics_) metrics_->commits.Add({{"outcome", "error"}}).Increment();
      return s;
    }
  }
  if (batch_.empty()) return Status::ok();  // processors only, with nothing to write
  // Clean from here on: the bytes are in the batch, and a failed write
  // stops the pipeline for good (write_failure_), so nothing re-commits.
  for (CachedRecord* record : dirty_) record->dirty = false;
  dirty_.clear();
  for (auto& slot : slots_) std::fill(slot->next_offsets.begin(), slot->next_offsets.end(), -1);
  publishFoldMetrics();
  in_flight_.events = std::exchange(pending_events_, 0);
  in_flight_.dead_letters = std::exchange(pending_dead_letters_, 0);
  std::swap(in_flight_.receipt_chunks, receipt_chunks_);
  receipt_chunks_.clear();
  SP_RETURN_IF_ERROR(writer_.submit(batch_));

  // Dropping cached records is safe only once the store holds what they
  // said: a later miss reads the store.
  const bool evict = cache_.size() > options_.cache_max_records;
  if (wait == Wait::kYes || evict) SP_RETURN_IF_ERROR(finishWrite());
  if (evict) cache_.clear();  // all clean and stored now: bounded memory
  return Status::ok();
}

Status IngestPipeline::finishWrite() {
  SP_RETURN_IF_ERROR(write_failure_);
  if (!writer_.inFlight()) return Status::ok();
  if (Status s = writer_.wait(); !s.isOk()) {
    if (metrics_) metrics_->commits.Add({{"outcome", "error"}}).Increment();
    write_failure_ = s;
    return s;
  }
  const auto committed_at = Clock::now();
  if (current_source_ != nullptr) current_source_->acknowledge(writer_.written().next_offsets);
  total_events_ += in_flight_.events;
  total_invalid_ += in_flight_.dead_letters;
  total_commits_ += 1;
  total_uncommitted_ -= in_flight_.events + in_flight_.dead_letters;
  publishCommitMetrics(committed_at);
  return Status::ok();
}

// Per-topic counts, as soon as the batch is handed to the writer.
void IngestPipeline::publishFoldMetrics() {
  const int64_t now_ms = wallClockMillis();
  for (auto& slot : slots_) {
    for (size_t r = 0; r < kInvalidReasonCount; ++r) {
      if (metrics_ && slot->invalid[r] > 0) slot->invalid_metric[r]->Increment(static_cast<double>(slot->invalid[r]));
      slot->invalid[r] = 0;
    }
    if (metrics_ && slot->consumed > 0) {
      slot->consumed_metric->Increment(static_cast<double>(slot->consumed));
      slot->event_time_lag_metric->Set(static_cast<double>(now_ms - slot->max_event_ts) / 1000.0);
    }
    slot->consumed = 0;
    slot->max_event_ts = 0;
  }
}

// Commit outcome and processing latency (arrival to stored), once written.
void IngestPipeline::publishCommitMetrics(std::chrono::steady_clock::time_point committed_at) {
  if (!metrics_) return;
  metrics_->commits.Add({{"outcome", "ok"}}).Increment();
  if (latency_ == nullptr) latency_ = &metrics_->processing_latency.Add({}, latencyBuckets());
  const auto& bounds = latencyBuckets();
  std::vector<double> buckets(bounds.size() + 1, 0);
  double sum = 0;
  for (const ReceiptChunk& chunk : in_flight_.receipt_chunks) {
    const double seconds = std::chrono::duration<double>(committed_at - chunk.received).count();
    sum += seconds * chunk.count;
    buckets[std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin()] += chunk.count;
  }
  latency_->ObserveMultiple(buckets, sum);
}

void IngestPipeline::publishLag(EventSource& source) {
  if (!metrics_) return;
  const auto now = Clock::now();
  if (now - last_lag_update_ < std::chrono::seconds(1)) return;
  last_lag_update_ = now;
  for (const PartitionLag& lag : source.lag()) {
    metrics_->consumer_lag.Add({{"topic", lag.tp.topic}, {"partition", std::to_string(lag.tp.partition)}})
        .Set(static_cast<double>(lag.lag));
  }
}

Status IngestPipeline::runOnce(EventSource& source) {
  current_source_ = &source;
  SP_RETURN_IF_ERROR(source.poll(*this, options_.batch_max_wait, options_.batch_max_events));
  SP_RETURN_IF_ERROR(deferred_error_);
  if (!processors_.empty()) {
    const int64_t now = wallClockMillis();
    for (EventProcessor* processor : processors_) SP_RETURN_IF_ERROR(processor->tick(now));
  }
  SP_RETURN_IF_ERROR(commit(Wait::kNo));
  publishLag(source);
  return Status::ok();
}

Status IngestPipeline::flush() { return commit(Wait::kYes); }

Status IngestPipeline::run(EventSource& source, const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    SP_RETURN_IF_ERROR(runOnce(source));
  }
  // Graceful stop: the last batch is committed, then leaving the group
  // revokes every partition (committing again, which finds nothing).
  SP_RETURN_IF_ERROR(flush());
  SP_RETURN_IF_ERROR(source.close(*this));
  current_source_ = nullptr;
  return deferred_error_;
}

Result<std::vector<std::optional<int64_t>>> IngestPipeline::onAssigned(const std::vector<TopicPartition>& partitions) {
  SP_RETURN_IF_ERROR(finishWrite());  // the stored offsets must include the last batch
  std::vector<std::optional<int64_t>> starts;
  starts.reserve(partitions.size());
  for (const auto& tp : partitions) {
    SP_ASSIGN_OR_RETURN(auto next, store_.nextOffset(tp));
    starts.push_back(next);
    log::info("partition assigned",
              {{"topic", tp.topic}, {"partition", std::to_string(tp.partition)},
               {"start_offset", next ? std::to_string(*next) : std::string("reset policy")}});
  }
  {
    std::lock_guard lock(owned_mutex_);
    owned_.insert(partitions.begin(), partitions.end());
    updateAssignedGauge();
  }
  ready_ = true;
  return starts;
}

void IngestPipeline::onRevoked(const std::vector<TopicPartition>& partitions) {
  // Stored before returning: the next owner starts from what is in the store.
  if (Status s = commit(Wait::kYes); !s.isOk()) {
    // Nothing is lost: the next owner resumes from the last committed
    // offsets. This instance stops on the deferred error.
    deferred_error_ = s;
  }
  std::set<int32_t> revoked_customer_partitions;
  for (const auto& tp : partitions) {
    TopicSlot* slot = slotFor(tp.topic);
    if (slot && isCustomerKeyed(slot->type)) revoked_customer_partitions.insert(tp.partition);
    log::info("partition revoked", {{"topic", tp.topic}, {"partition", std::to_string(tp.partition)}});
  }
  std::set<int32_t> still_owned;
  {
    std::lock_guard lock(owned_mutex_);
    for (const auto& tp : partitions) owned_.erase(tp);
    for (const auto& tp : owned_) {
      TopicSlot* slot = slotFor(tp.topic);
      if (slot && isCustomerKeyed(slot->type)) still_owned.insert(tp.partition);
    }
    updateAssignedGauge();
  }
  // Cached customers of partitions no longer owned would go stale: drop them.
  // Dirty ones stay (only after a failed dead-letter flush): dirty_ points at
  // them, and a later commit must write them together with their offsets.
  std::set<int32_t> gone;
  std::set_difference(revoked_customer_partitions.begin(), revoked_customer_partitions.end(), still_owned.begin(),
                      still_owned.end(), std::inserter(gone, gone.end()));
  if (!gone.empty()) {
    for (EventProcessor* processor : processors_) processor->revoked(gone);
  }
  cache_.eraseIf([&](const CachedRecord& r) {
    return r.table == StateTable::kCustomer && !r.dirty && revoked_customer_partitions.count(r.partition) &&
           !still_owned.count(r.partition);
  });
}

void IngestPipeline::updateAssignedGauge() {
  if (!metrics_) return;
  for (auto& slot : slots_) {
    size_t n = 0;
    for (const auto& tp : owned_) n += tp.topic == slot->topic;
    metrics_->assigned_partitions.Add({{"topic", slot->topic}}).Set(static_cast<double>(n));
  }
}

std::set<int32_t> IngestPipeline::ownedPartitions() const {
  std::set<int32_t> out;
  std::lock_guard lock(owned_mutex_);
  for (const auto& tp : owned_) {
    for (const auto& binding : options_.topics) {
      if (binding.topic == tp.topic && isCustomerKeyed(binding.type)) out.insert(tp.partition);
    }
  }
  return out;
}

PipelineCounters IngestPipeline::counters() const {
  return {total_events_.load(), total_invalid_.load(), total_commits_.load(), total_uncommitted_.load()};
}

}  // namespace storepulse
