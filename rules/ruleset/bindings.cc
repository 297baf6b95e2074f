#include "rules/ruleset/bindings.h"

#include <absl/time/civil_time.h>
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/event/event_fields.h"
#include "rules/cel/json.h"

namespace storepulse::rules {
namespace {

using cel::Type;
using cel::Value;

// The fields of `event`: every documented field of any event type once,
// plus `type`. The order fixes the field numbers.
enum class EventField : int {
  kType, kCustomerId, kSku, kTs, kChannel, kSessionId, kCategory, kPrice, kStoreId, kGuideId, kOrderId, kItems,
  kTotal, kAvailable, kName, kTier, kHomeStore, kTags, kLat, kLon, kTimezone, kDailyTarget, kManagerId, kCount
};
constexpr std::string_view kEventFieldNames[] = {
    "type",  "customer_id", "sku",  "ts",   "channel",    "session_id", "category", "price",
    "store_id", "guide_id", "order_id", "items", "total",  "available",  "name",     "tier",
    "home_store", "tags",   "lat",  "lon",  "timezone",   "daily_target", "manager_id"};
static_assert(std::size(kEventFieldNames) == static_cast<size_t>(EventField::kCount));

Type typeOf(FieldKind kind) {
  switch (kind) {
    case FieldKind::kString: return Type::string();
    case FieldKind::kInt: return Type::integer();
    case FieldKind::kDouble: return Type::dbl();
    case FieldKind::kTimestamp: return Type::timestamp();
    case FieldKind::kStringList: return Type::list(Type::string());
    case FieldKind::kItemList: return Type::list(Type::map(Type::string(), Type::dyn()));
  }
  return Type::dyn();
}

std::vector<cel::FieldDecl> eventFieldDecls() {
  std::vector<cel::FieldDecl> out;
  for (std::string_view name : kEventFieldNames) {
    Type type = Type::string();  // `type`
    for (EventType t : kAllEventTypes) {
      if (const storepulse::EventField* f = findEventField(t, name)) type = typeOf(f->kind);
    }
    out.push_back({std::string(name), type});
  }
  return out;
}

enum class CustomerField : int {
  kId, kName, kTier, kGuideId, kHomeStore, kTags, kLifetimeSpend, kOrderCount, kFirstSeen, kLastSeen,
  kLastPurchase, kLastStoreId, kRecentSkus, kCategoryAffinity, kAttributes
};

enum class StoreField : int { kId, kName, kDailyTarget, kTimezone, kManagerId, kLat, kLon, kOutOfStockBestSellers };

enum class NowField : int { kTs, kHour, kMinute, kDayOfWeek, kDate };

Value timestampOf(int64_t ms) {
  const int64_t seconds = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  return Value::ofTimestamp(cel::Timestamp{seconds, static_cast<int32_t>((ms - seconds * 1000) * 1000000)});
}

Value stringList(const std::vector<std::string>& items) {
  std::vector<Value> out;
  out.reserve(items.size());
  for (const std::string& s : items) out.push_back(Value::ownedString(s));
  return Value::ofList(std::make_shared<const cel::ListValue>(std::move(out)));
}

}  // namespace

Result<std::unique_ptr<RuleEnv>> makeRuleEnv(const std::vector<const AggregateSpec*>& aggregates) {
  auto e = std::make_unique<RuleEnv>();
  e->aggregates = aggregates;
  SP_ASSIGN_OR_RETURN(e->event_type, e->env.declareObjectType("storepulse.Event", eventFieldDecls(), /*open=*/true));
  SP_ASSIGN_OR_RETURN(e->customer_type,
                      e->env.declareObjectType("storepulse.Customer",
                                               {{"id", Type::string()},
                                                {"name", Type::string()},
                                                {"tier", Type::string()},
                                                {"guide_id", Type::string()},
                                                {"home_store", Type::string()},
                                                {"tags", Type::list(Type::string())},
                                                {"lifetime_spend", Type::dbl()},
                                                {"order_count", Type::integer()},
                                                {"first_seen", Type::timestamp()},
                                                {"last_seen", Type::timestamp()},
                                                {"last_purchase", Type::timestamp()},
                                                {"last_store_id", Type::string()},
                                                {"recent_skus", Type::list(Type::string())},
                                                {"category_affinity", Type::map(Type::string(), Type::integer())},
                                                {"attributes", Type::map(Type::string(), Type::string())}},
                                               /*open=*/false));
  SP_ASSIGN_OR_RETURN(e->store_type, e->env.declareObjectType("storepulse.Store",
                                                              {{"id", Type::string()},
                                                               {"name", Type::string()},
                                                               {"daily_target", Type::dbl()},
                                                               {"timezone", Type::string()},
                                                               {"manager_id", Type::string()},
                                                               {"lat", Type::dbl()},
                                                               {"lon", Type::dbl()},
                                                               {"out_of_stock_best_sellers", Type::list(Type::string())}},
                                                              /*open=*/false));
  std::vector<cel::FieldDecl> agg_fields;
  for (const AggregateSpec* spec : aggregates) {
    const bool counts = spec->function == AggregateFunction::kCount ||
                        spec->function == AggregateFunction::kDistinctCount;
    agg_fields.push_back({spec->name, counts ? Type::integer() : Type::dbl()});
  }
  SP_ASSIGN_OR_RETURN(e->agg_type, e->env.declareObjectType("storepulse.Aggregates", std::move(agg_fields),
                                                            /*open=*/false));
  SP_ASSIGN_OR_RETURN(e->now_type, e->env.declareObjectType("storepulse.Now",
                                                            {{"ts", Type::timestamp()},
                                                             {"hour", Type::integer()},
                                                             {"minute", Type::integer()},
                                                             {"day_of_week", Type::integer()},
                                                             {"date", Type::string()}},
                                                            /*open=*/false));
  SP_ASSIGN_OR_RETURN(e->event_slot, e->env.declareVariable("event", Type::object(*e->event_type)));
  SP_ASSIGN_OR_RETURN(e->customer_slot, e->env.declareVariable("customer", Type::object(*e->customer_type)));
  SP_ASSIGN_OR_RETURN(e->store_slot, e->env.declareVariable("store", Type::object(*e->store_type)));
  SP_ASSIGN_OR_RETURN(e->agg_slot, e->env.declareVariable("agg", Type::object(*e->agg_type)));
  SP_ASSIGN_OR_RETURN(e->now_slot, e->env.declareVariable("now", Type::object(*e->now_type)));

  // percent(0.643) == "64%": templates show shares as people read them.
  cel::Overload percent;
  percent.id = "percent_double";
  percent.params = {Type::dbl()};
  percent.result = Type::string();
  percent.impl = [](std::span<const Value> args) {
    const double share = args[0].doubleValue();
    if (!std::isfinite(share)) return Value::ownedString("n/a");
    return Value::ownedString(fmt::format("{:.0f}%", share * 100));
  };
  SP_RETURN_IF_ERROR(e->env.addOverload("percent", std::move(percent)));
  // ["a", "b"].join(", ") == "a, b", as cel-go's strings extension has it:
  // templates list products as people read them, not as JSON.
  cel::Overload join;
  join.id = "list_join_string";
  join.params = {Type::list(Type::string()), Type::string()};
  join.result = Type::string();
  join.receiver_style = true;
  join.cost_grows_with_size = true;
  join.foldable = true;
  join.impl = [](std::span<const Value> args) {
    std::string out;
    const auto& items = args[0].listValue();
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].kind() != cel::ValueKind::kString) return Value::error("join: the list holds a non-string");
      if (i > 0) out += args[1].stringValue();
      out += items[i].stringValue();
    }
    return Value::ownedString(std::move(out));
  };
  SP_RETURN_IF_ERROR(e->env.addOverload("join", std::move(join)));
  return e;
}

