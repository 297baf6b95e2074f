#pragma once
// An in-process StateStore over ordered maps: for unit tests and tools that
// need no durability. Same contract as RocksDbStateStore.

#include <map>
#include <mutex>

#include "engine/state/state_store.h"

namespace storepulse {

class MemoryStateStore final : public StateStore {
 public:
  Result<std::optional<std::string>> get(StateTable table, int32_t partition,
                                         std::string_view key) const override;
  Result<std::optional<int64_t>> nextOffset(const TopicPartition& tp) const override;
  Status write(const StateWriteBatch& batch) override;
  Status scan(StateTable table, int32_t partition,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override;
  StateStoreStats stats() const override;

  size_t writeCount() const;  // batches written, for tests

 private:
  using Key = std::tuple<StateTable, int32_t, std::string>;
  mutable std::mutex mutex_;
  std::map<Key, std::string, std::less<>> records_;
  std::map<TopicPartition, int64_t> offsets_;
  size_t write_count_ = 0;
};

}  // namespace storepulse
