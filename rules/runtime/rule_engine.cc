#include "rules/runtime/rule_engine.h"

#include <absl/time/civil_time.h>
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "engine/core/log.h"
#include "engine/core/stable_hash.h"
#include "engine/core/time.h"
#include "engine/state/codec.h"
#include "rules/cel/json.h"
#include "rules/cel/time_values.h"

namespace storepulse::rules {
namespace {

constexpr char kSep = '\0';

// One aggregate's window for one key. It carries the fingerprint of the
// definition that made it: after a reload that changed the definition, the
// old state is not reused.
struct AggregateRecord {
  uint64_t definition = 0;
  WindowedAggregate value;
};

// Every window of one group key — the value of an aggregate's first `by`
// field, usually one customer — as one stored record: an event's
// aggregates are then one read and one write per batch, not one per
// aggregate (which the benchmark showed dominating the rules' cost).
struct AggregateGroup {
  std::map<std::string, AggregateRecord, std::less<>> members;  // by "name\0other by values"
};

constexpr uint64_t kGroupFormatVersion = 1;

void encodeGroup(const AggregateGroup& g, std::string& out) {
  Encoder w(out);
  w.u64(kGroupFormatVersion);
  w.u64(g.members.size());
  std::string body;
  for (const auto& [key, record] : g.members) {
    w.str(key);
    w.u64(record.definition);
    body.clear();
    record.value.encode(body);
    w.str(body);
  }
}

Result<AggregateGroup> decodeGroup(std::string_view bytes) {
  Decoder r(bytes);
  if (r.u64() != kGroupFormatVersion || r.failed()) {
    return Status(ErrorCode::kCorruption, "aggregate record has an unknown format version");
  }
  AggregateGroup g;
  for (uint64_t n = r.u64(); n > 0 && !r.failed(); --n) {
    std::string key = r.str();
    AggregateRecord record;
    record.definition = r.u64();
    const std::string body = r.str();
    if (r.failed()) break;
    SP_ASSIGN_OR_RETURN(record.value, WindowedAggregate::decode(body));
    g.members.emplace(std::move(key), std::move(record));
  }
  if (r.failed() || !r.atEnd()) return Status(ErrorCode::kCorruption, "aggregate record is truncated or too long");
  return g;
}


std::string cacheKey(StateTable table, int32_t partition, std::string_view key) {
  std::string out;
  out.push_back(static_cast<char>(table));
  appendBigEndian32(out, static_cast<uint32_t>(partition));
  out.append(key);
  return out;
}

// The text of a documented string field of an event, by name; empty when
// the event has none.
std::string_view stringField(const Event& e, std::string_view name) {
  if (name == "customer_id") return e.customer_id;
  if (name == "sku") return e.sku;
  if (name == "store_id") return e.store_id;
  if (name == "order_id") return e.order_id;
  if (name == "channel") return e.channel;
  if (name == "session_id") return e.session_id;
  if (name == "guide_id") return e.guide_id;
  if (name == "category") return e.category;
  if (name == "name") return e.name ? std::string_view(*e.name) : std::string_view();
  if (name == "tier") return e.tier ? std::string_view(*e.tier) : std::string_view();
  if (name == "home_store") return e.home_store ? std::string_view(*e.home_store) : std::string_view();
  if (name == "timezone") return e.timezone ? std::string_view(*e.timezone) : std::string_view();
  if (name == "manager_id") return e.manager_id ? std::string_view(*e.manager_id) : std::string_view();
  return {};
}

double numberField(const Event& e, std::string_view name) {
  if (name == "total") return e.total;
  if (name == "price") return e.price.value_or(0);
  if (name == "available") return static_cast<double>(e.available);
  if (name == "daily_target") return e.daily_target.value_or(0);
  return 0;
}

// Where an aggregate's window for an event is kept: the group record (the
// first `by` field and its value) and the member in it (the aggregate's name
// and the other `by` values). nullopt when the event lacks a `by` field.
struct AggregateKey {
  std::string group;
  std::string member;
};

std::optional<AggregateKey> aggregateKey(const AggregateSpec& spec, const Event& e) {
  AggregateKey key{spec.by[0], spec.name};
  for (size_t i = 0; i < spec.by.size(); ++i) {
    const std::string_view v = stringField(e, spec.by[i]);
    if (v.empty()) return std::nullopt;
    std::string& part = i == 0 ? key.group : key.member;
    part.push_back(kSep);
    part.append(v);
  }
  return key;
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
};

// The variables of one evaluation, bound to the event (or store and time)
// it is about; one per event or scheduled run, reused across its rules.
class RuleEngine::Evaluation final : public AggregateLookup {
 public:
  Evaluation(RuleEngine& engine, const RuleEnv& env)
      : engine_(engine), env_(env), activation_(env.env), event_(env), customer_(env), store_(env), agg_(env),
        now_(env) {
    agg_.bind(*this);
    activation_.setObject(env.agg_slot, agg_);
    activation_.unset(env.event_slot);
    activation_.unset(env.customer_slot);
    activation_.unset(env.store_slot);
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
    std::fill(memo_done_.begin(), memo_done_.end(), 0);
  }