bool EventObject::has(int field) const {
  const Event& e = *event_;
  switch (static_cast<EventField>(field)) {
    case EventField::kType: return true;
    case EventField::kCustomerId: return !e.customer_id.empty();
    case EventField::kSku: return !e.sku.empty();
    case EventField::kTs: return e.type != EventType::kStore;
    case EventField::kChannel: return !e.channel.empty();
    case EventField::kSessionId: return !e.session_id.empty();
    case EventField::kCategory: return !e.category.empty();
    case EventField::kPrice: return e.price.has_value();
    case EventField::kStoreId: return !e.store_id.empty();
    case EventField::kGuideId: return e.has_guide_id || !e.guide_id.empty();
    case EventField::kOrderId: return !e.order_id.empty();
    case EventField::kItems:
    case EventField::kTotal: return e.type == EventType::kPurchase;
    case EventField::kAvailable: return e.type == EventType::kInventory;
    case EventField::kName: return e.name.has_value();
    case EventField::kTier: return e.tier.has_value();
    case EventField::kHomeStore: return e.home_store.has_value();
    case EventField::kTags: return e.tags.has_value();
    case EventField::kLat: return e.lat.has_value();
    case EventField::kLon: return e.lon.has_value();
    case EventField::kTimezone: return e.timezone.has_value();
    case EventField::kDailyTarget: return e.daily_target.has_value();
    case EventField::kManagerId: return e.manager_id.has_value();
    case EventField::kCount: break;
  }
  return false;
}

