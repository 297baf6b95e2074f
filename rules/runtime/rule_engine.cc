#include "rules/runtime/rule_engine.h"

#include <absl/time/civil_time.h>
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "engine/core/log.h"
#include "engine/core/stable_hash.h"
#include "engine/core/time.h"
#include "engine/state/codec.h"
#include "engine/state/keyed_record.h"
#include "rules/cel/json.h"
#include "rules/cel/time_values.h"

namespace storepulse::rules {
namespace {

constexpr char kSep = '\0';

// Every window of one group key — the value of an aggregate's first `by`
// field, usually one customer — as one stored record: an event's
// aggregates are then one read and one write per batch, not one per
// aggregate (which the benchmark showed dominating the rules' cost).
// A window is keyed by its aggregate's definition fingerprint, which names
// the aggregate and changes with its definition (a reload that changes it
// starts the window afresh), and by the key's other `by` values.
//
// Kept flat, columns side by side, and found by id through a small hash
// index once there are more than a few. A commit writes only the windows
// the batch changed, as a merge into the stored record (keyed_record.h).
struct AggregateGroup {
  std::vector<uint64_t> ids;  // entryId(definition, others): what a window is found by
  std::vector<uint64_t> definitions;
  std::vector<std::string> others;  // each other `by` value after a \0; empty for most
  std::vector<WindowedAggregate> windows;
  std::vector<uint8_t> changed;  // since the last commit
  // The next commit writes the whole record, not only the changed windows:
  // some were removed, or the stored record is of an older format.
  bool rewrite = false;
  uint64_t generation = 0;  // the rule set it was last purged for (RuleEngine::groupEntry)
  // Open addressing on the id (a hash already): index + 1, 0 when free;
  // empty while the group is small enough to scan.
  std::vector<uint32_t> slots;

  // Up to this many windows a scan of `ids` (a few cache lines) is as fast,
  // and a customer's record (about a hundred windows) costs no index memory.
  static constexpr size_t kScanned = 256;

  size_t size() const { return windows.size(); }
  // The index of the window, or size() when there is none. A store's record
  // keyed by product holds a window per product it sold, thousands for a
  // big store: a scan of them per purchase item would grow with the range.
  size_t find(uint64_t id, uint64_t definition, std::string_view other_values) const {
    auto matches = [&](size_t i) { return ids[i] == id && definitions[i] == definition && others[i] == other_values; };
    if (slots.empty()) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (matches(i)) return i;
      }
      return size();
    }
    const size_t mask = slots.size() - 1;
    for (size_t at = id & mask; slots[at] != 0; at = (at + 1) & mask) {
      if (matches(slots[at] - 1)) return slots[at] - 1;
    }
    return size();
  }
  size_t add(uint64_t id, uint64_t definition, std::string_view other_values, WindowedAggregate window) {
    if (windows.size() == windows.capacity()) {
      // A customer gains windows one product at a time: grow in steps, not by one.
      const size_t capacity = std::max<size_t>(8, 2 * windows.size());
      ids.reserve(capacity);
      definitions.reserve(capacity);
      others.reserve(capacity);
      windows.reserve(capacity);
      changed.reserve(capacity);
    }
    ids.push_back(id);
    definitions.push_back(definition);
    others.emplace_back(other_values);
    windows.push_back(std::move(window));
    changed.push_back(0);
    if (size() > kScanned && 2 * size() > slots.size()) {
      reindex();  // at most half full, so that probes stay short
    } else if (!slots.empty()) {
      place(size() - 1);
    }
    return size() - 1;
  }
  void place(size_t index) {
    const size_t mask = slots.size() - 1;
    size_t at = ids[index] & mask;
    while (slots[at] != 0) at = (at + 1) & mask;
    slots[at] = static_cast<uint32_t>(index + 1);
  }
  void reindex() {
    slots.clear();
    if (size() <= kScanned) return;
    slots.assign(std::bit_ceil(4 * size()), 0);
    for (size_t i = 0; i < size(); ++i) place(i);
  }
  // Removes the windows `drop(definition, window)` selects; returns how many.
  template <typename Drop>
  size_t eraseIf(Drop drop) {
    size_t kept = 0;
    for (size_t i = 0; i < size(); ++i) {
      if (drop(definitions[i], windows[i])) continue;
      if (kept != i) {
        ids[kept] = ids[i];
        definitions[kept] = definitions[i];
        others[kept] = std::move(others[i]);
        windows[kept] = std::move(windows[i]);
        changed[kept] = changed[i];
      }
      ++kept;
    }
    const size_t dropped = size() - kept;
    ids.resize(kept);
    definitions.resize(kept);
    others.resize(kept);
    windows.resize(kept);
    changed.resize(kept);
    if (dropped > 0) {
      rewrite = true;
      reindex();
    }
    return dropped;
  }
};

// A window's entry id in the record (keyed_record.h): its definition
// fingerprint, mixed with its other `by` values when it has any.
uint64_t entryId(uint64_t definition, std::string_view other_values) {
  if (other_values.empty()) return definition;
  char bytes[8];  // little-endian: the id is stored, so it must not depend on the machine
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(definition >> (8 * i));
  StableHash h;
  h.addPart(std::string_view(bytes, 8));
  h.addPart(other_values);
  return h.value();
}

// Format 1 keyed windows by "name\0other values" with a varint
// definition; format 2 is a keyed record (keyed_record.h) whose entries
// hold the definition, the other values and the window, so that a commit
// can write only the windows it changed, as a merge.
constexpr uint64_t kGroupFormatV1 = 1;
static_assert(keyed_record::kFormat == 2);

// The whole group, or only its changed windows (a merge operand).
// `scratch` and `body` are buffers reused across calls.
void encodeGroup(const AggregateGroup& g, bool only_changed, std::string& out, std::string& scratch,
                 std::string& body) {
  size_t count = 0;
  for (size_t i = 0; i < g.size(); ++i) count += !only_changed || g.changed[i];
  keyed_record::begin(out, count);
  for (size_t i = 0; i < g.size(); ++i) {
    if (only_changed && !g.changed[i]) continue;
    scratch.clear();
    Encoder w(scratch);
    w.fixed64(g.definitions[i]);
    w.str(g.others[i]);
    g.windows[i].encode(body);
    w.str(body);
    keyed_record::add(out, g.ids[i], scratch);
  }
}

// Decodes a group record into `g`, leaving out the windows of aggregates
// that `function_of(definition)` does not know (nullopt): the rule set no
// longer has them, or defines them differently. Returns how many it left out.
template <typename FunctionOf>
Result<size_t> decodeGroup(std::string_view bytes, AggregateGroup& g, const FunctionOf& function_of) {
  Decoder r(bytes);
  const uint64_t version = r.u64();
  if ((version != keyed_record::kFormat && version != kGroupFormatV1) || r.failed()) {
    return Status(ErrorCode::kCorruption, "aggregate record has an unknown format version");
  }
  size_t left_out = 0;
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    uint64_t definition = 0;
    std::string_view other_values;
    std::string_view body;
    if (version == kGroupFormatV1) {
      const std::string_view member = r.view();  // "name\0other values"
      const size_t sep = member.find(kSep);
      other_values = sep == std::string_view::npos ? std::string_view() : member.substr(sep);
      definition = r.u64();
      body = r.view();
    } else {
      r.fixed64();  // the entry id: made of the two below
      Decoder entry(r.view());
      definition = entry.fixed64();
      other_values = entry.view();
      body = entry.view();
      if (entry.failed() || !entry.atEnd()) break;
    }
    if (r.failed()) break;
    const std::optional<AggregateFunction> function = function_of(definition);
    if (!function) {
      ++left_out;
      continue;
    }
    SP_ASSIGN_OR_RETURN(auto window, WindowedAggregate::decode(body, *function));
    g.add(entryId(definition, other_values), definition, other_values, std::move(window));
  }
  if (r.failed() || !r.atEnd()) return Status(ErrorCode::kCorruption, "aggregate record is truncated or too long");
  // Windows left out stay in the stored record until it is written whole.
  if (version == kGroupFormatV1 || left_out > 0) g.rewrite = true;
  return left_out;
}

using TextField = std::string_view (*)(const Event&);
using NumberField = double (*)(const Event&);

// The documented fields of an event, by name, for `by`, `field` and
// cooldown keys: resolved once per rule set, not compared per event.
struct NamedTextField {
  std::string_view name;
  TextField read;
};
std::string_view optionalText(const std::optional<std::string>& v) { return v ? std::string_view(*v) : std::string_view(); }
constexpr NamedTextField kTextFields[] = {
    {"customer_id", [](const Event& e) -> std::string_view { return e.customer_id; }},
    {"sku", [](const Event& e) -> std::string_view { return e.sku; }},
    {"store_id", [](const Event& e) -> std::string_view { return e.store_id; }},
    {"order_id", [](const Event& e) -> std::string_view { return e.order_id; }},
    {"channel", [](const Event& e) -> std::string_view { return e.channel; }},
    {"session_id", [](const Event& e) -> std::string_view { return e.session_id; }},
    {"guide_id", [](const Event& e) -> std::string_view { return e.guide_id; }},
    {"category", [](const Event& e) -> std::string_view { return e.category; }},
    {"name", [](const Event& e) { return optionalText(e.name); }},
    {"tier", [](const Event& e) { return optionalText(e.tier); }},
    {"home_store", [](const Event& e) { return optionalText(e.home_store); }},
    {"timezone", [](const Event& e) { return optionalText(e.timezone); }},
    {"manager_id", [](const Event& e) { return optionalText(e.manager_id); }},
};
struct NamedNumberField {
  std::string_view name;
  NumberField read;
};
constexpr NamedNumberField kNumberFields[] = {
    {"total", [](const Event& e) { return e.total; }},
    {"price", [](const Event& e) { return e.price.value_or(0); }},
    {"available", [](const Event& e) { return static_cast<double>(e.available); }},
    {"daily_target", [](const Event& e) { return e.daily_target.value_or(0); }},
};

// `by: store` is the store an event belongs to (storeIdOf), which the
// event alone does not say: its field is null, and the engine reads it.
constexpr std::string_view kEventStoreKey = "store";

// The text of a field; fields that are not text read as empty.
TextField textField(std::string_view name) {
  for (const NamedTextField& f : kTextFields) {
    if (f.name == name) return f.read;
  }
  return [](const Event&) { return std::string_view(); };
}

// The number of a field; fields that are not numbers read as 0.
NumberField numberField(std::string_view name) {
  for (const NamedNumberField& f : kNumberFields) {
    if (f.name == name) return f.read;
  }
  return [](const Event&) { return 0.0; };
}

// The store an event belongs to, for `store` in expressions and the zone
// of calendar windows: where it happened, else the customer's last store,
// else their home store.
std::string storeIdOf(const ProcessedEvent& e) {
  if (!e.event.store_id.empty() || e.customer == nullptr) return e.event.store_id;
  return !e.customer->last_store_id.empty() ? e.customer->last_store_id : e.customer->home_store;
}

