#pragma once
// What rule expressions see (SPEC.md "Rules"): the variables `event`,
// `customer`, `store`, `agg` and `now`, declared as CEL object types once
// per rule set, and the host objects that answer for them during an
// evaluation without copying the engine's state into maps.

#include <absl/time/time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/aggregates/windowed_aggregate.h"
#include "engine/event/event.h"
#include "engine/state/customer_state.h"
#include "engine/state/global_records.h"
#include "rules/cel/env.h"
#include "rules/cel/object.h"

namespace storepulse::rules {

// The declarations, built once per rule set; Programs compiled against
// `env` point into it.
struct RuleEnv {
  cel::Env env;
  const cel::ObjectType* event_type = nullptr;
  const cel::ObjectType* customer_type = nullptr;
  const cel::ObjectType* store_type = nullptr;
  const cel::ObjectType* agg_type = nullptr;
  const cel::ObjectType* now_type = nullptr;
  int event_slot = -1;
  int customer_slot = -1;
  int store_slot = -1;
  int agg_slot = -1;
  int now_slot = -1;
  // `agg.<name>` is field i of agg_type for aggregates[i].
  std::vector<const AggregateSpec*> aggregates;
};

// Declares the variables, their object types (one field per aggregate on
// `agg`) and the helper functions rules use in templates: percent(double).
Result<std::unique_ptr<RuleEnv>> makeRuleEnv(const std::vector<const AggregateSpec*>& aggregates);

// `event`: the decoded event's documented fields by number; any other field
// of the original JSON by name (typed dyn).
class EventObject final : public cel::ObjectValue {
 public:
  explicit EventObject(const RuleEnv& env) : env_(env) {}
  void bind(const Event& event, std::string_view payload) {
    event_ = &event;
    payload_ = payload;
    extra_parsed_ = false;
  }

  const cel::ObjectType& objectType() const override { return *env_.event_type; }
  bool has(int field) const override;
  cel::Value get(int field) const override;
  std::optional<cel::Value> findUndeclared(std::string_view name) const override;

 private:
  const RuleEnv& env_;
  const Event* event_ = nullptr;
  std::string_view payload_;
  // Fields beyond the schema, parsed from the payload on first use only.
  mutable bool extra_parsed_ = false;
  mutable std::shared_ptr<const void> extra_;
};

// The attributes rules' `tag` actions set on customers, by tag name.
using Attributes = std::vector<std::pair<std::string, std::string>>;  // sorted by name
class CustomerAttributes {
 public:
  virtual ~CustomerAttributes() = default;
  virtual const Attributes& attributesOf(std::string_view customer_id) const = 0;
};

// `customer`: the customer's state after the event was folded in, and the
// attributes rules set on them.
class CustomerObject final : public cel::ObjectValue {
 public:
  explicit CustomerObject(const RuleEnv& env) : env_(env) {}
  void bind(std::string_view id, const CustomerState& state, const CustomerAttributes& attributes) {
    id_ = id;
    state_ = &state;
    attributes_ = &attributes;
  }

  const cel::ObjectType& objectType() const override { return *env_.customer_type; }
  bool has(int field) const override;
  cel::Value get(int field) const override;

 private:
  const RuleEnv& env_;
  std::string_view id_;
  const CustomerState* state_ = nullptr;
  const CustomerAttributes* attributes_ = nullptr;
};

// What `store` knows beyond its profile, from the engine's state.
class StoreInsights {
 public:
  virtual ~StoreInsights() = default;
  // Of the store's ten best sellers (units sold in the last 28 days), those
  // out of stock there now, best first.
  virtual const std::vector<std::string>& outOfStockBestSellers(std::string_view store_id) const = 0;
};

// `store`: the store's profile from the global store table, and what
// `insights` adds.
class StoreObject final : public cel::ObjectValue {
 public:
  explicit StoreObject(const RuleEnv& env) : env_(env) {}
  void bind(std::string_view id, const StoreRecord& record, const StoreInsights& insights) {
    id_ = id;
    record_ = &record;
    insights_ = &insights;
  }

  const cel::ObjectType& objectType() const override { return *env_.store_type; }
  bool has(int field) const override;
  cel::Value get(int field) const override;

 private:
  const RuleEnv& env_;
  std::string_view id_;
  const StoreRecord* record_ = nullptr;
  const StoreInsights* insights_ = nullptr;
};

// Answers `agg.<name>` for the key of the current evaluation.
class AggregateLookup {
 public:
  virtual ~AggregateLookup() = default;
  // The window of aggregate `index` (of RuleEnv::aggregates) for the
  // evaluation's key, or nullopt when the key cannot be formed (the event
  // lacks a `by` field).
  virtual std::optional<AggregateResult> lookup(int index) const = 0;
};

// `agg`: count and distinct_count as int, sum as double; min, max and avg of
// an empty window are absent (has() is false, reading them is an error).
class AggObject final : public cel::ObjectValue {
 public:
  explicit AggObject(const RuleEnv& env) : env_(env) {}
  void bind(const AggregateLookup& lookup) { lookup_ = &lookup; }

  const cel::ObjectType& objectType() const override { return *env_.agg_type; }
  bool has(int field) const override;
  cel::Value get(int field) const override;

 private:
  const RuleEnv& env_;
  const AggregateLookup* lookup_ = nullptr;
};

// `now`: the engine clock (wall clock live, event time in backtests and
// rule tests) in the zone of the store in question, or the default zone.
class NowObject final : public cel::ObjectValue {
 public:
  explicit NowObject(const RuleEnv& env) : env_(env) {}
  // `zone` must outlive the binding.
  void bind(int64_t now_ms, const absl::TimeZone& zone);

  const cel::ObjectType& objectType() const override { return *env_.now_type; }
  bool has(int) const override { return true; }
  cel::Value get(int field) const override;

 private:
  // The local time is worked out on the first read of a field that needs
  // it: most events' rules never read `now`.
  void resolve() const;

  const RuleEnv& env_;
  int64_t now_ms_ = 0;
  const absl::TimeZone* zone_ = nullptr;
  mutable bool resolved_ = false;
  mutable absl::CivilSecond local_;
  mutable int weekday_ = 0;  // 0 = Sunday, as CEL's getDayOfWeek
  mutable std::string date_;  // "2024-03-01"
};

}  // namespace storepulse::rules
