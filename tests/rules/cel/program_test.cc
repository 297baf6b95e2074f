// The embedding API: Env declarations, host objects and functions,
// compile diagnostics, evaluation without allocation.

#include "rules/cel/program.h"

#include <gmock/gmock.h>
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>

#include "rules/cel/json.h"
#include "tests/rules/cel/cel_test_util.h"
#include "tests/rules/cel/counting_new.h"

namespace storepulse::cel {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeEvent;

class CelProgram : public ::testing::Test {
 protected:
  CelProgram() : event_type_(FakeEvent::declare(env_)), event_(event_type_) {
    event_slot_ = *env_.declareVariable("event", Type::object(event_type_));
    limit_slot_ = *env_.declareVariable("limit", Type::integer());
    Status added = env_.addOverload(
        "percent", Overload{"percent_double", {Type::dbl()}, Type::string(), false, [](std::span<const Value> a) {
                              return Value::ownedString(std::to_string(static_cast<int>(a[0].doubleValue() * 100)) +
                                                        "%");
                            }});
    EXPECT_TRUE(added.isOk()) << added.message();
  }

  Result<Value> run(std::string_view expr, ProgramOptions options = {}) {
    CompileResult compiled = Program::compile(expr, env_, options);
    if (!compiled.ok()) return compiled.status();
    Activation activation(env_);
    activation.setObject(event_slot_, event_);
    activation.set(limit_slot_, Value::ofInt(2));
    return compiled.program->evaluate(activation);
  }

  Env env_;
  const ObjectType& event_type_;
  FakeEvent event_;
  int event_slot_ = -1;
  int limit_slot_ = -1;
};

TEST_F(CelProgram, ReadsDeclaredFieldsOfHostObjects) {
  auto v = run("event.sku.startsWith('A') && event.available > limit && 'sale' in event.tags");
  ASSERT_TRUE(v.isOk()) << v.status().message();
  EXPECT_TRUE(v->boolValue());
  event_.available = 0;
  EXPECT_FALSE(run("event.available > limit")->boolValue());
}

TEST_F(CelProgram, HasAndUndeclaredFieldsOfOpenTypes) {
  EXPECT_FALSE(run("has(event.price)")->boolValue());
  EXPECT_THAT(run("event.price > 1.0").status().message(), HasSubstr("no such field 'price'"));
  event_.price_set = true;
  event_.price = 12.5;
  EXPECT_TRUE(run("has(event.price) && event.price > 1.0")->boolValue());

  EXPECT_FALSE(run("has(event.channel)")->boolValue());
  EXPECT_THAT(run("event.channel == 'app'").status().message(), HasSubstr("no such field 'channel'"));
  event_.extra["channel"] = "app";
  EXPECT_TRUE(run("has(event.channel) && event.channel == 'app'")->boolValue());
}

TEST_F(CelProgram, ObjectsAreReachableThroughDyn) {
  EXPECT_EQ(run("dyn(event).sku")->stringValue(), "A-100");
  EXPECT_EQ(run("[event].map(e, e.available)[0]")->intValue(), 3);
  EXPECT_EQ(run("type(event) == Event")->boolValue(), true);
}

TEST_F(CelProgram, CallsHostFunctions) {
  auto v = run("percent(0.58)");
  ASSERT_TRUE(v.isOk()) << v.status().message();
  EXPECT_EQ(v->stringValue(), "57%");  // 0.58 * 100 truncates to 57 in binary floating point
  EXPECT_THAT(run("percent(1)").status().message(),
              HasSubstr("found no matching overload for 'percent' applied to '(int)'"));
}

TEST_F(CelProgram, EnvRejectsConflictingDeclarations) {
  EXPECT_FALSE(env_.declareVariable("event", Type::dyn()).isOk());
  EXPECT_FALSE(env_.declareObjectType("Event", {}, false).isOk());
  EXPECT_FALSE(env_.declareObjectType("Twice", {{"a", Type::integer()}, {"a", Type::string()}}, false).isOk());
  auto dup = env_.addOverload("percent", Overload{"percent_dyn", {Type::dyn()}, Type::string(), false, nullptr});
  EXPECT_THAT(dup.message(), HasSubstr("overlaps 'percent_double'"));
  auto op = env_.addOverload("_+_", Overload{"add_event", {Type::object(event_type_)}, Type::string(), false, nullptr});
  EXPECT_THAT(op.message(), HasSubstr("cannot be overloaded"));
}

TEST_F(CelProgram, ReportsResultTypeAndAllDiagnostics) {
  CompileResult ok = Program::compile("event.tags.map(t, size(t))", env_);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.program->resultType().toString(), "list(int)");

