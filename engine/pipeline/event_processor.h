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

#include "engine/core/status.h"
#include "engine/event/event.h"
#include "engine/pipeline/event_source.h"
#include "engine/state/customer_state.h"
#include "engine/state/state_store.h"

namespace storepulse {

struct ProcessedEvent {
  const Event& event;
  const SourceMessage& message;    // where it came from; its payload holds fields beyond the schema
  int32_t partition;               // of the state it touched; kGlobalPartition for global tables
  const CustomerState* customer;   // the customer after the fold; null for global events
};

class EventProcessor {
 public:
  virtual ~EventProcessor() = default;

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