  void bindEvent(const ProcessedEvent& e) {
    processed_ = &e;
    event_.bind(e.event, e.message.payload);
    activation_.setObject(env_.event_slot, event_);
    if (e.customer != nullptr) {
      customer_.bind(e.event.customer_id, *e.customer);
      activation_.setObject(env_.customer_slot, customer_);
    }
    partition_ = e.partition;
    eval_ts_ms_ = e.event.ts_ms;
  }
  void bindStore(std::string_view id, const StoreRecord* record) {
    store_id_ = id;
    if (record != nullptr) {
      store_.bind(store_id_, *record);
      activation_.setObject(env_.store_slot, store_);
    }
    store_record_ = record;
  }
  // `zone` is also where calendar windows are read.
  void bindNow(int64_t now_ms, const absl::TimeZone& zone) {
    zone_ = zone;
    now_.bind(now_ms, zone);
    activation_.setObject(env_.now_slot, now_);
    now_ms_ = now_ms;
  }
  // A scheduled run: the window ends at `at_ms`, store-keyed aggregates sum
  // over every owned partition.
  void bindScheduled(int64_t at_ms) {
    eval_ts_ms_ = at_ms;
    scheduled_ = true;
  }

  Result<cel::Value> run(const cel::Program& program) { return program.evaluate(activation_); }

  // Rules of one event read the same windows: each is computed once.
  std::optional<AggregateResult> lookup(int index) const override {
    if (memo_done_[index]) return memo_[index];
    memo_[index] = compute(index);
    memo_done_[index] = 1;
    return memo_[index];
  }

  std::optional<AggregateResult> compute(int index) const {
    const AggregateSpec& spec = *env_.aggregates[index];
    AggregateKey key;
    if (scheduled_) {
      if (spec.by.size() != 1 || spec.by[0] != "store_id") return std::nullopt;
      key = AggregateKey{"store_id" + std::string(1, kSep) + store_id_, spec.name};
    } else {
      auto event_key = aggregateKey(spec, processed_->event);
      if (!event_key) return std::nullopt;
      key = std::move(*event_key);
    }
    // A customer's windows live in the customer's partition. Windows keyed
    // by something else (a store, a product) were folded from events of
    // every partition: their value here is the sum over the partitions this
    // instance owns (all of them with one instance).
    if (!scheduled_ && spec.by[0] == "customer_id") {
      auto agg = engine_.aggregate(partition_, index, key.group, key.member);
      if (!agg.isOk()) return std::nullopt;
      return (*agg)->at(spec, eval_ts_ms_, &zone_);
    }
    AggregateResult total;
    std::set<int32_t> partitions = engine_.owned_partitions_ ? engine_.owned_partitions_() : std::set<int32_t>{0};
    partitions.insert(kGlobalPartition);
    partitions.insert(partition());
    for (int32_t p : partitions) {
      auto agg = engine_.aggregate(p, index, key.group, key.member);
      if (!agg.isOk()) return std::nullopt;
      const AggregateResult r = (*agg)->at(spec, eval_ts_ms_, &zone_);
      if (r.empty()) continue;
      total.min = total.empty() ? r.min : std::min(total.min, r.min);
      total.max = total.empty() ? r.max : std::max(total.max, r.max);
      total.count += r.count;
      total.sum += r.sum;
      total.distinct += r.distinct;  // an upper bound across partitions
    }
    return total;
  }

