#include "engine/state/customer_state.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/core/time.h"
#include "engine/state/codec.h"

namespace storepulse {
namespace {

constexpr uint64_t kFormatVersion = 2;  // 2: last_store_ts_ms

// Interest weights: a purchase says more than a scan, a scan more than a click.
int64_t affinityWeight(EventType kind, int64_t qty) {
  switch (kind) {
    case EventType::kPurchase: return 3 * qty;
    case EventType::kScan: return 2;
    default: return 1;
  }
}

void touch(CustomerState& s, int64_t ts) {
  if (s.first_seen_ms == 0 || ts < s.first_seen_ms) s.first_seen_ms = ts;
  s.last_seen_ms = std::max(s.last_seen_ms, ts);
}

// Keeps recent items ordered by (ts desc, kind, sku, store) so that the same
// events give the same list whatever order the topics were read in.
void addRecent(CustomerState& s, const CustomerStateOptions& o, RecentItem item) {
  auto before = [](const RecentItem& a, const RecentItem& b) {
    if (a.ts_ms != b.ts_ms) return a.ts_ms > b.ts_ms;
    if (a.kind != b.kind) return a.kind < b.kind;
    if (a.sku != b.sku) return a.sku < b.sku;
    return a.store_id < b.store_id;
  };
  auto& items = s.recent_items;
  if (items.size() >= o.max_recent_items && !items.empty() && !before(item, items.back())) return;
  items.insert(std::upper_bound(items.begin(), items.end(), item, before), std::move(item));
  if (items.size() > o.max_recent_items) items.resize(o.max_recent_items);
}

void addAffinity(CustomerState& s, const CustomerStateOptions& o, const std::string& category,
                 int64_t weight) {
  if (category.empty()) return;
  auto& cats = s.category_affinity;
  auto it = std::lower_bound(cats.begin(), cats.end(), category,
                             [](const CategoryWeight& c, const std::string& name) { return c.category < name; });
  if (it != cats.end() && it->category == category) {
    it->weight += weight;
    return;
  }
  cats.insert(it, CategoryWeight{category, weight});
  if (cats.size() > o.max_categories) {
    // Drop the lightest (ties: the last by name), deterministic either way.
    auto lightest = std::min_element(cats.begin(), cats.end(), [](const auto& a, const auto& b) {
      return a.weight != b.weight ? a.weight < b.weight : a.category > b.category;
    });
    cats.erase(lightest);
  }
}

// The newest visit by event time names the store; a tie goes to the larger
// store id, as a scan and a purchase on two topics have no common order.
void noteStore(CustomerState& s, const std::string& store_id, int64_t ts) {
  if (store_id.empty()) return;
  if (ts > s.last_store_ts_ms || (ts == s.last_store_ts_ms && store_id > s.last_store_id)) {
    s.last_store_id = store_id;
    s.last_store_ts_ms = ts;
  }
}

void applyProfile(const Event& e, CustomerState& s) {
  // Last writer by event time wins; a tie goes to the later event in the
  // partition, which is deterministic because one topic carries profiles.
  if (e.ts_ms < s.profile_ts_ms) return;
  s.profile_ts_ms = e.ts_ms;
  if (e.name) s.name = *e.name;
  if (e.tier) s.tier = *e.tier;
  if (e.has_guide_id) s.guide_id = e.guide_id;
  if (e.home_store) s.home_store = *e.home_store;
  if (e.tags) s.tags = *e.tags;
}

}  // namespace

void applyEvent(const Event& e, const CustomerStateOptions& o, CustomerState& s) {
  switch (e.type) {
    case EventType::kClick:
      touch(s, e.ts_ms);
      addRecent(s, o, {e.sku, e.ts_ms, e.type, {}});
      addAffinity(s, o, e.category, affinityWeight(e.type, 1));
      break;
    case EventType::kScan:
      touch(s, e.ts_ms);
      noteStore(s, e.store_id, e.ts_ms);
      if (!e.sku.empty()) {
        addRecent(s, o, {e.sku, e.ts_ms, e.type, e.store_id});
        addAffinity(s, o, e.category, affinityWeight(e.type, 1));
      } else if (e.has_guide_id && s.guide_id.empty()) {
        s.guide_id = e.guide_id;  // a "join" scan of a guide's QR code
      }
      break;
    case EventType::kPurchase:
      touch(s, e.ts_ms);
      noteStore(s, e.store_id, e.ts_ms);
      s.lifetime_spend += e.total;
      s.order_count += 1;
      s.last_purchase_ms = std::max(s.last_purchase_ms, e.ts_ms);
      for (const LineItem& item : e.items) {
        addRecent(s, o, {item.sku, e.ts_ms, e.type, e.store_id});
        addAffinity(s, o, item.category.empty() ? e.category : item.category,
                    affinityWeight(e.type, item.qty));
      }
      break;
    case EventType::kCustomer:
      touch(s, e.ts_ms);
      applyProfile(e, s);
      break;
    case EventType::kInventory:
    case EventType::kStore:
      break;
  }
}

void encodeCustomerState(const CustomerState& s, std::string& out) {
  out.clear();
  out.reserve(256 + 32 * s.recent_items.size());
  Encoder w(out);
  w.u64(kFormatVersion);
  w.str(s.name);
  w.str(s.tier);
  w.str(s.guide_id);
  w.str(s.home_store);
  w.u64(s.tags.size());
  for (const auto& t : s.tags) w.str(t);
  w.i64(s.profile_ts_ms);
  w.f64(s.lifetime_spend);
  w.i64(s.order_count);
  w.i64(s.first_seen_ms);
  w.i64(s.last_seen_ms);
  w.i64(s.last_purchase_ms);
  w.str(s.last_store_id);
  w.i64(s.last_store_ts_ms);
  w.u64(s.recent_items.size());
  for (const auto& r : s.recent_items) {
    w.str(r.sku);
    w.i64(r.ts_ms);
    w.u64(static_cast<uint64_t>(r.kind));
    w.str(r.store_id);
  }
  w.u64(s.category_affinity.size());
  for (const auto& c : s.category_affinity) {
    w.str(c.category);
    w.i64(c.weight);
  }
}

Result<CustomerState> decodeCustomerState(std::string_view bytes) {
  Decoder r(bytes);
  if (r.u64() != kFormatVersion || r.failed()) {
    return Status(ErrorCode::kCorruption, "customer record has an unknown format version");
  }
  CustomerState s;
  s.name = r.str();
  s.tier = r.str();
  s.guide_id = r.str();
  s.home_store = r.str();
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) s.tags.push_back(r.str());
  s.profile_ts_ms = r.i64();
  s.lifetime_spend = r.f64();
  s.order_count = r.i64();
  s.first_seen_ms = r.i64();
  s.last_seen_ms = r.i64();
  s.last_purchase_ms = r.i64();
  s.last_store_id = r.str();
  s.last_store_ts_ms = r.i64();
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    RecentItem item;
    item.sku = r.str();
    item.ts_ms = r.i64();
    const uint64_t kind = r.u64();
    if (kind >= kEventTypeCount) return Status(ErrorCode::kCorruption, "customer record has a bad item kind");
    item.kind = static_cast<EventType>(kind);
    item.store_id = r.str();
    s.recent_items.push_back(std::move(item));
  }
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    CategoryWeight c;
    c.category = r.str();
    c.weight = r.i64();
    s.category_affinity.push_back(std::move(c));
  }
  if (r.failed() || !r.atEnd()) return Status(ErrorCode::kCorruption, "customer record is truncated or too long");
  return s;
}

