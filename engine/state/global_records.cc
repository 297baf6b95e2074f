#include "engine/state/global_records.h"

#include "engine/state/codec.h"

namespace storepulse {
namespace {
constexpr uint64_t kFormatVersion = 1;

void encodeOptional(Encoder& w, const std::optional<double>& v) {
  w.u64(v.has_value());
  if (v) w.f64(*v);
}

std::optional<double> decodeOptional(Decoder& r) {
  if (r.u64() == 0) return std::nullopt;
  return r.f64();
}
}  // namespace

std::string inventoryKey(std::string_view store_id, std::string_view sku) {
  std::string key;
  key.reserve(store_id.size() + 1 + sku.size());
  key.append(store_id).push_back(':');
  key.append(sku);
  return key;
}

void applyInventory(const Event& e, InventoryRecord& r) {
  if (e.ts_ms < r.ts_ms) return;
  r.available = e.available;
  r.ts_ms = e.ts_ms;
}

void applyStore(const Event& e, StoreRecord& r) {
  if (e.name) r.name = *e.name;
  if (e.lat) r.lat = e.lat;
  if (e.lon) r.lon = e.lon;
  if (e.timezone) r.timezone = *e.timezone;
  if (e.daily_target) r.daily_target = e.daily_target;
  if (e.manager_id) r.manager_id = *e.manager_id;
}

void encodeInventoryRecord(const InventoryRecord& r, std::string& out) {
  out.clear();
  Encoder w(out);
  w.u64(kFormatVersion);
  w.i64(r.available);
  w.i64(r.ts_ms);
}

Result<InventoryRecord> decodeInventoryRecord(std::string_view bytes) {
  Decoder r(bytes);
  InventoryRecord rec;
  const uint64_t version = r.u64();
  rec.available = r.i64();
  rec.ts_ms = r.i64();
  if (version != kFormatVersion || r.failed() || !r.atEnd()) {
    return Status(ErrorCode::kCorruption, "inventory record does not decode");
  }
  return rec;
}

void encodeStoreRecord(const StoreRecord& s, std::string& out) {
  out.clear();
  Encoder w(out);
  w.u64(kFormatVersion);
  w.str(s.name);
  encodeOptional(w, s.lat);
  encodeOptional(w, s.lon);
  w.str(s.timezone);
  encodeOptional(w, s.daily_target);
  w.str(s.manager_id);
}

Result<StoreRecord> decodeStoreRecord(std::string_view bytes) {
  Decoder r(bytes);
  StoreRecord s;
  const uint64_t version = r.u64();
  s.name = r.str();
  s.lat = decodeOptional(r);
  s.lon = decodeOptional(r);
  s.timezone = r.str();
  s.daily_target = decodeOptional(r);
  s.manager_id = r.str();
  if (version != kFormatVersion || r.failed() || !r.atEnd()) {
    return Status(ErrorCode::kCorruption, "store record does not decode");
  }
  return s;
}

}  // namespace storepulse