  const ProcessedEvent* processed() const { return processed_; }
  const StoreRecord* storeRecord() const { return store_record_; }
  const std::string& storeId() const { return store_id_; }
  int64_t evalTs() const { return eval_ts_ms_; }
  int64_t nowMs() const { return now_ms_; }
  bool scheduled() const { return scheduled_; }
  int32_t partition() const { return scheduled_ ? kGlobalPartition : partition_; }

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
  mutable std::vector<std::optional<AggregateResult>> memo_ = std::vector<std::optional<AggregateResult>>(env_.aggregates.size());
  mutable std::vector<char> memo_done_ = std::vector<char>(env_.aggregates.size(), 0);
};

RuleEngine::RuleEngine(RuleEngineOptions options, std::shared_ptr<const CompiledRuleSet> rules, StateStore& store,
                       OutputSink& output, DeadLetterSink& dead_letters, Metrics* metrics)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      store_(store),
      output_(output),
      dead_letters_(dead_letters),
      metrics_(metrics),
      published_rules_(rules_) {}

RuleEngine::~RuleEngine() = default;

RuleEngine::Evaluation& RuleEngine::evaluation() {
  if (evaluation_rules_ != rules_) {
    // A new rule set: new slots. Holding the set keeps its Env alive as
    // long as the Evaluation points into it.
    evaluation_.reset();
    evaluation_rules_ = rules_;
    evaluation_ = std::make_unique<Evaluation>(*this, *rules_->env);
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
  if (pending_rules_) rules_ = std::move(pending_rules_);
  pending_rules_.reset();
}

std::map<std::string, RuleCounters> RuleEngine::counters() const {
  std::lock_guard lock(stats_mutex_);
  std::map<std::string, RuleCounters> out;
  for (const auto& [id, s] : stats_) out[id] = {s->evaluations.load(), s->fires.load(), s->errors.load()};
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
    }
  }
  return *slot;
}

uint64_t RuleEngine::count(const CompiledRule& rule, Outcome outcome) {
  RuleStats& s = *stats_by_rule_[&rule - evaluation_rules_->compiled.data()];
  switch (outcome) {
    case Outcome::kEvaluated:
      s.evaluations.fetch_add(1, std::memory_order_relaxed);
      if (s.evaluations_metric) s.evaluations_metric->Increment();
      return s.errors.load(std::memory_order_relaxed);
    case Outcome::kFired:
      s.fires.fetch_add(1, std::memory_order_relaxed);
      if (s.fires_metric) s.fires_metric->Increment();
      return s.errors.load(std::memory_order_relaxed);
    case Outcome::kFailed:
      if (s.errors_metric) s.errors_metric->Increment();
      return s.errors.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  return 0;
}

Result<RuleEngine::Entry*> RuleEngine::entry(StateTable table, int32_t partition, const std::string& key) {
  std::string k = cacheKey(table, partition, key);
  if (auto it = cache_.find(k); it != cache_.end()) {
    it->second->touched = batch_;
    return it->second.get();
  }
  auto e = std::make_unique<Entry>();
  e->table = table;
  e->partition = partition;
  e->key = key;
  e->touched = batch_;
  SP_ASSIGN_OR_RETURN(auto stored, store_.get(table, partition, key));
  if (stored && table == StateTable::kAggregate) {
    SP_ASSIGN_OR_RETURN(e->value, decodeGroup(*stored));
  } else if (stored) {
    e->value = std::move(*stored);
  }
  Entry* raw = e.get();
  cache_.emplace(std::move(k), std::move(e));
  return raw;
}

Result<WindowedAggregate*> RuleEngine::aggregate(int32_t partition, int index, const std::string& group,
                                                 const std::string& member) {
  SP_ASSIGN_OR_RETURN(Entry * e, entry(StateTable::kAggregate, partition, group));
  if (!std::holds_alternative<AggregateGroup>(e->value)) e->value = AggregateGroup{};
  auto& members = std::get<AggregateGroup>(e->value).members;
  const uint64_t definition = rules_->aggregate_definitions[index];
  auto it = members.find(member);
  if (it == members.end()) {
    it = members.emplace(member, AggregateRecord{definition, WindowedAggregate()}).first;
  } else if (it->second.definition != definition) {
    it->second = AggregateRecord{definition, WindowedAggregate()};  // its definition changed: start afresh
  }
  last_entry_ = e;
  return &it->second.value;
}

void RuleEngine::markDirty(Entry* e) {
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

Status RuleEngine::process(const ProcessedEvent& e) {
  pickUpReload();
  if (options_.clock == RuleEngineOptions::Clock::kEventTime && e.event.type != EventType::kStore) {
    // Scheduled times before this event run first: the clock passes them.
    if (scheduled_until_ms_ == INT64_MIN) scheduled_until_ms_ = e.event.ts_ms - 1;
    if (e.event.ts_ms - 1 > scheduled_until_ms_) {
      SP_RETURN_IF_ERROR(runScheduled(scheduled_until_ms_, e.event.ts_ms - 1));
      scheduled_until_ms_ = e.event.ts_ms - 1;
    }
    event_clock_ms_ = std::max(event_clock_ms_, e.event.ts_ms);
  }
  const size_t type = static_cast<size_t>(e.event.type);
  if (rules_->aggregates_by_event_type[type].empty() && rules_->by_event_type[type].empty()) return Status::ok();
  // The store the event belongs to: `store` in expressions, and the zone of
  // calendar windows for both the fold and the reads.
  const std::string store_id = storeIdOf(e);
  SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(store_id));
  SP_RETURN_IF_ERROR(foldAggregates(e, zoneOf(store)));
  return evaluateRules(e, store_id, store);
}

Status RuleEngine::foldAggregates(const ProcessedEvent& e, const absl::TimeZone& zone) {
  std::string late;
  for (int index : rules_->aggregates_by_event_type[static_cast<size_t>(e.event.type)]) {
    const AggregateSpec& spec = *rules_->env->aggregates[index];
    const auto key = aggregateKey(spec, e.event);
    if (!key) continue;
    SP_ASSIGN_OR_RETURN(WindowedAggregate * agg, aggregate(e.partition, index, key->group, key->member));
    const std::string_view field = spec.field.empty() ? std::string_view() : stringField(e.event, spec.field);
    const uint64_t hash = spec.function == AggregateFunction::kDistinctCount
                              ? distinctHash(field.empty() ? fmt::format("{}", numberField(e.event, spec.field)) : field)
                              : 0;
    if (agg->add(spec, e.event.ts_ms, numberField(e.event, spec.field), hash, &zone) == WindowedAggregate::Fold::kLate) {
      if (metrics_) metrics_->late_events.Add({{"aggregate", spec.name}}).Increment();
      late += fmt::format("{}{} ({} ms behind its newest event {}, allowed {} ms)", late.empty() ? "" : "; ",
                          spec.name, agg->newestEventMs() - e.event.ts_ms,
                          formatRfc3339Millis(agg->newestEventMs()), spec.allowed_lateness_ms);
      continue;
    }
    markDirty(last_entry_);
  }
  if (!late.empty()) {
    // The event still updated the customer and every aggregate it was in
    // time for; the dead letter records which windows it missed.
    dead_letters_.send(e.message, "late_event", "too late for aggregate " + late);
    sent_dead_letters_ = true;
  }
  return Status::ok();
}

Status RuleEngine::evaluateRules(const ProcessedEvent& e, const std::string& store_id, const StoreRecord* store) {
  const auto& rules = rules_->by_event_type[static_cast<size_t>(e.event.type)];
  if (rules.empty()) return Status::ok();
  Evaluation& ev = evaluation();
  ev.bindEvent(e);
  ev.bindStore(store_id, store);
  const int64_t now = options_.clock == RuleEngineOptions::Clock::kEventTime ? event_clock_ms_ : wallClockMillis();
  ev.bindNow(now, zoneOf(store));
  for (const CompiledRule* rule : rules) SP_RETURN_IF_ERROR(fire(*rule, ev));
  return Status::ok();
}

Status RuleEngine::fire(const CompiledRule& rule, Evaluation& ev) {
  const RuleSpec& spec = *rule.spec;
  count(rule, Outcome::kEvaluated);
  bool holds = true;
  std::string error;
  if (rule.when) {
    auto v = ev.run(*rule.when);
    if (!v.isOk()) {
      error = v.status().message();
    } else if (v->kind() != cel::ValueKind::kBool) {
      error = fmt::format("'when' gave {}, not a bool", cel::kindName(v->kind()));
    } else {
      holds = v->boolValue();
    }
  }
  // A rule that cannot be evaluated does not fire; it is counted and
  // logged, and the event goes on to the next rule.
  auto failed = [&](const std::string& why) {
    if (count(rule, Outcome::kFailed) <= kErrorsLoggedPerRule) {
      log::warn("rule evaluation failed", {{"rule", spec.id}, {"error", why}});
    }
    return Status::ok();
  };
  if (!error.empty()) return failed(error);

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
    key_parts.push_back(ev.storeId());
  } else if (spec.cooldown.key.empty()) {
    key_parts.emplace_back(event->customer_id.empty() ? event->store_id + ":" + event->sku : event->customer_id);
  } else {
    for (const std::string& field : spec.cooldown.key) key_parts.emplace_back(stringField(*event, field));
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
             {{"id", alert.id}, {"severity", alert.severity}, {"title", alert.title},
              {"recipient", alert.recipient}, {"guide_id", alert.guide_id}});
  }
  if (spec.emit) announce(rule, "emit", ev, {{"topic", spec.emit->topic}, {"record", emitted}});
  if (spec.tag) announce(rule, "tag", ev, {{"name", spec.tag->name}, {"value", *tag_value}});
  if (!live) return Status::ok();  // shadow: counted, never delivered
  if (spec.alert) {
    const std::string key = !alert.recipient.empty() ? alert.recipient : alert.customer_id;
    output_.send(options_.alerts_topic, key, alert.toJson().dump());
    sent_output_ = true;
  }
  if (spec.emit) {
    output_.send(spec.emit->topic, key_parts.empty() ? std::string() : key_parts.front(), emitted);
    sent_output_ = true;
  }
  if (spec.tag && event != nullptr && !event->customer_id.empty()) {
    const std::string key = fmt::format("t{}{}{}{}", kSep, event->customer_id, kSep, spec.tag->name);
    SP_ASSIGN_OR_RETURN(Entry * tag, entry(StateTable::kRule, ev.partition(), key));
    tag->value = *tag_value;
    markDirty(tag);
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
  }
  f.fields.emplace("store_id", ev.storeId());
  f.fields.emplace("event_ts", formatRfc3339Millis(ev.evalTs()));
  listener_(f);
}