// A CEL value as plain JSON, for alert facts and `emit` records.
nlohmann::json plainJson(const cel::Value& v) {
  switch (v.kind()) {
    case cel::ValueKind::kNull: return nullptr;
    case cel::ValueKind::kBool: return v.boolValue();
    case cel::ValueKind::kInt: return v.intValue();
    case cel::ValueKind::kUint: return v.uintValue();
    case cel::ValueKind::kDouble: return std::isfinite(v.doubleValue()) ? nlohmann::json(v.doubleValue()) : nullptr;
    case cel::ValueKind::kString: return std::string(v.stringValue());
    case cel::ValueKind::kDuration: return cel::formatDuration(v.durationValue());
    case cel::ValueKind::kTimestamp: return cel::formatTimestamp(v.timestampValue());
    case cel::ValueKind::kList: {
      nlohmann::json out = nlohmann::json::array();
      for (const cel::Value& item : v.listValue()) out.push_back(plainJson(item));
      return out;
    }
    case cel::ValueKind::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, value] : v.mapValue().entries()) {
        out[key.kind() == cel::ValueKind::kString ? std::string(key.stringValue()) : plainJson(key).dump()] =
            plainJson(value);
      }
      return out;
    }
    default: {
      const auto typed = cel::toTypedJson(v);
      return typed.contains("value") ? nlohmann::json::parse(typed["value"].dump()) : nullptr;
    }
  }
}

// How a template shows a value: text as is, numbers in their shortest form.
std::string display(const cel::Value& v) {
  if (v.kind() == cel::ValueKind::kString) return std::string(v.stringValue());
  if (v.kind() == cel::ValueKind::kDouble) return cel::toTypedJson(v)["value"].get<std::string>();  // as string() shows it
  const nlohmann::json j = plainJson(v);
  return j.is_string() ? j.get<std::string>() : j.dump();
}

// Units sold per store and product over 28 days, in days: what
// store.out_of_stock_best_sellers ranks. Kept like a declared aggregate
// `by: [store_id, sku]` (in the store's records of each partition) when a
// rule reads it; its name is no aggregate name a rule file can declare.
const AggregateSpec& bestSellerTally() {
  static const AggregateSpec spec = [] {
    AggregateSpec s;
    s.name = "storepulse:units_sold_28d";
    s.function = AggregateFunction::kSum;
    s.on = {EventType::kPurchase};
    s.field = "qty";
    s.by = {"store_id", "sku"};
    s.window.size_ms = 28 * 24 * 3600 * 1000LL;
    s.window.step_ms = 24 * 3600 * 1000LL;
    s.allowed_lateness_ms = 24 * 3600 * 1000LL;
    return s;
  }();
  return spec;
}
constexpr size_t kBestSellers = 10;  // how many of a store's products rank as its best sellers

// Where the wall-clock schedule has run to, a rule record; and how much of
// what a restart finds missed it makes up.
constexpr std::string_view kScheduleMarkKey = std::string_view("s\0scheduled_until", 17);
constexpr int64_t kMaxCatchUpMs = 24 * 3600 * 1000LL;

// A customer's attributes (what `tag` actions set) are one rule record, so
// that `customer.attributes` is one read.
std::string attributesKey(std::string_view customer_id) {
  std::string key = "a";
  key.push_back(kSep);
  key.append(customer_id);
  return key;
}
std::string encodeAttributes(const Attributes& attributes) {
  std::string out;
  Encoder w(out);
  w.u64(attributes.size());
  for (const auto& [name, value] : attributes) {
    w.str(name);
    w.str(value);
  }
  return out;
}
Result<Attributes> decodeAttributes(std::string_view bytes) {
  Decoder r(bytes);
  Attributes out;
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    std::string name(r.view());
    out.emplace_back(std::move(name), std::string(r.view()));
  }
  if (r.failed() || !r.atEnd()) return Status(ErrorCode::kCorruption, "customer attributes record does not decode");
  return out;
}

// Logging every failed evaluation would let one bad rule flood the log;
// the metric counts them all.
constexpr uint64_t kErrorsLoggedPerRule = 5;

}  // namespace

struct RuleEngine::Entry {
  StateTable table;
  int32_t partition;
  std::string key;
  std::variant<std::monostate, AggregateGroup, std::string> value;  // monostate: absent
  bool dirty = false;
  uint64_t touched = 0;  // the batch that last used it
  uint64_t loaded = 0;   // the batch it was read from the store in
  bool written = false;  // by this engine, ever: then the cache, not the store, has its newest value
};

// An aggregate of the current rule set, its fields resolved.
struct RuleEngine::AggregatePlan {
  const AggregateSpec* spec = nullptr;
  uint64_t definition = 0;
  TextField group;                // by[0]: which record holds the window; null: the event's store
  std::vector<TextField> others;  // by[1..]: which window in it; null: the event's store
  TextField text;                 // `field`, for distinct counts
  NumberField number;             // `field`, for sums, min, max and avg
  bool by_customer = false;       // kept in the customer's partition only
  // Purchases fold into a window per product, by its items' skus: the
  // counts of `after` rules whose `match` holds sku.
  bool sku_from_items = false;
  size_t group_slot = 0;          // numbers the distinct by[0] fields (event_groups_)
};

// The variables of one evaluation, bound to the event (or store and time)
// it is about; one per event or scheduled run, reused across its rules.
class RuleEngine::Evaluation final : public AggregateLookup, public StoreInsights, public CustomerAttributes {
 public:
  Evaluation(RuleEngine& engine, const CompiledRuleSet& rules)
      : engine_(engine), env_(*rules.env), activation_(env_.env), event_(env_), customer_(env_), store_(env_), agg_(env_),
        now_(env_), rules_(rules) {
    agg_.bind(*this);
    activation_.setObject(env_.agg_slot, agg_);
    activation_.unset(env_.event_slot);
    activation_.unset(env_.customer_slot);
    activation_.unset(env_.store_slot);
  }

  // Unbinds everything: one Evaluation serves every event and scheduled run
  // of a rule set, so that binding allocates nothing.
  void reset() {
    activation_.unset(env_.event_slot);
    activation_.unset(env_.customer_slot);
    activation_.unset(env_.store_slot);
    processed_ = nullptr;
    store_record_ = nullptr;
    store_id_.clear();
    scheduled_ = false;
    customer_id_ = {};
    customer_state_ = nullptr;
    best_sellers_done_ = false;
    attributes_done_ = false;
    std::fill(memo_done_.begin(), memo_done_.end(), 0);
    std::fill(conjuncts_.begin(), conjuncts_.end(), kUnknown);
    std::fill(operand_state_.begin(), operand_state_.end(), kUnknown);
  }

  void bindEvent(const ProcessedEvent& e) {
    processed_ = &e;
    event_.bind(e.event, e.message.payload);
    activation_.setObject(env_.event_slot, event_);
    if (e.customer != nullptr) {
      customer_.bind(e.event.customer_id, *e.customer, *this);
      activation_.setObject(env_.customer_slot, customer_);
    }
    partition_ = e.partition;
    eval_ts_ms_ = e.event.ts_ms;
  }
  void bindStore(std::string_view id, const StoreRecord* record) {
    store_id_ = id;
    if (record != nullptr) {
      store_.bind(store_id_, *record, *this);
      activation_.setObject(env_.store_slot, store_);
    }
    store_record_ = record;
  }
  // `zone` is also where calendar windows are read.
  void bindNow(int64_t now_ms, const absl::TimeZone& zone) {
    zone_ = zone;
    now_.bind(now_ms, zone_);
    activation_.setObject(env_.now_slot, now_);
    now_ms_ = now_ms;
  }
  // The end of a wait (`absent`): the event bound is the one that started
  // it; windows are read, cooldowns and alerts stamped, at its end.
  void bindWaitEnd(int64_t ends_ms) { eval_ts_ms_ = ends_ms; }
  // A scheduled run: the window ends at `at_ms`, store-keyed aggregates sum
  // over every owned partition.
  void bindScheduled(int64_t at_ms) {
    eval_ts_ms_ = at_ms;
    scheduled_ = true;
  }
  // A scheduled run for one customer (for_each: customer-segment): its
  // windows are those of its partition, where its cooldowns go too.
  void bindScheduledCustomer(int64_t at_ms, int32_t partition, std::string_view id, const CustomerState& state) {
    bindScheduled(at_ms);
    partition_ = partition;
    customer_id_ = id;
    customer_state_ = &state;
    customer_.bind(id, state, *this);
    activation_.setObject(env_.customer_slot, customer_);
  }

  Result<cel::Value> run(const cel::Program& program) { return program.evaluate(activation_); }

  // Whether the rule's `when` holds: its conjuncts in order, each evaluated
  // at most once per event or scheduled run, whichever rule asks first.
  Result<bool> holds(const CompiledRule& rule) {
    if (rule.segment) {
      // Who the rule is for comes first: `when` is only asked of members.
      auto member = rule.segment->evaluate(activation_);
      if (!member.isOk()) return Status(ErrorCode::kInvalidArgument, "segment: " + member.status().message());
      if (member->kind() != cel::ValueKind::kBool) {
        return Status(ErrorCode::kInvalidArgument, fmt::format("'segment' gave {}, not a bool", cel::kindName(member->kind())));
      }
      if (!member->boolValue()) return false;
    }
    int failed = -1;
    for (int id : rule.when) {
      uint8_t& state = conjuncts_[id];
      if (state == kUnknown) state = evaluateConjunct(id);
      if (state == kFalse) return false;
      if (state == kError && failed < 0) failed = id;
    }
    if (failed >= 0) return Status(ErrorCode::kInvalidArgument, conjunct_errors_[failed]);
    return true;
  }

  // Rules of one event read the same windows: each is computed once.
  std::optional<AggregateResult> lookup(int index) const override {
    if (memo_done_[index]) return memo_[index];
    memo_[index] = compute(index);
    memo_done_[index] = 1;
    return memo_[index];
  }

  std::optional<AggregateResult> compute(int index) const {
    const AggregatePlan& plan = engine_.plans_[index];
    const AggregateSpec& spec = *plan.spec;
    std::string_view group_value;
    std::string_view others;
    if (scheduled_) {
      // A scheduled run has no event: it reads the windows of its store, or
      // of its customer.
      if (spec.by.size() != 1) return std::nullopt;
      if (spec.by[0] == "store_id" || spec.by[0] == kEventStoreKey) {
        group_value = store_id_;
      } else if (spec.by[0] == "customer_id") {
        group_value = customer_id_;
      }
      if (group_value.empty()) return std::nullopt;
    } else {
      if (!engine_.eventKey(plan, processed_->event, store_id_)) return std::nullopt;
      group_value = engine_.group_value_;
      others = engine_.others_;
    }
    // A customer's windows live in the customer's partition. Windows keyed
    // by something else (a store, a product) were folded from events of
    // every partition: their value here is the sum over the partitions this
    // instance owns (all of them with one instance).
    if (plan.by_customer) {
      WindowRef ref = scheduled_ ? WindowRef{} : engine_.event_windows_[index];  // the fold's
      if (ref.group == nullptr) {
        auto found = engine_.window(partition_, plan, group_value, others, /*create=*/false,
                                    scheduled_ ? nullptr : &engine_.event_groups_[plan.group_slot]);
        if (!found.isOk()) return std::nullopt;
        ref = *found;
      }
      const WindowedAggregate* window = ref.get();
      return window ? window->at(spec, eval_ts_ms_, &zone_) : AggregateResult{};
    }
    AggregateResult total;
    std::set<int32_t> partitions = engine_.ownedPartitions();
    partitions.insert(kGlobalPartition);
    partitions.insert(partition());
    for (int32_t p : partitions) {
      auto ref = engine_.window(p, plan, group_value, others, /*create=*/false, nullptr);
      if (!ref.isOk()) return std::nullopt;
      const WindowedAggregate* window = ref->get();
      if (window == nullptr) continue;
      const AggregateResult r = window->at(spec, eval_ts_ms_, &zone_);
      if (r.empty()) continue;
      total.min = total.empty() ? r.min : std::min(total.min, r.min);
      total.max = total.empty() ? r.max : std::max(total.max, r.max);
      total.count += r.count;
      total.sum += r.sum;
      total.distinct += r.distinct;  // an upper bound across partitions
    }
    return total;
  }