nlohmann::json customerStateToJson(std::string_view customer_id, const CustomerState& s) {
  auto optionalTime = [](int64_t ms) { return ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(formatRfc3339Millis(ms)); };
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& r : s.recent_items) {
    nlohmann::json item = {{"sku", r.sku}, {"ts", formatRfc3339Millis(r.ts_ms)}, {"kind", eventTypeName(r.kind)}};
    if (!r.store_id.empty()) item["store_id"] = r.store_id;
    recent.push_back(std::move(item));
  }
  nlohmann::json affinity = nlohmann::json::object();
  for (const auto& c : s.category_affinity) affinity[c.category] = c.weight;
  return {
      {"customer_id", customer_id},
      {"profile", {{"name", s.name}, {"tier", s.tier}, {"guide_id", s.guide_id},
                   {"home_store", s.home_store}, {"tags", s.tags}}},
      {"lifetime_spend", s.lifetime_spend},
      {"order_count", s.order_count},
      {"first_seen", optionalTime(s.first_seen_ms)},
      {"last_seen", optionalTime(s.last_seen_ms)},
      {"last_purchase", optionalTime(s.last_purchase_ms)},
      {"last_store_id", s.last_store_id},
      {"recent_items", std::move(recent)},
      {"category_affinity", std::move(affinity)},
  };
}

}  // namespace storepulse