Status RuleEngine::tick(int64_t wall_clock_ms) {
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
  if (!options_.run_scheduled) return Status::ok();
  if (scheduled_until_ms_ == INT64_MIN) {
    scheduled_until_ms_ = wall_clock_ms;  // a fresh start does not catch up on the past
    return Status::ok();
  }
  if (wall_clock_ms <= scheduled_until_ms_) return Status::ok();
  SP_RETURN_IF_ERROR(runScheduled(scheduled_until_ms_, wall_clock_ms));
  scheduled_until_ms_ = wall_clock_ms;
  return Status::ok();
}

// Deletes what no evaluation can read any more, so that state does not grow
// with every customer and product ever seen. The deletes join the next
// commit like any other change.
Status RuleEngine::sweep(int64_t now_ms) {
  std::map<std::string_view, int> aggregate_by_name;
  for (size_t i = 0; i < rules_->env->aggregates.size(); ++i) {
    aggregate_by_name.emplace(rules_->env->aggregates[i]->name, static_cast<int>(i));
  }
  // A member is stale when its aggregate was removed or redefined, or when
  // no window can read it any more.
  auto stale = [&](std::string_view member, const AggregateRecord& record) {
    const auto it = aggregate_by_name.find(member.substr(0, member.find(kSep)));
    return it == aggregate_by_name.end() || record.definition != rules_->aggregate_definitions[it->second] ||
           record.value.expiredAt(*rules_->env->aggregates[it->second], now_ms);
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

  std::set<int32_t> partitions = owned_partitions_ ? owned_partitions_() : std::set<int32_t>{0};
  partitions.insert(kGlobalPartition);
  std::vector<std::pair<int32_t, std::string>> groups;  // holding a stale member, as (partition, key)
  std::vector<std::pair<int32_t, std::string>> stamps;
  for (int32_t p : partitions) {
    SP_RETURN_IF_ERROR(store_.scan(StateTable::kAggregate, p, [&](std::string_view key, std::string_view value) {
      auto group = decodeGroup(value);
      if (!group.isOk()) return true;  // corrupt: left for a read to report
      for (const auto& [member, record] : group->members) {
        if (stale(member, record)) {
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
  size_t members_dropped = 0;
  for (const auto& [p, key] : groups) {
    SP_ASSIGN_OR_RETURN(Entry * e, entry(StateTable::kAggregate, p, key));
    auto* group = std::get_if<AggregateGroup>(&e->value);
    if (group == nullptr) continue;
    members_dropped += std::erase_if(group->members, [&](const auto& m) { return stale(m.first, m.second); });
    markDirty(e);  // rewritten, or erased when no member is left
  }
  for (const auto& [p, key] : stamps) {
    SP_ASSIGN_OR_RETURN(Entry * e, entry(StateTable::kRule, p, key));
    const auto* stamp = std::get_if<std::string>(&e->value);
    if (stamp != nullptr && !runOut(key, *stamp)) continue;
    e->value = std::monostate{};
    markDirty(e);
  }
  if (members_dropped > 0 || !stamps.empty()) {
    log::info("rule state swept", {{"windows", std::to_string(members_dropped)},
                                   {"cooldowns", std::to_string(stamps.size())}});
  }
  return Status::ok();
}

Status RuleEngine::advanceClockTo(int64_t until_ms) {
  pickUpReload();
  if (scheduled_until_ms_ == INT64_MIN || until_ms <= scheduled_until_ms_) return Status::ok();
  SP_RETURN_IF_ERROR(runScheduled(scheduled_until_ms_, until_ms));
  scheduled_until_ms_ = until_ms;
  event_clock_ms_ = std::max(event_clock_ms_, until_ms);
  return Status::ok();
}

Status RuleEngine::runScheduled(int64_t after_ms, int64_t until_ms) {
  if (!options_.run_scheduled || rules_->scheduled.empty()) return Status::ok();
  // The stores come from the global store table: every store with a
  // profile, committed or in the pipeline's current batch.
  std::vector<std::string> store_ids;
  SP_RETURN_IF_ERROR(store_.scan(StateTable::kStore, kGlobalPartition, [&](std::string_view key, std::string_view) {
    store_ids.emplace_back(key);
    return true;
  }));
  if (pipeline_records_ != nullptr) {
    for (std::string& id : pipeline_records_->cachedStoreIds()) store_ids.push_back(std::move(id));
    std::sort(store_ids.begin(), store_ids.end());
    store_ids.erase(std::unique(store_ids.begin(), store_ids.end()), store_ids.end());
  }
  // Due times in order across rules and stores, so that output is ordered by time.
  struct Due {
    int64_t at_ms;
    size_t rule;
    size_t store;
  };
  std::vector<Due> due;
  for (size_t r = 0; r < rules_->scheduled.size(); ++r) {
    const Schedule& s = *rules_->scheduled[r]->spec->schedule;
    for (size_t i = 0; i < store_ids.size(); ++i) {
      SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(store_ids[i]));
      if (s.every_ms > 0) {
        // Every multiple of the period since the epoch, in UTC.
        for (int64_t t = (after_ms / s.every_ms + 1) * s.every_ms; t <= until_ms; t += s.every_ms) {
          due.push_back({t, r, i});
        }
      } else {
        // A local time of day, in the store's zone, each day the clock passes it.
        const absl::TimeZone& zone = zoneOf(store);
        absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(after_ms), zone);
        for (;; ++day) {
          const absl::CivilSecond local(day.year(), day.month(), day.day(), s.minute_of_day / 60,
                                        s.minute_of_day % 60, 0);
          const int64_t t = absl::ToUnixMillis(absl::FromCivil(local, zone));
          if (t > until_ms) break;
          if (t > after_ms) due.push_back({t, r, i});
        }
      }
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const Due& a, const Due& b) { return a.at_ms < b.at_ms; });
  for (const Due& d : due) {
    SP_ASSIGN_OR_RETURN(const StoreRecord* store, storeRecord(store_ids[d.store]));
    SP_RETURN_IF_ERROR(runScheduledAt(*rules_->scheduled[d.rule], store_ids[d.store], *store, d.at_ms));
  }
  return Status::ok();
}

Status RuleEngine::runScheduledAt(const CompiledRule& rule, const std::string& store_id, const StoreRecord& store,
                                  int64_t at_ms) {
  Evaluation& ev = evaluation();
  ev.bindScheduled(at_ms);
  ev.bindStore(store_id, &store);
  ev.bindNow(at_ms, zoneOf(&store));
  return fire(rule, ev);
}

Status RuleEngine::prepareCommit(StateWriteBatch& batch) {
  // The previous batch is stored by now (the pipeline waits for its write
  // before preparing the next), so clean records may go when the cache is
  // past its bound; records dirtied since stay for this batch.
  // Only records this batch did not use go: dropping the working set too
  // made every batch read it back from the store.
  if (cache_.size() > options_.cache_max_records) {
    std::erase_if(cache_, [this](const auto& kv) { return !kv.second->dirty && kv.second->touched < batch_; });
  }
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
    if (const auto* group = std::get_if<AggregateGroup>(&e->value)) {
      if (group->members.empty()) {
        w.erase = true;
      } else {
        encodeGroup(*group, w.value);
      }
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

void RuleEngine::revoked(const std::set<int32_t>& partitions) {
  std::erase_if(cache_, [&](const auto& kv) { return !kv.second->dirty && partitions.count(kv.second->partition); });
}

}  // namespace storepulse::rules