  // Computed once per evaluation: the store does not change within one.
  const std::vector<std::string>& outOfStockBestSellers(std::string_view store_id) const override {
    if (!best_sellers_done_) {
      best_sellers_ = engine_.outOfStockBestSellers(store_id, eval_ts_ms_, zone_, partition());
      best_sellers_done_ = true;
    }
    return best_sellers_;
  }

  // Read once per evaluation, until a `tag` action changes them.
  const Attributes& attributesOf(std::string_view customer_id) const override {
    if (!attributes_done_) {
      auto read = engine_.attributesOf(partition_, customer_id);
      if (!read.isOk()) {
        log::warn("cannot read customer attributes",
                  {{"customer_id", std::string(customer_id)}, {"error", read.status().toString()}});
      }
      attributes_ = read.isOk() ? std::move(*read) : Attributes{};
      attributes_done_ = true;
    }
    return attributes_;
  }
  void forgetAttributes() { attributes_done_ = false; }

  const ProcessedEvent* processed() const { return processed_; }
  const StoreRecord* storeRecord() const { return store_record_; }
  const std::string& storeId() const { return store_id_; }
  int64_t evalTs() const { return eval_ts_ms_; }
  int64_t nowMs() const { return now_ms_; }
  const absl::TimeZone& zone() const { return zone_; }
  bool scheduled() const { return scheduled_; }
  // The customer of a scheduled customer-segment run; empty otherwise.
  std::string_view scheduledCustomerId() const { return customer_id_; }
  const CustomerState* scheduledCustomer() const { return customer_state_; }
  // Where the run's cooldowns, blocks and tags are kept.
  int32_t partition() const { return scheduled_ && customer_id_.empty() ? kGlobalPartition : partition_; }

 private:
  RuleEngine& engine_;
  const RuleEnv& env_;
  cel::Activation activation_;
  EventObject event_;
  CustomerObject customer_;
  StoreObject store_;
  AggObject agg_;
  NowObject now_;
  const ProcessedEvent* processed_ = nullptr;
  const StoreRecord* store_record_ = nullptr;
  std::string store_id_;
  int32_t partition_ = 0;
  int64_t eval_ts_ms_ = 0;
  int64_t now_ms_ = 0;
  absl::TimeZone zone_;
  bool scheduled_ = false;
  std::string_view customer_id_;
  const CustomerState* customer_state_ = nullptr;
  mutable bool best_sellers_done_ = false;
  mutable std::vector<std::string> best_sellers_;
  mutable bool attributes_done_ = false;
  mutable Attributes attributes_;
  mutable std::vector<std::optional<AggregateResult>> memo_ = std::vector<std::optional<AggregateResult>>(env_.aggregates.size());
  mutable std::vector<char> memo_done_ = std::vector<char>(env_.aggregates.size(), 0);

  enum : uint8_t { kUnknown, kTrue, kFalse, kError };
  uint8_t evaluateConjunct(int id) {
    if (const auto& threshold = rules_.thresholds[id]) {
      const cel::Value* operand = this->operand(threshold->operand);
      if (operand != nullptr) {
        if (auto holds = cel::compareNumber(threshold->op, *operand, threshold->constant)) return *holds ? kTrue : kFalse;
      }
      // Not a number: the conjunct says what that means (an error, mostly).
    }
    auto v = rules_.conjuncts[id].evaluate(activation_);
    if (v.isOk() && v->kind() == cel::ValueKind::kBool) return v->boolValue() ? kTrue : kFalse;
    conjunct_errors_[id] = v.isOk() ? fmt::format("'when' gave {}, not a bool", cel::kindName(v->kind()))
                                    : v.status().message();
    return kError;
  }
  // A threshold operand's value, evaluated once per event; null when it
  // failed.
  const cel::Value* operand(int id) {
    if (operand_state_[id] == kUnknown) {
      auto v = rules_.operands[id].evaluate(activation_);
      operand_state_[id] = v.isOk() ? kTrue : kError;
      if (v.isOk()) operand_values_[id] = std::move(*v);
    }
    return operand_state_[id] == kError ? nullptr : &operand_values_[id];
  }

  const CompiledRuleSet& rules_;
  std::vector<uint8_t> operand_state_ = std::vector<uint8_t>(rules_.operands.size(), kUnknown);
  std::vector<cel::Value> operand_values_ = std::vector<cel::Value>(rules_.operands.size());
  std::vector<uint8_t> conjuncts_ = std::vector<uint8_t>(rules_.conjuncts.size(), kUnknown);
  std::vector<std::string> conjunct_errors_ = std::vector<std::string>(rules_.conjuncts.size());
};

RuleEngine::RuleEngine(RuleEngineOptions options, std::shared_ptr<const CompiledRuleSet> rules, StateStore& store,
                       OutputSink& output, DeadLetterSink& dead_letters, Metrics* metrics)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      store_(store),
      output_(output),
      dead_letters_(dead_letters),
      metrics_(metrics),
      published_rules_(rules_) {
  planAggregates();
}

RuleEngine::~RuleEngine() = default;

RuleEngine::Evaluation& RuleEngine::evaluation() {
  if (evaluation_rules_ != rules_) {
    // A new rule set: new slots. Holding the set keeps its Env alive as
    // long as the Evaluation points into it.
    publishMetrics();  // counted under the old set's rule indexes
    evaluation_.reset();
    evaluation_rules_ = rules_;
    evaluation_ = std::make_unique<Evaluation>(*this, *rules_);
    stats_by_rule_.clear();
    for (const CompiledRule& rule : rules_->compiled) stats_by_rule_.push_back(&statsFor(*rule.spec));
  }
  evaluation_->reset();
  return *evaluation_;
}

void RuleEngine::replaceRules(std::shared_ptr<const CompiledRuleSet> rules) {
  std::lock_guard lock(reload_mutex_);
  pending_rules_ = rules;
  published_rules_ = std::move(rules);
}

std::shared_ptr<const CompiledRuleSet> RuleEngine::currentRules() const {
  std::lock_guard lock(reload_mutex_);
  return published_rules_;
}

void RuleEngine::pickUpReload() {
  std::lock_guard lock(reload_mutex_);
  if (!pending_rules_) return;
  rules_ = std::move(pending_rules_);
  pending_rules_.reset();
  planAggregates();
}

std::map<std::string, RuleCounters> RuleEngine::counters() const {
  std::lock_guard lock(stats_mutex_);
  std::map<std::string, RuleCounters> out;
  for (const auto& [id, s] : stats_) {
    out[id] = {s->evaluations.load(), s->fires.load(), s->errors.load(), s->held.load(), s->waiting.load()};
  }
  return out;
}

RuleEngine::RuleStats& RuleEngine::statsFor(const RuleSpec& spec) {
  std::lock_guard lock(stats_mutex_);
  auto& slot = stats_[spec.id];
  if (!slot) {
    slot = std::make_unique<RuleStats>();
    if (metrics_) {
      slot->evaluations_metric = &metrics_->rule_evaluations.Add({{"rule", spec.id}});
      slot->fires_metric = &metrics_->rule_fires.Add(
          {{"rule", spec.id}, {"mode", spec.mode == RuleMode::kShadow ? "shadow" : "live"}});
      slot->errors_metric = &metrics_->rule_errors.Add({{"rule", spec.id}});
      slot->held_metric = &metrics_->rule_held.Add({{"rule", spec.id}});
      if (spec.absent) slot->waiting_metric = &metrics_->rule_waits.Add({{"rule", spec.id}});
    }
  }
  return *slot;
}

uint64_t RuleEngine::count(const CompiledRule& rule, Outcome outcome) {
  // One thread counts (this engine's pipeline thread): a relaxed load and
  // store, not a locked add, per evaluation. The metric children are shared
  // by the instance's engines, so they are added to in publishMetrics().
  RuleStats& s = *stats_by_rule_[&rule - evaluation_rules_->compiled.data()];
  auto bump = [](std::atomic<uint64_t>& n) {
    const uint64_t next = n.load(std::memory_order_relaxed) + 1;
    n.store(next, std::memory_order_relaxed);
    return next;
  };
  switch (outcome) {
    case Outcome::kEvaluated: bump(s.evaluations); break;
    case Outcome::kFired: bump(s.fires); break;
    case Outcome::kFailed: return bump(s.errors);
    case Outcome::kHeld: bump(s.held); break;
  }
  return s.errors.load(std::memory_order_relaxed);
}

void RuleEngine::publishMetrics() {
  auto publish = [](const std::atomic<uint64_t>& n, uint64_t& published, prometheus::Counter* metric) {
    const uint64_t now = n.load(std::memory_order_relaxed);
    if (metric != nullptr && now > published) metric->Increment(static_cast<double>(now - published));
    published = now;
  };
  for (RuleStats* s : stats_by_rule_) {
    publish(s->evaluations, s->published_evaluations, s->evaluations_metric);
    publish(s->fires, s->published_fires, s->fires_metric);
    publish(s->errors, s->published_errors, s->errors_metric);
    publish(s->held, s->published_held, s->held_metric);
    if (s->waiting_metric != nullptr) s->waiting_metric->Set(static_cast<double>(s->waiting.load(std::memory_order_relaxed)));
  }
}

Result<RuleEngine::Entry*> RuleEngine::entry(StateTable table, int32_t partition, std::string_view key) {
  if (Entry* cached = cache_.find(table, partition, key)) {
    cached->touched = batch_;
    // The global tables' aggregates are the global pipeline's engine's to
    // fold; the engine that runs scheduled rules (the group one) only reads
    // them, so it reads them again in each batch to see that engine's
    // commits (as it does store profiles). Not those it writes itself (one
    // pipeline for every topic, as in backtests): its cache is ahead of the
    // store while the last commit is being written.
    if (options_.run_scheduled && table == StateTable::kAggregate && partition == kGlobalPartition &&
        !cached->written && cached->loaded < batch_) {
      SP_RETURN_IF_ERROR(load(*cached));
    }
    return cached;
  }
  auto e = std::make_unique<Entry>();
  e->table = table;
  e->partition = partition;
  e->key = key;
  e->touched = batch_;
  SP_RETURN_IF_ERROR(load(*e));
  return cache_.insert(std::move(e));
}