Value EventObject::get(int field) const {
  // Absent fields read as their type's zero value, as CEL reads unset
  // fields of a message; has() tells them apart.
  const Event& e = *event_;
  auto optionalString = [](const std::optional<std::string>& s) { return Value::stringView(s ? *s : std::string_view()); };
  switch (static_cast<EventField>(field)) {
    case EventField::kType: return Value::stringView(eventTypeName(e.type));
    case EventField::kCustomerId: return Value::stringView(e.customer_id);
    case EventField::kSku: return Value::stringView(e.sku);
    case EventField::kTs: return timestampOf(e.ts_ms);
    case EventField::kChannel: return Value::stringView(e.channel);
    case EventField::kSessionId: return Value::stringView(e.session_id);
    case EventField::kCategory: return Value::stringView(e.category);
    case EventField::kPrice: return Value::ofDouble(e.price.value_or(0));
    case EventField::kStoreId: return Value::stringView(e.store_id);
    case EventField::kGuideId: return Value::stringView(e.guide_id);
    case EventField::kOrderId: return Value::stringView(e.order_id);
    case EventField::kItems: {
      std::vector<Value> items;
      for (const LineItem& item : e.items) {
        std::vector<cel::MapValue::Entry> entries = {
            {Value::stringView("sku"), Value::stringView(item.sku)},
            {Value::stringView("qty"), Value::ofInt(item.qty)},
            {Value::stringView("price"), Value::ofDouble(item.price)},
            {Value::stringView("category"), Value::stringView(item.category)}};
        items.push_back(cel::MapValue::make(std::move(entries)));
      }
      return Value::ofList(std::make_shared<const cel::ListValue>(std::move(items)));
    }
    case EventField::kTotal: return Value::ofDouble(e.total);
    case EventField::kAvailable: return Value::ofInt(e.available);
    case EventField::kName: return optionalString(e.name);
    case EventField::kTier: return optionalString(e.tier);
    case EventField::kHomeStore: return optionalString(e.home_store);
    case EventField::kTags: return stringList(e.tags.value_or(std::vector<std::string>{}));
    case EventField::kLat: return Value::ofDouble(e.lat.value_or(0));
    case EventField::kLon: return Value::ofDouble(e.lon.value_or(0));
    case EventField::kTimezone: return optionalString(e.timezone);
    case EventField::kDailyTarget: return Value::ofDouble(e.daily_target.value_or(0));
    case EventField::kManagerId: return optionalString(e.manager_id);
    case EventField::kCount: break;
  }
  return Value::error("no such field");
}

