#pragma once
// Work the pipeline runs on every event after folding it into state: the
// rule engine's aggregates, rules and actions. A processor's state joins
// the pipeline's atomic commit with the offsets, and what it sends out is
// made durable before those offsets are stored, so a crash replays the
// batch and its output together (deterministic ids let consumers drop the
// replayed copies).
//
// Called on the pipeline's thread only.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/event/event.h"
#include "engine/pipeline/event_source.h"
#include "engine/state/customer_state.h"
#include "engine/state/global_records.h"
#include "engine/state/state_store.h"

namespace storepulse {

// The records as the pipeline sees them, its batch not yet committed
// included: a rule on a purchase sees the store profile that an earlier
// event of the same batch set, and a scheduled rule the customers the
// batch changed.
class PipelineRecords {
 public:
  virtual ~PipelineRecords() = default;
  // The store's record if the pipeline holds it in memory; null otherwise
  // (the caller then reads the state store). Valid until the next event.
  virtual const StoreRecord* cachedStore(std::string_view store_id) const = 0;
  // The ids of the stores it holds in memory.
  virtual std::vector<std::string> cachedStoreIds() const = 0;
  // The same for customers, by the partition that owns them.
  virtual const CustomerState* cachedCustomer(int32_t partition, std::string_view customer_id) const = 0;
  virtual std::vector<std::pair<int32_t, std::string>> cachedCustomerIds() const = 0;
  // The stock of a product at a store, if the pipeline holds it in memory.
  virtual const InventoryRecord* cachedInventory(std::string_view store_id, std::string_view sku) const = 0;
};

struct ProcessedEvent {
  const Event& event;
  const SourceMessage& message;    // where it came from; its payload holds fields beyond the schema
  int32_t partition;               // of the state it touched; kGlobalPartition for global tables
  const CustomerState* customer;   // the customer after the fold; null for global events
};

class EventProcessor {
 public:
  virtual ~EventProcessor() = default;

  // Called once when the processor is added to a pipeline.
  virtual void attached(const PipelineRecords& records) { (void)records; }

  // Before `e` is folded into state: work the event's time makes due
  // (scheduled rules on the event-time clock) runs here, so that it sees
  // state as it was before the event.
  virtual Status before(const Event& e) {
    (void)e;
    return Status::ok();
  }
  // After `e` was folded into state. An error stops the pipeline (state
  // could not be read); a rule that fails to evaluate is the processor's to
  // count, not an error here.
  virtual Status process(const ProcessedEvent& e) = 0;
  // Once per poll with the wall clock: scheduled work that is due runs here.
  virtual Status tick(int64_t wall_clock_ms) = 0;
  // Before a commit: append the processor's state writes to `batch` and
  // make everything it sent durable. An error fails this commit, which a
  // later one retries: the processor keeps what it appended as pending.
  virtual Status prepareCommit(StateWriteBatch& batch) = 0;
  // Customer partitions this instance no longer owns, after their last
  // commit: drop what is cached for them.
  virtual void revoked(const std::set<int32_t>& partitions) = 0;
};

}  // namespace storepulse