Status RuleEngine::load(Entry& e) {
  SP_ASSIGN_OR_RETURN(auto stored, store_.get(e.table, e.partition, e.key));
  e.loaded = batch_;
  if (!stored) {
    e.value = std::monostate{};
  } else if (e.table == StateTable::kAggregate) {
    auto& group = e.value.emplace<AggregateGroup>();
    SP_RETURN_IF_ERROR(decodeGroup(*stored, group, [this](uint64_t d) { return functionOf(d); }).status());
    group.generation = generation_;
  } else {
    e.value = std::move(*stored);
  }
  return Status::ok();
}

Result<RuleEngine::Entry*> RuleEngine::groupEntry(int32_t partition, const AggregatePlan& plan,
                                                   std::string_view group_value) {
  group_key_.assign(plan.spec->by[0]);
  group_key_.push_back(kSep);
  group_key_.append(group_value);
  SP_ASSIGN_OR_RETURN(Entry * e, entry(StateTable::kAggregate, partition, group_key_));
  if (!std::holds_alternative<AggregateGroup>(e->value)) e->value = AggregateGroup{};
  auto& group = std::get<AggregateGroup>(e->value);
  if (group.generation != generation_) {
    // Windows of aggregates the current set no longer has, or defines
    // differently, go the first time the record is used under it: a later
    // reload back to the old definition must not find stale state.
    group.eraseIf([&](uint64_t definition, const WindowedAggregate&) { return !plan_by_definition_.contains(definition); });
    group.generation = generation_;
  }
  return e;
}

Result<RuleEngine::WindowRef> RuleEngine::window(int32_t partition, const AggregatePlan& plan,
                                                 std::string_view group_value, std::string_view others, bool create,
                                                 Entry** group_memo) {
  Entry* e = group_memo != nullptr ? *group_memo : nullptr;
  if (e == nullptr) {
    SP_ASSIGN_OR_RETURN(e, groupEntry(partition, plan, group_value));
    if (group_memo != nullptr) *group_memo = e;
  }
  auto& group = std::get<AggregateGroup>(e->value);
  const uint64_t id = entryId(plan.definition, others);
  size_t index = group.find(id, plan.definition, others);
  if (index == group.size()) {
    if (!create) return WindowRef{};
    index = group.add(id, plan.definition, others, WindowedAggregate());
  }
  return WindowRef{e, index};
}

WindowedAggregate* RuleEngine::WindowRef::get() const {
  return group ? &std::get<AggregateGroup>(group->value).windows[index] : nullptr;
}

std::optional<AggregateFunction> RuleEngine::functionOf(uint64_t definition) const {
  const auto it = plan_by_definition_.find(definition);
  if (it == plan_by_definition_.end()) return std::nullopt;
  return plans_[it->second].spec->function;
}

bool RuleEngine::eventKey(const AggregatePlan& plan, const Event& e, std::string_view event_store) {
  group_value_ = plan.group ? plan.group(e) : event_store;
  if (group_value_.empty()) return false;
  others_.clear();
  for (TextField field : plan.others) {
    const std::string_view v = field ? field(e) : event_store;
    if (v.empty()) return false;
    others_.push_back(kSep);
    others_.append(v);
  }
  return true;
}

void RuleEngine::planAggregates() {
  ++generation_;
  plans_.clear();
  plan_by_definition_.clear();
  std::vector<std::string_view> group_fields;
  auto add = [&](const AggregateSpec& spec, uint64_t definition) {
    AggregatePlan plan;
    plan.spec = &spec;
    plan.definition = definition;
    auto keyField = [](std::string_view name) { return name == kEventStoreKey ? nullptr : textField(name); };
    plan.group = keyField(spec.by[0]);
    for (size_t b = 1; b < spec.by.size(); ++b) plan.others.push_back(keyField(spec.by[b]));
    plan.text = textField(spec.field);
    plan.number = numberField(spec.field);
    plan.by_customer = spec.by[0] == "customer_id";
    auto slot = std::find(group_fields.begin(), group_fields.end(), spec.by[0]);
    plan.group_slot = static_cast<size_t>(slot - group_fields.begin());
    if (slot == group_fields.end()) group_fields.push_back(spec.by[0]);
    plan_by_definition_.emplace(plan.definition, static_cast<int>(plans_.size()));
    plans_.push_back(std::move(plan));
    return static_cast<int>(plans_.size()) - 1;
  };
  for (size_t i = 0; i < rules_->env->aggregates.size(); ++i) {
    add(*rules_->env->aggregates[i], rules_->aggregate_definitions[i]);
  }
  for (size_t type = 0; type < kEventTypeCount; ++type) fold_plans_[type] = rules_->aggregates_by_event_type[type];
  // After the declared ones, so that their indexes stay those of RuleEnv.
  const AggregateSpec& tally = bestSellerTally();
  best_seller_plan_ = rules_->reads_best_sellers ? add(tally, tally.definitionFingerprint()) : -1;
  after_plans_.assign(rules_->compiled.size(), -1);
  for (size_t r = 0; r < rules_->compiled.size(); ++r) {
    const AggregateSpec* count = rules_->compiled[r].after_count.get();
    if (count == nullptr || !rules_->compiled[r].spec->enabled) continue;
    after_plans_[r] = add(*count, count->definitionFingerprint());
    plans_[after_plans_[r]].sku_from_items = std::find(count->by.begin(), count->by.end(), "sku") != count->by.end();
    for (EventType type : count->on) fold_plans_[static_cast<size_t>(type)].push_back(after_plans_[r]);
  }
  event_groups_.assign(group_fields.size(), nullptr);
  event_windows_.assign(plans_.size(), WindowRef{});
}

void RuleEngine::markDirty(Entry* e) {
  e->written = true;
  if (e->dirty) return;
  e->dirty = true;
  dirty_.push_back(e);
}

Result<const StoreRecord*> RuleEngine::storeRecord(const std::string& id) {
  if (id.empty()) return static_cast<const StoreRecord*>(nullptr);
  if (pipeline_records_ != nullptr) {
    if (const StoreRecord* in_batch = pipeline_records_->cachedStore(id)) return in_batch;
  }
  if (auto it = stores_.find(id); it != stores_.end()) return it->second.get();
  SP_ASSIGN_OR_RETURN(auto stored, store_.get(StateTable::kStore, kGlobalPartition, id));
  std::unique_ptr<StoreRecord> record;
  if (stored) {
    SP_ASSIGN_OR_RETURN(auto decoded, decodeStoreRecord(*stored));
    record = std::make_unique<StoreRecord>(std::move(decoded));
  }
  const StoreRecord* raw = record.get();
  stores_.emplace(id, std::move(record));
  return raw;
}

const absl::TimeZone& RuleEngine::zoneOf(const StoreRecord* store) {
  if (store == nullptr || store->timezone.empty()) return options_.default_zone;
  auto it = zones_.find(store->timezone);
  if (it == zones_.end()) {
    auto zone = cel::loadTimeZone(store->timezone);
    it = zones_.emplace(store->timezone, zone.isOk() ? *zone : options_.default_zone).first;
  }
  return it->second;
}

Status RuleEngine::before(const Event& e) {
  // A new rule set takes over here, between two events.
  pickUpReload();
  if (options_.clock != RuleEngineOptions::Clock::kEventTime || e.type == EventType::kStore) return Status::ok();
  // Waits that end and scheduled times before this event run first, on the
  // state before it: the clock passes them. A wait that ends at this very
  // time may still be ended by this event.
  SP_RETURN_IF_ERROR(runWaits(e.ts_ms, /*inclusive=*/false));
  if (scheduled_until_ms_ == INT64_MIN) scheduled_until_ms_ = e.ts_ms - 1;
  if (e.ts_ms - 1 > scheduled_until_ms_) {
    SP_RETURN_IF_ERROR(runScheduled(scheduled_until_ms_, e.ts_ms - 1).status());
    scheduled_until_ms_ = e.ts_ms - 1;
  }
  event_clock_ms_ = std::max(event_clock_ms_, e.ts_ms);
  return Status::ok();
}

Status RuleEngine::process(const ProcessedEvent& e) {
  const size_t type = static_cast<size_t>(e.event.type);
  const bool tallies = best_seller_plan_ >= 0 && e.event.type == EventType::kPurchase;
  if (fold_plans_[type].empty() && rules_->by_event_type[type].empty() && rules_->ending_waits[type].empty() &&
      !tallies) {
    return Status::ok();
  }
  std::fill(event_groups_.begin(), event_groups_.end(), nullptr);
  std::fill(event_windows_.begin(), event_windows_.end(), WindowRef{});
  // The store the event belongs to: `store` in expressions, and the zone of
  // calendar windows for both the fold and the reads.
  const std::string store_id = storeIdOf(e);
  SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(store_id));
  const absl::TimeZone& zone = zoneOf(store);
  SP_RETURN_IF_ERROR(foldAggregates(e, store_id, zone));
  // Waits this event ends first: an event of a type that both ends and
  // starts a rule's wait replaces the wait with its own.
  SP_RETURN_IF_ERROR(endWaits(e));
  return evaluateRules(e, store_id, store, zone);
}

Status RuleEngine::foldAggregates(const ProcessedEvent& e, std::string_view store_id, const absl::TimeZone& zone) {
  const std::vector<int>& indexes = fold_plans_[static_cast<size_t>(e.event.type)];
  // Every window first, then the folds: each window is a cache miss (one
  // customer among many), and fetching them all before using any lets the
  // misses overlap instead of following one another.
  for (int index : indexes) {
    const AggregatePlan& plan = plans_[index];
    if (plan.sku_from_items && e.event.type == EventType::kPurchase) continue;  // below, a window per product
    if (!eventKey(plan, e.event, store_id)) continue;
    SP_ASSIGN_OR_RETURN(event_windows_[index], window(e.partition, plan, group_value_, others_, /*create=*/true,
                                                      &event_groups_[plan.group_slot]));
    __builtin_prefetch(event_windows_[index].get());  // an early pointer may go stale: then it only fetches in vain
  }
  std::string late;
  auto foldInto = [&](const AggregatePlan& plan, WindowRef ref) {
    WindowedAggregate* agg = ref.get();
    const AggregateSpec& spec = *plan.spec;
    const double number = plan.number(e.event);
    uint64_t hash = 0;
    if (spec.function == AggregateFunction::kDistinctCount) {
      const std::string_view text = plan.text(e.event);
      hash = text.empty() ? distinctHash(fmt::format("{}", number)) : distinctHash(text);
    }
    if (agg->add(spec, e.event.ts_ms, number, hash, &zone) == WindowedAggregate::Fold::kLate) {
      if (metrics_) metrics_->late_events.Add({{"aggregate", spec.name}}).Increment();
      late += fmt::format("{}{} ({} ms behind its newest event {}, allowed {} ms)", late.empty() ? "" : "; ",
                          spec.name, agg->newestEventMs() - e.event.ts_ms,
                          formatRfc3339Millis(agg->newestEventMs()), spec.allowed_lateness_ms);
      return;
    }
    std::get<AggregateGroup>(ref.group->value).changed[ref.index] = 1;
    markDirty(ref.group);
  };
  for (int index : indexes) {
    const AggregatePlan& plan = plans_[index];
    if (plan.sku_from_items && e.event.type == EventType::kPurchase) {
      for (const std::string& others : itemKeys(plan, e.event)) {
        SP_ASSIGN_OR_RETURN(const WindowRef ref, window(e.partition, plan, e.event.customer_id, others,
                                                        /*create=*/true, &event_groups_[plan.group_slot]));
        foldInto(plan, ref);
      }
    } else if (event_windows_[index].group != nullptr) {  // null: the event lacks a `by` field
      foldInto(plan, event_windows_[index]);
    }
  }
  if (best_seller_plan_ >= 0 && e.event.type == EventType::kPurchase && !e.event.store_id.empty()) {
    SP_RETURN_IF_ERROR(foldUnitsSold(e, zone));
  }
  if (!late.empty()) {
    // The event still updated the customer and every aggregate it was in
    // time for; the dead letter records which windows it missed.
    dead_letters_.send(e.message, "late_event", "too late for aggregate " + late);
    sent_dead_letters_ = true;
  }
  return Status::ok();
}