std::optional<Value> EventObject::findUndeclared(std::string_view name) const {
  if (!extra_parsed_) {
    extra_parsed_ = true;
    auto parsed = std::make_shared<nlohmann::json>(nlohmann::json::parse(payload_, nullptr, /*allow_exceptions=*/false));
    extra_ = std::move(parsed);
  }
  const auto& json = *static_cast<const nlohmann::json*>(extra_.get());
  if (!json.is_object()) return std::nullopt;
  auto it = json.find(name);
  if (it == json.end()) return std::nullopt;
  auto value = cel::fromJson(*it);
  return value.isOk() ? *value : Value::error(value.status().message());
}

bool CustomerObject::has(int field) const {
  const CustomerState& s = *state_;
  switch (static_cast<CustomerField>(field)) {
    case CustomerField::kId: return true;
    case CustomerField::kName: return !s.name.empty();
    case CustomerField::kTier: return !s.tier.empty();
    case CustomerField::kGuideId: return !s.guide_id.empty();
    case CustomerField::kHomeStore: return !s.home_store.empty();
    case CustomerField::kTags: return !s.tags.empty();
    case CustomerField::kLifetimeSpend:
    case CustomerField::kOrderCount: return true;
    case CustomerField::kFirstSeen: return s.first_seen_ms != 0;
    case CustomerField::kLastSeen: return s.last_seen_ms != 0;
    case CustomerField::kLastPurchase: return s.last_purchase_ms != 0;
    case CustomerField::kLastStoreId: return !s.last_store_id.empty();
    case CustomerField::kRecentSkus: return !s.recent_items.empty();
    case CustomerField::kCategoryAffinity: return !s.category_affinity.empty();
    case CustomerField::kAttributes: return !attributes_->attributesOf(id_).empty();
  }
  return false;
}

Value CustomerObject::get(int field) const {
  const CustomerState& s = *state_;
  switch (static_cast<CustomerField>(field)) {
    case CustomerField::kId: return Value::stringView(id_);
    case CustomerField::kName: return Value::stringView(s.name);
    case CustomerField::kTier: return Value::stringView(s.tier);
    case CustomerField::kGuideId: return Value::stringView(s.guide_id);
    case CustomerField::kHomeStore: return Value::stringView(s.home_store);
    case CustomerField::kTags: return stringList(s.tags);
    case CustomerField::kLifetimeSpend: return Value::ofDouble(s.lifetime_spend);
    case CustomerField::kOrderCount: return Value::ofInt(s.order_count);
    case CustomerField::kFirstSeen: return timestampOf(s.first_seen_ms);
    case CustomerField::kLastSeen: return timestampOf(s.last_seen_ms);
    case CustomerField::kLastPurchase: return timestampOf(s.last_purchase_ms);
    case CustomerField::kLastStoreId: return Value::stringView(s.last_store_id);
    case CustomerField::kRecentSkus: {
      std::vector<Value> skus;
      for (const RecentItem& item : s.recent_items) skus.push_back(Value::stringView(item.sku));
      return Value::ofList(std::make_shared<const cel::ListValue>(std::move(skus)));
    }
    case CustomerField::kCategoryAffinity: {
      std::vector<cel::MapValue::Entry> entries;
      for (const CategoryWeight& c : s.category_affinity) {
        entries.emplace_back(Value::stringView(c.category), Value::ofInt(c.weight));
      }
      return cel::MapValue::make(std::move(entries));
    }
    case CustomerField::kAttributes: {
      std::vector<cel::MapValue::Entry> entries;
      for (const auto& [name, value] : attributes_->attributesOf(id_)) {
        entries.emplace_back(Value::ownedString(name), Value::ownedString(value));
      }
      return cel::MapValue::make(std::move(entries));
    }
  }
  return Value::error("no such field");
}