  CompileResult bad = Program::compile("event.sku > 1 ||\n nope", env_);
  EXPECT_FALSE(bad.ok());
  ASSERT_EQ(bad.diagnostics.size(), 2u);
  EXPECT_EQ(bad.diagnostics[1].line, 2);
  EXPECT_EQ(bad.diagnostics[1].column, 2);
  EXPECT_EQ(bad.status().message(),
            "1:11: found no matching overload for '_>_' applied to '(string, int)'; 2:2: undeclared reference to "
            "'nope'");
}

TEST_F(CelProgram, UnboundVariablesFailAtEvaluation) {
  CompileResult compiled = Program::compile("limit + 1", env_);
  ASSERT_TRUE(compiled.ok());
  Activation activation(env_);
  EXPECT_THAT(compiled.program->evaluate(activation).status().message(),
              HasSubstr("no value bound for variable 'limit'"));
  EXPECT_TRUE(activation.set("limit", Value::ofInt(1)).isOk());
  EXPECT_EQ(compiled.program->evaluate(activation)->intValue(), 2);
  EXPECT_EQ(activation.set("nosuch", Value::ofInt(1)).code(), ErrorCode::kNotFound);
}

TEST_F(CelProgram, ConjunctsAreTheOperandsOfTopLevelAndsWithCanonicalTexts) {
  auto parts = Program::compileConjuncts("event.sku.startsWith('A') && (event.available > limit && (limit >= 2))", env_);
  ASSERT_TRUE(parts.isOk()) << parts.status().message();
  ASSERT_EQ(parts->size(), 3u);
  auto same = Program::compileConjuncts("( event.available>limit )", env_);
  ASSERT_TRUE(same.isOk());
  ASSERT_EQ(same->size(), 1u);
  EXPECT_EQ((*same)[0].canonical, (*parts)[1].canonical);  // spacing and parentheses do not matter
  // Constants count by type and value; an || is one conjunct.
  std::vector<std::string> texts;
  for (const char* expr : {"limit == 1", "double(limit) == 1.0", "limit == 2", "event.sku == '1'", "limit > 1 || limit < 0"}) {
    auto one = Program::compileConjuncts(expr, env_);
    ASSERT_TRUE(one.isOk()) << expr << ": " << one.status().message();
    ASSERT_EQ(one->size(), 1u) << expr;
    texts.push_back((*one)[0].canonical);
  }
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(std::unique(texts.begin(), texts.end()), texts.end());
  // Each conjunct evaluates on its own.
  Activation activation(env_);
  activation.setObject(event_slot_, event_);
  activation.set(limit_slot_, Value::ofInt(2));
  EXPECT_TRUE((*parts)[2].program.evaluate(activation)->boolValue());
  EXPECT_EQ((*parts)[2].program.resultType().toString(), "bool");
  EXPECT_FALSE(Program::compileConjuncts("limit && true", env_).isOk());  // does not compile
}

