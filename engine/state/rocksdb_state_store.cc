#include "engine/state/rocksdb_state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/cache.h>
#include <rocksdb/merge_operator.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <vector>

#include "engine/state/codec.h"
#include "engine/state/keyed_record.h"

namespace storepulse {
namespace {

constexpr size_t kOffsetsFamily = 1 + kStateTableCount;

std::string recordKey(int32_t partition, std::string_view key) {
  std::string out;
  out.reserve(4 + key.size());
  appendBigEndian32(out, static_cast<uint32_t>(partition));
  out.append(key);
  return out;
}

std::string offsetKey(const TopicPartition& tp) {
  std::string out = tp.topic;
  out.push_back('\0');
  appendBigEndian32(out, static_cast<uint32_t>(tp.partition));
  return out;
}

Status fromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::ok();
  const ErrorCode code = s.IsCorruption() ? ErrorCode::kCorruption : ErrorCode::kIo;
  return Status(code, std::string(what) + ": " + s.ToString());
}

}  // namespace

namespace {

// StateWrite::merge: keyed records take their changed entries as operands
// (keyed_record.h), merged on reads and compactions.
class KeyedRecordMerge final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::string_view base;
    if (in.existing_value != nullptr) base = std::string_view(in.existing_value->data(), in.existing_value->size());
    std::vector<std::string_view> operands;
    for (const rocksdb::Slice& s : in.operand_list) operands.emplace_back(s.data(), s.size());
    return keyed_record::merge(in.existing_value != nullptr ? &base : nullptr, operands, out->new_value);
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operand_list,
                         std::string* new_value, rocksdb::Logger*) const override {
    std::vector<std::string_view> operands;
    for (const rocksdb::Slice& s : operand_list) operands.emplace_back(s.data(), s.size());
    return keyed_record::merge(nullptr, operands, *new_value);
  }
  const char* Name() const override { return "storepulse.KeyedRecordMerge"; }
};

}  // namespace

Result<std::unique_ptr<RocksDbStateStore>> RocksDbStateStore::open(const RocksDbOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status(ErrorCode::kIo, "cannot create state directory " + options.path + ": " + ec.message());

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Rules read aggregate and cooldown records that often do not exist yet
  // (a key's first event): without a filter each such miss searches every
  // level.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  // The same for the memtables, where most first lookups of new keys end:
  // a filter of 2% of the buffer answers them without a skiplist search.
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.memtable_whole_key_filtering = true;
  cf_options.merge_operator = std::make_shared<KeyedRecordMerge>();

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (size_t t = 0; t < kStateTableCount; ++t) {
    families.emplace_back(std::string(stateTableName(static_cast<StateTable>(t))), cf_options);
  }
  families.emplace_back("offsets", cf_options);

  auto store = std::unique_ptr<RocksDbStateStore>(new RocksDbStateStore());
  store->sync_writes_ = options.sync_writes;
  rocksdb::DB* db = nullptr;
  SP_RETURN_IF_ERROR(fromRocks(rocksdb::DB::Open(db_options, options.path, families, &store->handles_, &db),
                               "cannot open state store at " + options.path));
  store->db_.reset(db);
  return store;
}

RocksDbStateStore::~RocksDbStateStore() {
  if (!db_) return;
  for (auto* handle : handles_) (void)db_->DestroyColumnFamilyHandle(handle);
  (void)db_->Close();
}

rocksdb::ColumnFamilyHandle* RocksDbStateStore::family(StateTable table) const {
  return handles_[1 + static_cast<size_t>(table)];
}

Result<std::optional<std::string>> RocksDbStateStore::get(StateTable table, int32_t partition,
                                                          std::string_view key) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), family(table), recordKey(partition, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  SP_RETURN_IF_ERROR(fromRocks(s, "state read failed"));
  return std::optional<std::string>(std::move(value));
}

Result<std::optional<int64_t>> RocksDbStateStore::nextOffset(const TopicPartition& tp) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), handles_[kOffsetsFamily], offsetKey(tp), &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  SP_RETURN_IF_ERROR(fromRocks(s, "offset read failed"));
  Decoder r(value);
  const int64_t offset = r.i64();
  if (r.failed() || !r.atEnd()) {
    return Status(ErrorCode::kCorruption, "stored offset of " + tp.topic + "/" + std::to_string(tp.partition) +
                                              " does not decode");
  }
  return std::optional<int64_t>(offset);
}

Status RocksDbStateStore::write(const StateWriteBatch& batch) {
  // Put in key order: the memtable skip list then finds each insert point
  // next to the previous one instead of searching from the top (the
  // unordered insert was the largest cost of a commit). Stable, so that a
  // key written twice in one batch still ends with its last value.
  std::vector<const StateWrite*> ordered;
  ordered.reserve(batch.writes.size());
  for (const auto& w : batch.writes) ordered.push_back(&w);
  std::stable_sort(ordered.begin(), ordered.end(), [](const StateWrite* a, const StateWrite* b) {
    if (a->table != b->table) return a->table < b->table;
    if (a->partition != b->partition) {
      return static_cast<uint32_t>(a->partition) < static_cast<uint32_t>(b->partition);  // as the key bytes
    }
    return a->key < b->key;
  });
  rocksdb::WriteBatch wb;
  std::string key;
  for (const StateWrite* w_ptr : ordered) {
    const StateWrite& w = *w_ptr;
    key.clear();
    appendBigEndian32(key, static_cast<uint32_t>(w.partition));
    key.append(w.key);
    SP_RETURN_IF_ERROR(fromRocks(w.erase   ? wb.Delete(family(w.table), key)
                                 : w.merge ? wb.Merge(family(w.table), key, w.value)
                                           : wb.Put(family(w.table), key, w.value),
                                 "state batch"));
  }
  std::string value;
  for (const auto& [tp, offset] : batch.next_offsets) {
    value.clear();
    Encoder(value).i64(offset);
    SP_RETURN_IF_ERROR(fromRocks(wb.Put(handles_[kOffsetsFamily], offsetKey(tp), value), "state batch"));
  }
  rocksdb::WriteOptions options;
  options.sync = sync_writes_;
  return fromRocks(db_->Write(options, &wb), "state commit failed");
}

Status RocksDbStateStore::scan(StateTable table, int32_t partition,
                               const std::function<bool(std::string_view, std::string_view)>& visit) const {
  const std::string prefix = recordKey(partition, "");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(table)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const auto k = it->key();
    const auto v = it->value();
    if (!visit(std::string_view(k.data() + 4, k.size() - 4), std::string_view(v.data(), v.size()))) break;
  }
  return fromRocks(it->status(), "state scan failed");
}

StateStoreStats RocksDbStateStore::stats() const {
  StateStoreStats s;
  for (size_t i = 0; i < handles_.size(); ++i) {
    uint64_t v = 0;
    if (db_->GetIntProperty(handles_[i], "rocksdb.total-sst-files-size", &v)) s.live_bytes += v;
    if (db_->GetIntProperty(handles_[i], "rocksdb.cur-size-all-mem-tables", &v)) s.live_bytes += v;
    if (i >= 1 && i <= kStateTableCount && db_->GetIntProperty(handles_[i], "rocksdb.estimate-num-keys", &v)) {
      s.estimated_keys[i - 1] = v;
    }
  }
  uint64_t errors = 0;
  if (db_->GetIntProperty("rocksdb.background-errors", &errors)) s.background_errors = errors;
  return s;
}

}  // namespace storepulse