Status RuleEngine::foldUnitsSold(const ProcessedEvent& e, const absl::TimeZone& zone) {
  const AggregatePlan& plan = plans_[best_seller_plan_];
  for (const LineItem& item : e.event.items) {
    if (item.sku.empty() || item.qty <= 0) continue;
    others_.assign(1, kSep);
    others_.append(item.sku);
    SP_ASSIGN_OR_RETURN(WindowRef ref, window(e.partition, plan, e.event.store_id, others_, /*create=*/true,
                                              &event_groups_[plan.group_slot]));
    // A day's lateness is plenty for a 28-day ranking; later sales are
    // left out of it quietly, not dead-lettered as a rule's would be.
    if (ref.get()->add(*plan.spec, e.event.ts_ms, static_cast<double>(item.qty), 0, &zone) ==
        WindowedAggregate::Fold::kLate) {
      continue;
    }
    std::get<AggregateGroup>(ref.group->value).changed[ref.index] = 1;
    markDirty(ref.group);
  }
  return Status::ok();
}

Result<Attributes> RuleEngine::attributesOf(int32_t partition, std::string_view customer_id) {
  SP_ASSIGN_OR_RETURN(Entry * record, entry(StateTable::kRule, partition, attributesKey(customer_id)));
  const auto* bytes = std::get_if<std::string>(&record->value);
  if (bytes == nullptr) return Attributes{};
  return decodeAttributes(*bytes);
}

std::vector<std::string> RuleEngine::outOfStockBestSellers(std::string_view store_id, int64_t at_ms,
                                                           const absl::TimeZone& zone, int32_t partition) {
  if (best_seller_plan_ < 0 || store_id.empty()) return {};
  const AggregatePlan& plan = plans_[best_seller_plan_];
  // Units by product, summed over the partitions this instance owns, as
  // store-keyed windows are.
  std::map<std::string, double, std::less<>> units;
  std::set<int32_t> partitions = ownedPartitions();
  partitions.insert(kGlobalPartition);
  partitions.insert(partition);
  for (int32_t p : partitions) {
    auto e = groupEntry(p, plan, store_id);
    if (!e.isOk()) {
      log::warn("cannot read a store's units sold", {{"store_id", std::string(store_id)},
                                                      {"partition", std::to_string(p)},
                                                      {"error", e.status().toString()}});
      continue;
    }
    const auto& group = std::get<AggregateGroup>((*e)->value);
    for (size_t i = 0; i < group.size(); ++i) {
      if (group.definitions[i] != plan.definition) continue;
      const double sold = group.windows[i].at(*plan.spec, at_ms, &zone).sum;
      if (sold > 0) units[group.others[i].substr(1)] += sold;  // others: "\0sku"
    }
  }
  std::vector<std::pair<double, std::string_view>> ranked;
  for (const auto& [sku, sold] : units) ranked.emplace_back(sold, sku);
  const size_t best = std::min(kBestSellers, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + best, ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < best; ++i) {
    const std::string_view sku = ranked[i].second;
    std::optional<InventoryRecord> stored;
    const InventoryRecord* stock =
        pipeline_records_ != nullptr ? pipeline_records_->cachedInventory(store_id, sku) : nullptr;
    if (stock == nullptr) {
      auto bytes = store_.get(StateTable::kInventory, kGlobalPartition, inventoryKey(store_id, sku));
      if (bytes.isOk() && *bytes) {
        auto decoded = decodeInventoryRecord(**bytes);
        if (decoded.isOk()) stored = std::move(*decoded);
      }
      stock = stored ? &*stored : nullptr;
    }
    // A product with no stock record is not known to be out of stock.
    if (stock != nullptr && stock->available <= 0) out.emplace_back(sku);
  }
  return out;
}

Status RuleEngine::evaluateRules(const ProcessedEvent& e, const std::string& store_id, const StoreRecord* store,
                                 const absl::TimeZone& zone) {
  const auto& rules = rules_->by_event_type[static_cast<size_t>(e.event.type)];
  if (rules.empty()) return Status::ok();
  Evaluation& ev = evaluation();
  ev.bindEvent(e);
  ev.bindStore(store_id, store);
  const int64_t now = options_.clock == RuleEngineOptions::Clock::kEventTime ? event_clock_ms_ : wallClockMillis();
  ev.bindNow(now, zone);
  for (const CompiledRule* rule : rules) SP_RETURN_IF_ERROR(fire(*rule, ev));
  return Status::ok();
}

Status RuleEngine::ruleFailed(const CompiledRule& rule, const std::string& why) {
  // A rule that cannot be evaluated does not fire; it is counted and
  // logged, and the event goes on to the next rule.
  if (count(rule, Outcome::kFailed) <= kErrorsLoggedPerRule) {
    log::warn("rule evaluation failed", {{"rule", rule.spec->id}, {"error", why}});
  }
  return Status::ok();
}

Status RuleEngine::fire(const CompiledRule& rule, Evaluation& ev) {
  count(rule, Outcome::kEvaluated);
  const Result<bool> when = ev.holds(rule);
  if (!when.isOk()) return ruleFailed(rule, when.status().message());
  bool holds = *when;
  if (holds && rule.after_count) {
    SP_ASSIGN_OR_RETURN(holds, cameAfter(rule, *ev.processed()));
  }
  if (rule.spec->absent) return holds ? startWait(rule, ev) : Status::ok();
  return act(rule, ev, holds);
}

namespace {

// The products of a purchase, each once: what `sku` matches in `after`
// and `absent`.
std::vector<std::string_view> distinctSkus(const Event& e) {
  std::vector<std::string_view> skus;
  for (const LineItem& item : e.items) {
    if (!item.sku.empty()) skus.push_back(item.sku);
  }
  std::sort(skus.begin(), skus.end());
  skus.erase(std::unique(skus.begin(), skus.end()), skus.end());
  return skus;
}

}  // namespace

std::vector<std::string> RuleEngine::itemKeys(const AggregatePlan& plan, const Event& e) const {
  std::vector<std::string> keys;
  for (std::string_view sku : distinctSkus(e)) {
    std::string& others = keys.emplace_back();
    for (size_t b = 1; b < plan.spec->by.size(); ++b) {
      const std::string_view v = plan.spec->by[b] == "sku" ? sku : plan.others[b - 1](e);
      if (v.empty()) return {};
      others.push_back(kSep);
      others.append(v);
    }
  }
  return keys;
}

Result<bool> RuleEngine::cameAfter(const CompiledRule& rule, const ProcessedEvent& e) {
  const AggregatePlan& plan = plans_[after_plans_[static_cast<size_t>(&rule - rules_->compiled.data())]];
  std::vector<std::string> keys;
  if (plan.sku_from_items && e.event.type == EventType::kPurchase) {
    keys = itemKeys(plan, e.event);
  } else if (eventKey(plan, e.event, /*event_store=*/{})) {
    keys.push_back(others_);
  }
  for (const std::string& others : keys) {
    SP_ASSIGN_OR_RETURN(const WindowRef ref,
                        window(e.partition, plan, e.event.customer_id, others, /*create=*/false, nullptr));
    const WindowedAggregate* counted = ref.get();
    if (counted != nullptr && counted->at(*plan.spec, e.event.ts_ms).count > 0) return true;
  }
  return false;
}

