// cel_bench: nanoseconds and heap allocations per evaluation of typical rule
// conditions (SPEC.md "Rules") over host objects, the way the rule engine
// will bind `event`, `customer` and `agg`. Run: build/bench/cel_bench

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rules/cel/program.h"
#include "tests/rules/cel/counting_new.h"

namespace storepulse::cel {
namespace {

// A host object whose fields are Values held in declaration order: what a
// decoded event or an aggregate snapshot looks like to CEL.
class Record : public ObjectValue {
 public:
  Record(const ObjectType& type, std::vector<Value> fields) : type_(&type), fields_(std::move(fields)) {}
  const ObjectType& objectType() const override { return *type_; }
  bool has(int field) const override { return fields_[field].kind() != ValueKind::kNull; }
  Value get(int field) const override { return fields_[field]; }

 private:
  const ObjectType* type_;
  std::vector<Value> fields_;
};

struct World {
  World() {
    const ObjectType& event_type = **env.declareObjectType("Event",
                                                           {{"sku", Type::string()},
                                                            {"available", Type::integer()},
                                                            {"viewed_skus", Type::list(Type::string())}},
                                                           /*open=*/true);
    const ObjectType& customer_type =
        **env.declareObjectType("Customer", {{"tier", Type::string()}, {"name", Type::string()}}, /*open=*/true);
    const ObjectType& agg_type = **env.declareObjectType(
        "Aggregates", {{"spend_90d", Type::dbl()}, {"views_10m", Type::integer()}}, /*open=*/false);
    event_slot = *env.declareVariable("event", Type::object(event_type));
    customer_slot = *env.declareVariable("customer", Type::object(customer_type));
    agg_slot = *env.declareVariable("agg", Type::object(agg_type));

    std::vector<Value> skus;
    for (int i = 0; i < 10; ++i) skus.push_back(Value::stringView(sku_names[i]));
    viewed = std::make_unique<ListValue>(std::move(skus));
    event = std::make_unique<Record>(
        event_type, std::vector<Value>{Value::stringView("A123-RED"), Value::ofInt(0), Value::listView(*viewed)});
    customer = std::make_unique<Record>(customer_type,
                                        std::vector<Value>{Value::stringView("gold"), Value::stringView("Li")});
    agg = std::make_unique<Record>(agg_type, std::vector<Value>{Value::ofDouble(12400.0), Value::ofInt(2)});
  }

  Env env;
  int event_slot, customer_slot, agg_slot;
  std::string sku_names[10] = {"B001", "B002", "B003", "B004", "B005", "B006", "B007", "B008", "B009", "A999"};
  std::unique_ptr<ListValue> viewed;
  std::unique_ptr<Record> event, customer, agg;
};

void evaluate(benchmark::State& state, const char* expr) {
  static World world;
  CompileResult compiled = Program::compile(expr, world.env);
  if (!compiled.ok()) {
    state.SkipWithError(compiled.status().message().c_str());
    return;
  }
  Activation activation(world.env);
  activation.setObject(world.event_slot, *world.event);
  activation.setObject(world.customer_slot, *world.customer);
  activation.setObject(world.agg_slot, *world.agg);
  if (auto first = compiled.program->evaluate(activation); !first.isOk()) {
    state.SkipWithError(first.status().message().c_str());
    return;
  }
  long before = testing::allocationCount();
  for (auto _ : state) {
    Result<Value> v = compiled.program->evaluate(activation);
    benchmark::DoNotOptimize(v);
  }
  state.counters["allocs/eval"] =
      benchmark::Counter(static_cast<double>(testing::allocationCount() - before) / state.iterations());
}

BENCHMARK_CAPTURE(evaluate, high_value_lead, "agg.spend_90d >= 5000.0 && agg.views_10m >= 2");
BENCHMARK_CAPTURE(evaluate, out_of_stock, "event.available <= 0");
BENCHMARK_CAPTURE(evaluate, tier_and_prefix, "customer.tier in ['gold', 'black'] && event.sku.startsWith('A')");
BENCHMARK_CAPTURE(evaluate, matches, "event.sku.matches('^A[0-9]{3}-[A-Z]+$')");
BENCHMARK_CAPTURE(evaluate, exists_over_10, "event.viewed_skus.exists(s, s == 'A999')");
BENCHMARK_CAPTURE(evaluate, open_field_by_name, "has(event.channel) ? event.channel == 'app' : true");
// For contrast: building a string allocates.
BENCHMARK_CAPTURE(evaluate, concatenation, "customer.name + ' (' + customer.tier + ')' == 'Li (gold)'");

}  // namespace
}  // namespace storepulse::cel

BENCHMARK_MAIN();
