#pragma once
// The pipeline's cache of state records between commits, found by (table,
// partition, key). An open-addressing index over records kept in one
// vector: a lookup costs one probe into a flat array and, on a hash match,
// one key compare, where a node-based map walked a bucket list and missed
// the CPU cache at every step (it showed as the top symbol in profiles).
//
// Records never move (each is its own allocation), so callers may hold
// pointers to them until clear() or eraseIf() removes them.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/state/state_store.h"

namespace storepulse {

// Record: any type with `StateTable table; int32_t partition; std::string key;`.
template <typename Record>
class RecordCache {
 public:
  RecordCache() { rebuild(kMinCapacity); }

  Record* find(StateTable table, int32_t partition, std::string_view key) const {
    const uint64_t h = hashOf(table, partition, key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.record == nullptr) return nullptr;
      if (slot.hash == h && slot.record->table == table && slot.record->partition == partition &&
          slot.record->key == key) {
        return slot.record;
      }
    }
  }

  // The caller has checked that no record with the same identity is cached.
  Record* insert(std::unique_ptr<Record> record) {
    if ((records_.size() + 1) * 4 > slots_.size() * 3) rebuild(slots_.size() * 2);  // load <= 3/4
    Record* raw = record.get();
    records_.push_back(std::move(record));
    place(raw);
    return raw;
  }

  size_t size() const { return records_.size(); }

  template <typename Visit>
  void forEach(Visit visit) const {
    for (const auto& r : records_) visit(*r);
  }

  // Sizes the index for `n` records up front: growing mid-batch rehashes.
  void reserve(size_t n) {
    records_.reserve(n);
    if (n * 4 > slots_.size() * 3) rebuild(std::bit_ceil(n * 4 / 3 + 1));
  }

  void clear() {  // keeps the index's capacity: the cache fills up again
    records_.clear();
    std::fill(slots_.begin(), slots_.end(), Slot{});
  }

  // Removes the records `pred` selects; rare (a revocation), so it rebuilds.
  void eraseIf(const std::function<bool(const Record&)>& pred) {
    std::erase_if(records_, [&](const std::unique_ptr<Record>& r) { return pred(*r); });
    rebuild(std::max(kMinCapacity, std::bit_ceil(records_.size() * 2)));
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    Record* record = nullptr;
  };
  static constexpr size_t kMinCapacity = 1024;

  static uint64_t hashOf(StateTable table, int32_t partition, std::string_view key) {
    uint64_t h = std::hash<std::string_view>{}(key);
    h ^= (static_cast<uint64_t>(static_cast<uint32_t>(partition)) << 8 | static_cast<uint64_t>(table)) *
         0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);  // spread high bits into the low bits the mask keeps
  }

  void place(Record* record) {
    const uint64_t h = hashOf(record->table, record->partition, record->key);
    size_t i = h & mask_;
    while (slots_[i].record != nullptr) i = (i + 1) & mask_;
    slots_[i] = Slot{h, record};
  }

  void rebuild(size_t capacity) {
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const auto& r : records_) place(r.get());
  }

  std::vector<std::unique_ptr<Record>> records_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace storepulse
