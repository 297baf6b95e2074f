#include "engine/state/memory_state_store.h"

#include "engine/state/keyed_record.h"

namespace storepulse {

Result<std::optional<std::string>> MemoryStateStore::get(StateTable table, int32_t partition,
                                                         std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(Key{table, partition, std::string(key)});
  if (it == records_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<std::optional<int64_t>> MemoryStateStore::nextOffset(const TopicPartition& tp) const {
  std::lock_guard lock(mutex_);
  auto it = offsets_.find(tp);
  if (it == offsets_.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second);
}

Status MemoryStateStore::write(const StateWriteBatch& batch) {
  std::lock_guard lock(mutex_);
  for (const auto& w : batch.writes) {
    if (w.erase) {
      records_.erase(Key{w.table, w.partition, w.key});
    } else if (w.merge) {
      // Applied at once, as RocksDB's merge operator would on a read.
      Key key{w.table, w.partition, w.key};
      auto it = records_.find(key);
      const std::string_view base = it != records_.end() ? std::string_view(it->second) : std::string_view();
      const std::string_view operand = w.value;
      std::string merged;
      if (!keyed_record::merge(it != records_.end() ? &base : nullptr, std::span(&operand, 1), merged)) {
        return Status(ErrorCode::kCorruption, "merge of a record that is not a keyed record");
      }
      records_[std::move(key)] = std::move(merged);
    } else {
      records_[Key{w.table, w.partition, w.key}] = w.value;
    }
  }
  for (const auto& [tp, offset] : batch.next_offsets) offsets_[tp] = offset;
  ++write_count_;
  return Status::ok();
}

Status MemoryStateStore::scan(StateTable table, int32_t partition,
                              const std::function<bool(std::string_view, std::string_view)>& visit) const {
  std::lock_guard lock(mutex_);
  for (auto it = records_.lower_bound(Key{table, partition, ""}); it != records_.end(); ++it) {
    const auto& [t, p, key] = it->first;
    if (t != table || p != partition) break;
    if (!visit(key, it->second)) break;
  }
  return Status::ok();
}

StateStoreStats MemoryStateStore::stats() const {
  std::lock_guard lock(mutex_);
  StateStoreStats s;
  for (const auto& [key, value] : records_) {
    s.live_bytes += std::get<2>(key).size() + value.size();
    ++s.estimated_keys[static_cast<size_t>(std::get<0>(key))];
  }
  return s;
}

size_t MemoryStateStore::writeCount() const {
  std::lock_guard lock(mutex_);
  return write_count_;
}

}  // namespace storepulse