Status RuleEngine::act(const CompiledRule& rule, Evaluation& ev, bool holds) {
  const RuleSpec& spec = *rule.spec;
  auto failed = [&](const std::string& why) { return ruleFailed(rule, why); };
  const bool live = spec.mode == RuleMode::kLive;
  const Event* event = ev.processed() ? &ev.processed()->event : nullptr;

  if (spec.block) {
    // A block follows its condition: set while it holds, lifted when an
    // event for the same sku and store says it no longer does.
    auto sku = ev.run(*rule.block_sku);
    auto store = ev.run(*rule.block_store);
    if (!sku.isOk() || !store.isOk()) return failed(!sku.isOk() ? sku.status().message() : store.status().message());
    // Each rule keeps its own blocks, so one rule never lifts another's; a
    // shadow rule's are kept too (marked shadow) so that its would-be
    // blocks and lifts are counted like a live rule's, never applied.
    const std::string key = fmt::format("b{}{}{}{}{}{}", kSep, spec.id, kSep, display(*store), kSep, display(*sku));
    SP_ASSIGN_OR_RETURN(Entry * block, entry(StateTable::kRule, ev.partition(), key));
    const bool blocked = std::holds_alternative<std::string>(block->value);
    if (holds && !blocked) count(rule, Outcome::kFired);
    if (holds != blocked) {
      announce(rule, holds ? "block" : "unblock", ev, {{"sku", display(*sku)}, {"store_id", display(*store)}});
      block->value = holds ? decltype(block->value)(std::string(live ? "live" : "shadow"))
                           : decltype(block->value)(std::monostate{});
      markDirty(block);
    }
    if (!spec.alert && !spec.tag && !spec.emit) return Status::ok();
    if (!holds || blocked) return Status::ok();  // other actions fire when the block is set
  } else if (!holds) {
    return Status::ok();
  }

  // Cooldown: per key, on event time.
  std::vector<std::string> key_parts;
  if (ev.scheduled()) {
    key_parts.emplace_back(ev.scheduledCustomerId().empty() ? std::string_view(ev.storeId()) : ev.scheduledCustomerId());
  } else if (spec.cooldown.key.empty()) {
    key_parts.emplace_back(event->customer_id.empty() ? event->store_id + ":" + event->sku : event->customer_id);
  } else {
    for (const std::string& field : spec.cooldown.key) key_parts.emplace_back(textField(field)(*event));
  }
  const int64_t event_ts = ev.evalTs();
  Entry* stamp = nullptr;
  if (spec.cooldown.for_ms > 0) {
    std::string key = "c" + std::string(1, kSep) + spec.id;
    for (const std::string& part : key_parts) key += kSep + part;
    SP_ASSIGN_OR_RETURN(stamp, entry(StateTable::kRule, ev.partition(), key));
    if (const auto* last = std::get_if<std::string>(&stamp->value)) {
      Decoder r(*last);
      const int64_t fired_at = r.i64();
      if (!r.failed() && event_ts < fired_at + spec.cooldown.for_ms) return Status::ok();
    }
  }
  if (spec.quiet_hours) {
    // In quiet hours the rule holds its peace: nothing is sent or stamped,
    // so it may act again once they are over.
    const absl::CivilMinute local = absl::ToCivilMinute(absl::FromUnixMillis(ev.nowMs()), ev.zone());
    if (spec.quiet_hours->contains(static_cast<int>(local.hour() * 60 + local.minute()))) {
      count(rule, Outcome::kHeld);
      return Status::ok();
    }
  }

  // Build every output first, so that a failing expression fires nothing.
  Alert alert;
  std::string emitted;
  std::optional<std::string> tag_value;
  if (spec.alert) {
    auto render = [&](const CompiledTemplate& t, std::string& out) -> std::optional<std::string> {
      for (const auto& part : t.parts) {
        if (!part.expression) {
          out += part.literal;
          continue;
        }
        auto v = ev.run(*part.expression);
        if (!v.isOk()) return v.status().message();
        out += display(*v);
      }
      return std::nullopt;
    };
    if (auto why = render(*rule.title, alert.title)) return failed(*why);
    if (rule.body) {
      if (auto why = render(*rule.body, alert.body)) return failed(*why);
    }
    for (const auto& [name, program] : rule.facts) {
      auto v = ev.run(program);
      if (!v.isOk()) return failed(v.status().message());
      alert.facts[name] = plainJson(*v);
    }
    const AlertAction& a = *spec.alert;
    alert.rule = spec.id;
    alert.severity = a.severity;
    alert.id = alertId(spec.id, key_parts, event_ts);
    alert.event_ts_ms = event_ts;
    alert.fired_ts_ms = ev.nowMs();
    alert.shadow = !live;
    if (event != nullptr) {
      alert.customer_id = event->customer_id;
      alert.guide_id = ev.processed()->customer ? ev.processed()->customer->guide_id : event->guide_id;
      if (alert.guide_id.empty()) alert.guide_id = event->guide_id;
    } else if (const CustomerState* customer = ev.scheduledCustomer()) {
      alert.customer_id = ev.scheduledCustomerId();
      alert.guide_id = customer->guide_id;
    }
    alert.store_id = ev.storeId();
    if (a.to == "guide") {
      alert.recipient_kind = "guide";
      alert.recipient = alert.guide_id;
    } else if (a.to == "store_manager") {
      alert.recipient_kind = "store_manager";
      alert.recipient = ev.storeRecord() ? ev.storeRecord()->manager_id : std::string();
    } else {
      alert.recipient_kind = "channel";
      alert.recipient = a.to;
    }
    if (a.recommend > 0) alert.facts["recommendations_requested"] = a.recommend;
  }
  if (spec.emit) {
    nlohmann::ordered_json record = nlohmann::ordered_json::object();  // fields in the order written
    for (const auto& [name, program] : rule.emit_fields) {
      auto v = ev.run(program);
      if (!v.isOk()) return failed(v.status().message());
      record[name] = plainJson(*v);
    }
    record["rule"] = spec.id;
    emitted = record.dump();
  }
  if (spec.tag) {
    auto v = ev.run(*rule.tag_value);
    if (!v.isOk()) return failed(v.status().message());
    tag_value = display(*v);
  }

  if (!spec.block) count(rule, Outcome::kFired);
  if (stamp != nullptr) {
    std::string bytes;
    Encoder(bytes).i64(event_ts);
    stamp->value = std::move(bytes);
    markDirty(stamp);
  }
  if (spec.alert) {
    announce(rule, "alert", ev,
             {{"id", alert.id}, {"severity", alert.severity}, {"title", alert.title}, {"body", alert.body},
              {"recipient", alert.recipient}, {"guide_id", alert.guide_id}});
  }
  if (spec.emit) announce(rule, "emit", ev, {{"topic", spec.emit->topic}, {"record", emitted}});
  if (spec.tag) announce(rule, "tag", ev, {{"name", spec.tag->name}, {"value", *tag_value}});
  if (!live) return Status::ok();  // shadow: counted, never delivered
  if (spec.alert) {
    const std::string key = !alert.recipient.empty() ? alert.recipient : alert.customer_id;
    output_.send(options_.alerts_topic, key, alert.toJson());
    sent_output_ = true;
  }
  if (spec.emit) {
    output_.send(spec.emit->topic, key_parts.empty() ? std::string() : key_parts.front(), emitted);
    sent_output_ = true;
  }
  const std::string_view customer_id = event != nullptr ? std::string_view(event->customer_id) : ev.scheduledCustomerId();
  if (spec.tag && !customer_id.empty()) {
    SP_ASSIGN_OR_RETURN(Entry * record, entry(StateTable::kRule, ev.partition(), attributesKey(customer_id)));
    Attributes attributes;
    if (const auto* bytes = std::get_if<std::string>(&record->value)) {
      SP_ASSIGN_OR_RETURN(attributes, decodeAttributes(*bytes));
    }
    auto at = std::lower_bound(attributes.begin(), attributes.end(), spec.tag->name,
                               [](const auto& a, const std::string& name) { return a.first < name; });
    if (at == attributes.end() || at->first != spec.tag->name) at = attributes.insert(at, {spec.tag->name, ""});
    at->second = *tag_value;
    record->value = encodeAttributes(attributes);
    markDirty(record);
    ev.forgetAttributes();  // the rules after this one see the new value
  }
  return Status::ok();
}

void RuleEngine::announce(const CompiledRule& rule, std::string action, const Evaluation& ev,
                          std::map<std::string, std::string> fields) {
  if (!listener_) return;
  Firing f;
  f.rule = rule.spec->id;
  f.action = std::move(action);
  f.shadow = rule.spec->mode == RuleMode::kShadow;
  f.fields = std::move(fields);
  if (const ProcessedEvent* e = ev.processed()) {
    f.fields.emplace("customer_id", e->event.customer_id);
    f.fields.emplace("sku", e->event.sku);
  } else if (!ev.scheduledCustomerId().empty()) {
    f.fields.emplace("customer_id", ev.scheduledCustomerId());
  }
  f.fields.emplace("store_id", ev.storeId());
  f.fields.emplace("event_ts", formatRfc3339Millis(ev.evalTs()));
  listener_(f);
}

namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

// Whether some time of `s` may fall in (after_ms, until_ms] in any time
// zone: a cheap test that spares the clock's frequent small steps (one per
// newer event on the event-time clock) a scan of every store and customer.
bool mayBeDue(const Schedule& s, int64_t after_ms, int64_t until_ms) {
  if (until_ms <= after_ms) return false;
  if (s.every_ms > 0) return until_ms / s.every_ms != after_ms / s.every_ms || until_ms - after_ms >= s.every_ms;
  if (until_ms - after_ms >= kDayMs) return true;
  // Zone offsets run from -12h to +14h, in steps of a quarter hour at least.
  // The local time passes once it is past a day boundary shifted by it.
  const int64_t at_ms = int64_t{s.minute_of_day} * 60000;
  auto runs = [&](int64_t t, int64_t offset) {  // scheduled local times up to t, counted from any origin
    const int64_t shifted = t + offset - at_ms;
    return shifted / kDayMs - (shifted % kDayMs < 0);
  };
  for (int64_t offset = -12 * 3600000; offset <= 14 * 3600000; offset += 15 * 60000) {
    if (runs(until_ms, offset) != runs(after_ms, offset)) return true;
  }
  return false;
}

// Calls `add` for each time of `s` in (after_ms, until_ms]; `at:` times are
// local times of `zone`.
template <typename Add>
void forEachDueTime(const Schedule& s, const absl::TimeZone& zone, int64_t after_ms, int64_t until_ms, Add add) {
  if (s.every_ms > 0) {
    // Every multiple of the period since the epoch, in UTC.
    for (int64_t t = (after_ms / s.every_ms + 1) * s.every_ms; t <= until_ms; t += s.every_ms) add(t);
    return;
  }
  // A local time of day, each day the clock passes it.
  for (absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(after_ms), zone);; ++day) {
    const absl::CivilSecond local(day.year(), day.month(), day.day(), s.minute_of_day / 60, s.minute_of_day % 60, 0);
    const int64_t t = absl::ToUnixMillis(absl::FromCivil(local, zone));
    if (t > until_ms) break;
    if (t > after_ms) add(t);
  }
}

}  // namespace

Status RuleEngine::tick(int64_t wall_clock_ms) {
  publishMetrics();
  pickUpReload();
  if (options_.clock != RuleEngineOptions::Clock::kWall) return Status::ok();
  if (options_.sweep_interval.count() > 0) {
    // The first tick, or a clock stepped back: sweep an interval from now.
    if (last_sweep_ms_ == INT64_MIN || wall_clock_ms < last_sweep_ms_) last_sweep_ms_ = wall_clock_ms;
    if (wall_clock_ms - last_sweep_ms_ >= options_.sweep_interval.count()) {
      SP_RETURN_IF_ERROR(sweep(wall_clock_ms));
      last_sweep_ms_ = wall_clock_ms;
    }
  }
  SP_RETURN_IF_ERROR(loadOwnedWaits());
  SP_RETURN_IF_ERROR(runWaits(wall_clock_ms, /*inclusive=*/false));
  if (!options_.run_scheduled || rules_->scheduled.empty()) return Status::ok();
  // How far the schedule has run is kept with the state, so that a restart
  // makes up the runs missed while the engine was down (the last day's at
  // most: a week-old warning helps nobody). A first start makes up nothing.
  SP_ASSIGN_OR_RETURN(Entry * mark, entry(StateTable::kRule, kGlobalPartition, kScheduleMarkKey));
  if (scheduled_until_ms_ == INT64_MIN) {
    scheduled_until_ms_ = wall_clock_ms;
    if (const auto* bytes = std::get_if<std::string>(&mark->value)) {
      Decoder r(*bytes);
      const int64_t stored = r.i64();
      if (!r.failed() && stored < wall_clock_ms) scheduled_until_ms_ = std::max(stored, wall_clock_ms - kMaxCatchUpMs);
    }
  }
  if (wall_clock_ms <= scheduled_until_ms_) return Status::ok();
  SP_ASSIGN_OR_RETURN(const bool due, runScheduled(scheduled_until_ms_, wall_clock_ms));
  scheduled_until_ms_ = wall_clock_ms;
  // The mark moves when a scheduled time passed, not at every poll: an idle
  // engine then has nothing to commit.
  if (due) {
    std::string bytes;
    Encoder(bytes).i64(scheduled_until_ms_);
    mark->value = std::move(bytes);
    markDirty(mark);
  }
  return Status::ok();
}

