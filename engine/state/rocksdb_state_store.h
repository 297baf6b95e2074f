#pragma once
// StateStore on RocksDB: one database per engine instance, one column family
// per table plus one for offsets. Keys are big-endian partition + record
// key, so a partition's records are one contiguous range of each family.

#include <memory>
#include <string>

#include "engine/state/state_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace storepulse {

struct RocksDbOptions {
  std::string path;                 // directory; created when missing
  bool sync_writes = false;         // fsync the WAL per commit; off survives a process crash, not a power cut
  size_t block_cache_bytes = 64 << 20;
  size_t write_buffer_bytes = 32 << 20;
};

class RocksDbStateStore final : public StateStore {
 public:
  static Result<std::unique_ptr<RocksDbStateStore>> open(const RocksDbOptions& options);
  ~RocksDbStateStore() override;

  Result<std::optional<std::string>> get(StateTable table, int32_t partition,
                                         std::string_view key) const override;
  Result<std::optional<int64_t>> nextOffset(const TopicPartition& tp) const override;
  Status write(const StateWriteBatch& batch) override;
  Status scan(StateTable table, int32_t partition,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override;
  StateStoreStats stats() const override;

 private:
  RocksDbStateStore() = default;
  rocksdb::ColumnFamilyHandle* family(StateTable table) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, tables..., offsets
  bool sync_writes_ = false;
};

}  // namespace storepulse