// A threshold conjunct compared natively must give what its program gives,
// for every kind of number on either side, NaN and signed zero included.
TEST(CelThresholds, ComparingNativelyGivesWhatTheOperatorGives) {
  Env env;
  const int x = *env.declareVariable("x", Type::dyn());
  const std::vector<Value> values = {
      Value::ofInt(2),        Value::ofInt(-3),      Value::ofInt(INT64_MAX),  Value::ofUint(2),
      Value::ofUint(UINT64_MAX), Value::ofDouble(2.0), Value::ofDouble(2.5), Value::ofDouble(-0.0),
      Value::ofDouble(std::nan("")), Value::ofDouble(1e300)};
  int compared = 0;
  for (const char* op : {"==", "!=", "<", "<=", ">", ">="}) {
    for (const char* literal : {"2", "2u", "2.0", "0.0", "18446744073709551615u"}) {
      for (bool literal_first : {false, true}) {
        const std::string expr = literal_first ? std::string(literal) + " " + op + " x"
                                               : std::string("x ") + op + " " + literal;
        auto parts = Program::compileConjuncts(expr, env);
        ASSERT_TRUE(parts.isOk()) << expr << ": " << parts.status().message();
        ASSERT_TRUE((*parts)[0].threshold.has_value()) << expr;
        const Conjunct::Threshold& t = *(*parts)[0].threshold;
        for (const Value& v : values) {
          Activation activation(env);
          activation.set(x, v);
          auto full = (*parts)[0].program.evaluate(activation);
          ASSERT_TRUE(full.isOk()) << expr;
          const std::optional<bool> fast = compareNumber(t.op, v, t.constant);
          ASSERT_TRUE(fast.has_value()) << expr;
          EXPECT_EQ(*fast, full->boolValue()) << expr << " with x = " << toTypedJson(v).dump();
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 6 * 5 * 2 * 10);
  EXPECT_FALSE(compareNumber(Comparison::kLess, Value::stringView("2"), Value::ofInt(2)).has_value());
}

TEST_F(CelProgram, CostLimitIsConfigurable) {
  ProgramOptions tight;
  tight.cost_limit = 5;
  EXPECT_THAT(run("event.tags.all(t, t.size() > 0) && event.tags.exists(t, t == 'x')", tight).status().message(),
              HasSubstr("cost limit exceeded"));
  EXPECT_TRUE(run("event.available > limit", tight).isOk());
}

TEST_F(CelProgram, FoldsConstantsAndCompilesRegexesOnce) {
  CompileResult bad = Program::compile("event.sku.matches('[')", env_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.diagnostics[0].column, 19);  // at the pattern
  EXPECT_THAT(bad.diagnostics[0].message, HasSubstr("invalid regex '['"));
  // Constant subexpressions are evaluated once at compile time; an error
  // among them only surfaces if evaluation reaches it.
  EXPECT_TRUE(run("event.available > 0 || 1 / 0 == 1")->boolValue());
}

TEST_F(CelProgram, EvaluatesCommonConditionsWithoutAllocating) {
  const char* conditions[] = {
      "event.available <= 0",
      "event.sku.startsWith('A') && event.available >= limit",
      "event.sku in ['A-100', 'B-200'] && event.sku.matches('^[A-Z]-[0-9]+$')",
      "event.tags.exists(t, t == 'sale') && !has(event.price)",
      "event.sku.size() < 10 ? event.available * 2 > 1 : false",
  };
  Activation activation(env_);
  activation.setObject(event_slot_, event_);
  activation.set(limit_slot_, Value::ofInt(2));
  for (const char* expr : conditions) {
    CompileResult compiled = Program::compile(expr, env_);
    ASSERT_TRUE(compiled.ok()) << expr << ": " << compiled.status().message();
    ASSERT_TRUE(compiled.program->evaluate(activation).isOk());  // warm-up: RE2 builds its DFA lazily
    long before = storepulse::testing::allocationCount();
    Result<Value> v = compiled.program->evaluate(activation);
    long allocations = storepulse::testing::allocationCount() - before;
    ASSERT_TRUE(v.isOk()) << expr << ": " << v.status().message();
    EXPECT_EQ(allocations, 0) << expr;
  }
}

}  // namespace
}  // namespace storepulse::cel