// Deletes what no evaluation can read any more, so that state does not grow
// with every customer and product ever seen. The deletes join the next
// commit like any other change.
Status RuleEngine::sweep(int64_t now_ms) {
  // A window is stale when its aggregate was removed or redefined, or when
  // no evaluation can read it any more.
  auto stale = [&](uint64_t definition, const WindowedAggregate& window) {
    const auto it = plan_by_definition_.find(definition);
    return it == plan_by_definition_.end() || window.expiredAt(*plans_[it->second].spec, now_ms);
  };
  std::map<std::string_view, int64_t> cooldown_by_rule;
  for (const RuleSpec* rule : rules_->rules) cooldown_by_rule.emplace(rule->id, rule->cooldown.for_ms);
  auto runOut = [&](std::string_view key, std::string_view stamp) {
    const std::string_view rest = key.substr(2);  // after "c\0"
    const auto it = cooldown_by_rule.find(rest.substr(0, rest.find(kSep)));
    Decoder r(stamp);
    const int64_t fired_at = r.i64();
    return it == cooldown_by_rule.end() || (!r.failed() && now_ms >= fired_at + it->second);
  };

  std::set<int32_t> partitions = ownedPartitions();
  partitions.insert(kGlobalPartition);
  std::vector<std::pair<int32_t, std::string>> groups;  // holding a stale window, as (partition, key)
  std::vector<std::pair<int32_t, std::string>> stamps;
  for (int32_t p : partitions) {
    SP_RETURN_IF_ERROR(store_.scan(StateTable::kAggregate, p, [&](std::string_view key, std::string_view value) {
      AggregateGroup group;
      const auto left_out = decodeGroup(value, group, [this](uint64_t d) { return functionOf(d); });
      if (!left_out.isOk()) return true;  // corrupt: left for a read to report
      if (*left_out > 0) {
        groups.emplace_back(p, key);
        return true;
      }
      for (size_t i = 0; i < group.size(); ++i) {
        if (stale(group.definitions[i], group.windows[i])) {
          groups.emplace_back(p, key);
          break;
        }
      }
      return true;
    }));
    SP_RETURN_IF_ERROR(store_.scan(StateTable::kRule, p, [&](std::string_view key, std::string_view value) {
      // Blocks and tags stay; cooldown stamps ("c\0...") run out.
      if (key.starts_with(std::string_view("c\0", 2)) && runOut(key, value)) stamps.emplace_back(p, key);
      return true;
    }));
  }
  // The scan saw committed state, which may lag the cache by the write in
  // flight: judge each candidate again by its cached (newest) value.
  size_t windows_dropped = 0;
  for (const auto& [p, key] : groups) {
    SP_ASSIGN_OR_RETURN(Entry * e, entry(StateTable::kAggregate, p, key));
    auto* group = std::get_if<AggregateGroup>(&e->value);
    if (group == nullptr) continue;
    windows_dropped += group->eraseIf(stale);
    markDirty(e);  // rewritten, or erased when no window is left
  }
  for (const auto& [p, key] : stamps) {
    SP_ASSIGN_OR_RETURN(Entry * e, entry(StateTable::kRule, p, key));
    const auto* stamp = std::get_if<std::string>(&e->value);
    if (stamp != nullptr && !runOut(key, *stamp)) continue;
    e->value = std::monostate{};
    markDirty(e);
  }
  if (windows_dropped > 0 || !stamps.empty()) {
    log::info("rule state swept", {{"windows", std::to_string(windows_dropped)},
                                   {"cooldowns", std::to_string(stamps.size())}});
  }
  return Status::ok();
}

Status RuleEngine::advanceClockTo(int64_t until_ms) {
  pickUpReload();
  // The input is over: no event can end these waits any more.
  SP_RETURN_IF_ERROR(loadOwnedWaits());
  SP_RETURN_IF_ERROR(runWaits(until_ms, /*inclusive=*/true));
  if (scheduled_until_ms_ == INT64_MIN || until_ms <= scheduled_until_ms_) return Status::ok();
  SP_RETURN_IF_ERROR(runScheduled(scheduled_until_ms_, until_ms).status());
  scheduled_until_ms_ = until_ms;
  event_clock_ms_ = std::max(event_clock_ms_, until_ms);
  return Status::ok();
}

Result<std::vector<std::string>> RuleEngine::scheduledStores() {
  // Every store with a profile, committed or in the pipeline's current batch.
  std::vector<std::string> ids;
  SP_RETURN_IF_ERROR(store_.scan(StateTable::kStore, kGlobalPartition, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key);
    return true;
  }));
  if (pipeline_records_ != nullptr) {
    for (std::string& id : pipeline_records_->cachedStoreIds()) ids.push_back(std::move(id));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  return ids;
}

Result<std::vector<RuleEngine::ScheduledCustomer>> RuleEngine::scheduledCustomers() {
  // The customers of the partitions this instance owns, committed or in the
  // pipeline's current batch (which is newer). By id, so that the order does
  // not depend on how customers are spread over partitions.
  std::map<std::string, ScheduledCustomer, std::less<>> by_id;
  const std::set<int32_t> partitions = ownedPartitions();
  for (int32_t p : partitions) {
    SP_RETURN_IF_ERROR(store_.scan(StateTable::kCustomer, p, [&](std::string_view key, std::string_view value) {
      auto state = decodeCustomerState(value);
      if (!state.isOk()) {
        log::warn("customer record does not decode; scheduled rules skip it",
                  {{"partition", std::to_string(p)}, {"customer_id", std::string(key)},
                   {"error", state.status().message()}});
        return true;
      }
      by_id[std::string(key)] = ScheduledCustomer{p, std::string(key), state->home_store};
      return true;
    }));
  }
  if (pipeline_records_ != nullptr) {
    for (auto& [p, id] : pipeline_records_->cachedCustomerIds()) {
      if (!partitions.contains(p)) continue;
      const CustomerState* state = pipeline_records_->cachedCustomer(p, id);
      if (state == nullptr) continue;
      by_id[id] = ScheduledCustomer{p, id, state->home_store};
    }
  }
  std::vector<ScheduledCustomer> out;
  out.reserve(by_id.size());
  for (auto& [id, c] : by_id) out.push_back(std::move(c));
  return out;
}

Result<bool> RuleEngine::runScheduled(int64_t after_ms, int64_t until_ms) {
  if (!options_.run_scheduled) return false;
  bool for_stores = false;
  bool for_customers = false;
  for (const CompiledRule* rule : rules_->scheduled) {
    const Schedule& s = *rule->spec->schedule;
    if (!mayBeDue(s, after_ms, until_ms)) continue;
    (s.for_each == Schedule::ForEach::kCustomerSegment ? for_customers : for_stores) = true;
  }
  if (!for_stores && !for_customers) return false;
  std::vector<std::string> store_ids;
  if (for_stores) {
    SP_ASSIGN_OR_RETURN(store_ids, scheduledStores());
  }
  std::vector<ScheduledCustomer> customers;
  if (for_customers) {
    SP_ASSIGN_OR_RETURN(customers, scheduledCustomers());
  }
  // Due times in order across rules and targets, so that output is ordered
  // by time. A customer's `at:` times are those of its home store's zone.
  struct Due {
    int64_t at_ms;
    size_t rule;
    size_t target;  // into store_ids or customers, as the rule runs for
  };
  std::vector<Due> due;
  for (size_t r = 0; r < rules_->scheduled.size(); ++r) {
    const Schedule& s = *rules_->scheduled[r]->spec->schedule;
    if (!mayBeDue(s, after_ms, until_ms)) continue;
    const bool per_customer = s.for_each == Schedule::ForEach::kCustomerSegment;
    const size_t targets = per_customer ? customers.size() : store_ids.size();
    for (size_t i = 0; i < targets; ++i) {
      SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(per_customer ? customers[i].home_store : store_ids[i]));
      forEachDueTime(s, zoneOf(store), after_ms, until_ms, [&](int64_t t) { due.push_back({t, r, i}); });
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const Due& a, const Due& b) { return a.at_ms < b.at_ms; });
  for (const Due& d : due) {
    const CompiledRule& rule = *rules_->scheduled[d.rule];
    if (rule.spec->schedule->for_each == Schedule::ForEach::kCustomerSegment) {
      SP_RETURN_IF_ERROR(runScheduledFor(rule, customers[d.target], d.at_ms));
    } else {
      SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(store_ids[d.target]));
      SP_RETURN_IF_ERROR(runScheduledAt(rule, store_ids[d.target], *store, d.at_ms));
    }
  }
  return true;
}

Status RuleEngine::runScheduledAt(const CompiledRule& rule, const std::string& store_id, const StoreRecord& store,
                                  int64_t at_ms) {
  Evaluation& ev = evaluation();
  ev.bindScheduled(at_ms);
  ev.bindStore(store_id, &store);
  ev.bindNow(at_ms, zoneOf(&store));
  return fire(rule, ev);
}

Status RuleEngine::runScheduledFor(const CompiledRule& rule, const ScheduledCustomer& customer, int64_t at_ms) {
  // Read at the run, not at the scan: an earlier run may have changed it.
  std::optional<CustomerState> stored;
  SP_ASSIGN_OR_RETURN(const CustomerState* state, customerNow(customer.partition, customer.id, stored));
  if (state == nullptr) return Status::ok();  // gone since the scan
  SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(state->home_store));
  Evaluation& ev = evaluation();
  ev.bindScheduledCustomer(at_ms, customer.partition, customer.id, *state);
  ev.bindStore(state->home_store, store);
  ev.bindNow(at_ms, zoneOf(store));
  return fire(rule, ev);
}

Result<const CustomerState*> RuleEngine::customerNow(int32_t partition, const std::string& id,
                                                     std::optional<CustomerState>& holder) {
  if (pipeline_records_ != nullptr) {
    if (const CustomerState* cached = pipeline_records_->cachedCustomer(partition, id)) return cached;
  }
  SP_ASSIGN_OR_RETURN(auto bytes, store_.get(StateTable::kCustomer, partition, id));
  if (!bytes) return static_cast<const CustomerState*>(nullptr);
  SP_ASSIGN_OR_RETURN(holder, decodeCustomerState(*bytes));
  return &*holder;
}

namespace {

constexpr std::string_view kWaitPrefix = std::string_view("w\0", 2);

// A wait's record: when it started and ends, and the event that started it
// (its type and payload), which its actions read as `event`. A purchase
// starts a wait per product when `match` holds sku: `item` says which,
// and the actions read it as event.sku.
std::string encodeWait(int64_t started_ms, int64_t ends_ms, EventType type, std::string_view payload,
                       std::string_view item) {
  std::string bytes;
  Encoder w(bytes);
  w.i64(started_ms);
  w.i64(ends_ms);
  w.u64(static_cast<uint64_t>(type));
  w.str(payload);
  w.str(item);
  return bytes;
}

struct StoredWait {
  int64_t started_ms = 0;
  int64_t ends_ms = 0;
  EventType type = EventType::kClick;
  std::string_view payload;
  std::string_view item;
};

Result<StoredWait> decodeWait(std::string_view bytes) {
  Decoder r(bytes);
  StoredWait w;
  w.started_ms = r.i64();
  w.ends_ms = r.i64();
  const uint64_t type = r.u64();
  w.payload = r.view();
  w.item = r.view();
  if (r.failed() || !r.atEnd() || type >= kEventTypeCount) {
    return Status(ErrorCode::kCorruption, "wait record is truncated or of an unknown event type");
  }
  w.type = static_cast<EventType>(type);
  return w;
}

}  // namespace