bool StoreObject::has(int field) const {
  const StoreRecord& r = *record_;
  switch (static_cast<StoreField>(field)) {
    case StoreField::kId: return true;
    case StoreField::kName: return !r.name.empty();
    case StoreField::kDailyTarget: return r.daily_target.has_value();
    case StoreField::kTimezone: return !r.timezone.empty();
    case StoreField::kManagerId: return !r.manager_id.empty();
    case StoreField::kLat: return r.lat.has_value();
    case StoreField::kLon: return r.lon.has_value();
    case StoreField::kOutOfStockBestSellers: return !insights_->outOfStockBestSellers(id_).empty();
  }
  return false;
}

Value StoreObject::get(int field) const {
  const StoreRecord& r = *record_;
  switch (static_cast<StoreField>(field)) {
    case StoreField::kId: return Value::stringView(id_);
    case StoreField::kName: return Value::stringView(r.name);
    case StoreField::kDailyTarget: return Value::ofDouble(r.daily_target.value_or(0));
    case StoreField::kTimezone: return Value::stringView(r.timezone);
    case StoreField::kManagerId: return Value::stringView(r.manager_id);
    case StoreField::kLat: return Value::ofDouble(r.lat.value_or(0));
    case StoreField::kLon: return Value::ofDouble(r.lon.value_or(0));
    case StoreField::kOutOfStockBestSellers: return stringList(insights_->outOfStockBestSellers(id_));
  }
  return Value::error("no such field");
}

bool AggObject::has(int field) const {
  const auto result = lookup_->lookup(field);
  if (!result) return false;
  const AggregateFunction f = env_.aggregates[field]->function;
  const bool needs_events = f == AggregateFunction::kMin || f == AggregateFunction::kMax || f == AggregateFunction::kAvg;
  return !needs_events || !result->empty();
}

Value AggObject::get(int field) const {
  const AggregateSpec& spec = *env_.aggregates[field];
  const auto result = lookup_->lookup(field);
  if (!result) {
    return Value::error(fmt::format("aggregate '{}' has no key here: the event lacks one of its 'by' fields",
                                    spec.name));
  }
  switch (spec.function) {
    case AggregateFunction::kCount: return Value::ofInt(result->count);
    case AggregateFunction::kDistinctCount: return Value::ofInt(result->distinct);
    case AggregateFunction::kSum: return Value::ofDouble(result->sum);
    case AggregateFunction::kMin:
    case AggregateFunction::kMax:
    case AggregateFunction::kAvg:
      if (result->empty()) return Value::error(fmt::format("aggregate '{}' has no events in its window", spec.name));
      return Value::ofDouble(spec.function == AggregateFunction::kMin   ? result->min
                             : spec.function == AggregateFunction::kMax ? result->max
                                                                        : result->average());
  }
  return Value::error("no such aggregate");
}

void NowObject::bind(int64_t now_ms, const absl::TimeZone& zone) {
  now_ms_ = now_ms;
  zone_ = &zone;
  resolved_ = false;
}

void NowObject::resolve() const {
  if (resolved_) return;
  resolved_ = true;
  local_ = zone_->At(absl::FromUnixMillis(now_ms_)).cs;
  weekday_ = static_cast<int>(absl::GetWeekday(absl::CivilDay(local_)));
  // absl's Weekday starts at Monday = 0; CEL's getDayOfWeek has Sunday = 0.
  weekday_ = (weekday_ + 1) % 7;
  date_ = fmt::format("{:04d}-{:02d}-{:02d}", local_.year(), local_.month(), local_.day());
}

Value NowObject::get(int field) const {
  if (static_cast<NowField>(field) != NowField::kTs) resolve();
  switch (static_cast<NowField>(field)) {
    case NowField::kTs: return timestampOf(now_ms_);
    case NowField::kHour: return Value::ofInt(local_.hour());
    case NowField::kMinute: return Value::ofInt(local_.minute());
    case NowField::kDayOfWeek: return Value::ofInt(weekday_);
    case NowField::kDate: return Value::stringView(date_);
  }
  return Value::error("no such field");
}

}  // namespace storepulse::rules
