#pragma once
// The state store seam. The pipeline folds events into records and writes
// them together with the consumed offsets in one atomic batch; on restart or
// reassignment it resumes from the offsets the store holds, so state and
// offsets can never disagree (SPEC.md "State").
//
// Records are laid out per Kafka partition (the task that owns them) so
// that everything one partition owns can be found, restored and handed over
// as a unit. Global tables use kGlobalPartition.
//
// Implementations are thread-safe: the pipeline thread writes while HTTP
// threads read committed state.

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace storepulse {

enum class StateTable : uint8_t {
  kCustomer,
  kInventory,
  kStore,
  kAggregate,  // windowed aggregates the rules declare, by partition and key
  kRule,       // rule state: cooldown stamps, blocks, customer tags
};
inline constexpr size_t kStateTableCount = 5;
std::string_view stateTableName(StateTable table);

inline constexpr int32_t kGlobalPartition = -1;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

struct StateWrite {
  StateTable table;
  int32_t partition;
  std::string key;
  std::string value;
  bool erase = false;  // delete the record instead (value unused)
  // `value` is a keyed record of changed entries, merged into the stored
  // one (keyed_record::merge) rather than replacing it.
  bool merge = false;
};

// What one commit writes atomically: records and the next offset to read
// for each topic-partition the records came from.
struct StateWriteBatch {
  std::vector<StateWrite> writes;
  std::vector<std::pair<TopicPartition, int64_t>> next_offsets;
  bool empty() const { return writes.empty() && next_offsets.empty(); }
  void clear() {
    writes.clear();
    next_offsets.clear();
  }
};

struct StateStoreStats {
  uint64_t live_bytes = 0;           // SST files plus memtables
  uint64_t estimated_keys[kStateTableCount] = {};
  uint64_t background_errors = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  virtual Result<std::optional<std::string>> get(StateTable table, int32_t partition,
                                                 std::string_view key) const = 0;
  // The next offset to consume for `tp`, if any batch from it was committed.
  virtual Result<std::optional<int64_t>> nextOffset(const TopicPartition& tp) const = 0;
  virtual Status write(const StateWriteBatch& batch) = 0;
  // Visits every record of a table's partition in key order; stops early
  // when `visit` returns false.
  virtual Status scan(StateTable table, int32_t partition,
                      const std::function<bool(std::string_view key, std::string_view value)>& visit) const = 0;
  virtual StateStoreStats stats() const = 0;
};

}  // namespace storepulse