std::vector<RuleEngine::WaitKey> RuleEngine::waitKeys(const CompiledRule& rule, const Event& e) const {
  std::vector<WaitKey> keys{{std::string(kWaitPrefix) + rule.spec->id, ""}};
  for (const std::string& field : rule.spec->absent->match) {
    const bool items = field == "sku" && e.type == EventType::kPurchase;
    std::vector<std::string_view> values;
    if (items) {
      values = distinctSkus(e);
    } else if (const std::string_view v = textField(field)(e); !v.empty()) {
      values.push_back(v);
    }
    if (values.empty()) return {};
    std::vector<WaitKey> longer;
    longer.reserve(keys.size() * values.size());
    for (const WaitKey& key : keys) {
      for (std::string_view v : values) {
        longer.push_back({key.key + kSep + std::string(v), items ? std::string(v) : key.item});
      }
    }
    keys = std::move(longer);
  }
  return keys;
}

const CompiledRule* RuleEngine::ruleOfWait(std::string_view key) const {
  const std::string_view rest = key.substr(kWaitPrefix.size());  // "rule\0values"
  const std::string_view id = rest.substr(0, rest.find(kSep));
  for (const CompiledRule& r : rules_->compiled) {
    if (r.spec->id == id) return &r;
  }
  return nullptr;
}

Status RuleEngine::loadWaits(int32_t partition) {
  if (!wait_partitions_.insert(partition).second) return Status::ok();
  // Waits started since are in the cache, not yet stored; a partition is
  // loaded before its first wait starts here, so none is missed or doubled.
  return store_.scan(StateTable::kRule, partition, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(kWaitPrefix)) return true;
    auto wait = decodeWait(value);
    if (!wait.isOk()) {
      log::warn("wait record does not decode; it is left out",
                {{"partition", std::to_string(partition)}, {"key", std::string(key)},
                 {"error", wait.status().message()}});
      return true;
    }
    // The wait joins its rule's count, if the current set has the rule.
    const CompiledRule* rule = ruleOfWait(key);
    RuleStats* stats = rule != nullptr ? &statsFor(*rule->spec) : nullptr;
    indexWait(partition, std::string(key), Wait{wait->started_ms, wait->ends_ms, stats});
    return true;
  });
}

void RuleEngine::indexWait(int32_t partition, const std::string& key, Wait wait) {
  wait_ends_.emplace(wait.ends_ms, partition, key);
  if (wait.stats != nullptr) wait.stats->waiting.fetch_add(1, std::memory_order_relaxed);
  waits_.emplace(std::pair{partition, key}, wait);
}

void RuleEngine::unindexWait(std::map<std::pair<int32_t, std::string>, Wait>::iterator it) {
  const Wait& wait = it->second;
  wait_ends_.erase({wait.ends_ms, it->first.first, it->first.second});
  if (wait.stats != nullptr) wait.stats->waiting.fetch_sub(1, std::memory_order_relaxed);
  waits_.erase(it);
}

Status RuleEngine::loadOwnedWaits() {
  for (int32_t p : ownedPartitions()) SP_RETURN_IF_ERROR(loadWaits(p));
  return Status::ok();
}

Status RuleEngine::startWait(const CompiledRule& rule, Evaluation& ev) {
  const ProcessedEvent& e = *ev.processed();
  SP_RETURN_IF_ERROR(loadWaits(e.partition));
  for (WaitKey& key : waitKeys(rule, e.event)) {
    // The first event starts the wait; more of them before it ends do not
    // put its end off.
    if (waits_.contains({e.partition, key.key})) continue;
    const Wait wait{e.event.ts_ms, e.event.ts_ms + rule.spec->absent->within_ms, &statsFor(*rule.spec)};
    indexWait(e.partition, key.key, wait);
    SP_ASSIGN_OR_RETURN(Entry * record, entry(StateTable::kRule, e.partition, key.key));
    record->value = encodeWait(wait.started_ms, wait.ends_ms, e.event.type, e.message.payload, key.item);
    markDirty(record);
  }
  return Status::ok();
}

Status RuleEngine::endWaits(const ProcessedEvent& e) {
  const auto& rules = rules_->ending_waits[static_cast<size_t>(e.event.type)];
  if (rules.empty()) return Status::ok();
  SP_RETURN_IF_ERROR(loadWaits(e.partition));
  for (const CompiledRule* rule : rules) {
    for (const WaitKey& wait : waitKeys(*rule, e.event)) {
      const std::string& key = wait.key;
      const auto it = waits_.find({e.partition, key});
      // Only an event inside the wait ends it: one from before it started,
      // or after it ended (the clock has not acted on it yet), does not.
      if (it == waits_.end() || e.event.ts_ms < it->second.started_ms || e.event.ts_ms > it->second.ends_ms) continue;
      unindexWait(it);
      SP_ASSIGN_OR_RETURN(Entry * record, entry(StateTable::kRule, e.partition, key));
      record->value = std::monostate{};
      markDirty(record);
    }
  }
  return Status::ok();
}

Status RuleEngine::runWaits(int64_t until_ms, bool inclusive) {
  while (!wait_ends_.empty()) {
    auto first = wait_ends_.begin();
    const int64_t ends_ms = std::get<0>(*first);
    if (ends_ms > until_ms || (ends_ms == until_ms && !inclusive)) break;
    const int32_t partition = std::get<1>(*first);
    const std::string key = std::get<2>(*first);
    unindexWait(waits_.find({partition, key}));
    SP_RETURN_IF_ERROR(fireWait(partition, key));
  }
  return Status::ok();
}

Status RuleEngine::fireWait(int32_t partition, const std::string& key) {
  SP_ASSIGN_OR_RETURN(Entry * record, entry(StateTable::kRule, partition, key));
  const auto* bytes = std::get_if<std::string>(&record->value);
  if (bytes == nullptr) return Status::ok();
  const std::string stored_bytes = *bytes;  // the record is cleared below; the event is read from this copy
  record->value = std::monostate{};
  markDirty(record);
  auto stored = decodeWait(stored_bytes);
  // A reload may have removed the rule, or its wait, since the wait started.
  const CompiledRule* rule = ruleOfWait(key);
  if (rule == nullptr || !rule->spec->enabled || !rule->spec->absent) return Status::ok();
  Event event;
  std::optional<Rejection> rejected;
  if (stored.isOk()) rejected = decoder_.decode(stored->type, stored->payload, event);
  if (!stored.isOk() || rejected) {
    log::warn("wait record does not decode; the wait ends without acting",
              {{"rule", rule->spec->id}, {"partition", std::to_string(partition)},
               {"error", stored.isOk() ? rejected->detail : stored.status().message()}});
    return Status::ok();
  }
  if (!stored->item.empty()) event.sku = stored->item;
  std::optional<CustomerState> holder;
  SP_ASSIGN_OR_RETURN(const CustomerState* customer, customerNow(partition, event.customer_id, holder));
  const SourceMessage message{"", partition, -1, event.customer_id, stored->payload};
  const ProcessedEvent processed{event, message, partition, customer};
  const std::string store_id = storeIdOf(processed);
  SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(store_id));
  // Windows are read afresh at the wait's end, not from the last event's fold.
  std::fill(event_groups_.begin(), event_groups_.end(), nullptr);
  std::fill(event_windows_.begin(), event_windows_.end(), WindowRef{});
  Evaluation& ev = evaluation();
  ev.bindEvent(processed);
  ev.bindStore(store_id, store);
  ev.bindNow(stored->ends_ms, zoneOf(store));
  ev.bindWaitEnd(stored->ends_ms);
  return act(*rule, ev, /*holds=*/true);
}

Status RuleEngine::prepareCommit(StateWriteBatch& batch) {
  publishMetrics();
  // The previous batch is stored by now (the pipeline waits for its write
  // before preparing the next), so clean records may go when the cache is
  // past its bound; records dirtied since stay for this batch.
  // Past the bound, the least recently used clean records go, only as many
  // as bring the cache back under it: dropping every record the batch did
  // not use made later batches read most of the working set back (a
  // customer's record of a hundred windows each time).
  if (cache_.size() > options_.cache_max_records) evictLeastRecentlyUsed();
  // What was sent must be stored before the offsets that produced it move.
  if (sent_output_) {
    SP_RETURN_IF_ERROR(output_.flush(options_.flush_timeout));
    sent_output_ = false;
  }
  if (sent_dead_letters_) {
    SP_RETURN_IF_ERROR(dead_letters_.flush(options_.flush_timeout));
    sent_dead_letters_ = false;
  }
  for (Entry* e : dirty_) {
    StateWrite w{e->table, e->partition, e->key, "", false};
    if (auto* group = std::get_if<AggregateGroup>(&e->value)) {
      if (group->size() == 0) {
        w.erase = true;
      } else {
        // Only what changed, merged into the stored record: a customer's
        // record holds a window per product seen, an event changes a few.
        w.merge = !group->rewrite;
        encodeGroup(*group, w.merge, w.value, encode_scratch_, encode_body_);
      }
      std::fill(group->changed.begin(), group->changed.end(), 0);
      group->rewrite = false;
    } else if (const auto* text = std::get_if<std::string>(&e->value)) {
      w.value = *text;
    } else {
      w.erase = true;
    }
    batch.writes.push_back(std::move(w));
    e->dirty = false;
  }
  dirty_.clear();
  // Store profiles are read through: re-read them after each commit, when
  // the global pipeline may have changed them.
  stores_.clear();
  ++batch_;
  return Status::ok();
}

void RuleEngine::evictLeastRecentlyUsed() {
  // Batches since each clean record's last use, counted; then the oldest
  // batches go until enough records are gone (to 90% of the bound, so that
  // this does not run at every commit).
  const size_t target = options_.cache_max_records / 10 * 9;
  const size_t excess = cache_.size() - std::min(cache_.size(), target);
  std::map<uint64_t, size_t> by_batch;
  cache_.forEach([&](const Entry& e) {
    if (!e.dirty) ++by_batch[e.touched];
  });
  uint64_t cutoff = 0;  // records last used before this batch go
  size_t dropped = 0;
  for (const auto& [touched, n] : by_batch) {
    if (dropped >= excess || touched >= batch_) break;
    dropped += n;
    cutoff = touched + 1;
  }
  if (cutoff > 0) cache_.eraseIf([cutoff](const Entry& e) { return !e.dirty && e.touched < cutoff; });
}

void RuleEngine::revoked(const std::set<int32_t>& partitions) {
  cache_.eraseIf([&](const Entry& e) { return !e.dirty && partitions.count(e.partition); });
  // Their waits are the new owner's now, read from the store there.
  for (auto it = waits_.begin(); it != waits_.end();) {
    auto next = std::next(it);
    if (partitions.contains(it->first.first)) unindexWait(it);
    it = next;
  }
  for (int32_t p : partitions) wait_partitions_.erase(p);
}

}  // namespace storepulse::rules
