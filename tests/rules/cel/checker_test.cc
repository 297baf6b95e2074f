#include "rules/cel/checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rules/cel/parser.h"
#include "tests/rules/cel/cel_test_util.h"

namespace storepulse::cel {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::diagnostics;

class CelChecker : public ::testing::Test {
 protected:
  CelChecker() : event_(testing::FakeEvent::declare(env_)) {
    const ObjectType& agg = **env_.declareObjectType(
        "Aggregates", {{"spend_90d", Type::dbl()}, {"views_10m", Type::integer()}}, /*open=*/false);
    (void)env_.declareVariable("agg", Type::object(agg));
    (void)env_.declareVariable("event", Type::object(event_));
    (void)env_.declareVariable("n", Type::integer());
    (void)env_.declareVariable("d", Type::dyn());
    (void)env_.declareVariable("tiers", Type::list(Type::string()));
    (void)env_.declareVariable("prices", Type::map(Type::string(), Type::dbl()));
  }

  // The type the checker gives the whole expression, or its first error.
  std::string typeOf(std::string_view expr) {
    ParseResult parsed = parse(expr);
    if (parsed.error) return parsed.error->toString();
    CheckedExpr checked = check(parsed.expr, env_);
    if (!checked.errors.empty()) return checked.errors[0].toString();
    return checked.types[parsed.expr.root->id].toString();
  }

  Env env_;
  const ObjectType& event_;
};

TEST_F(CelChecker, InfersTypesOfOperatorsAndFunctions) {
  EXPECT_EQ(typeOf("n + 1"), "int");
  EXPECT_EQ(typeOf("agg.spend_90d >= 5000.0 && agg.views_10m >= 2"), "bool");
  EXPECT_EQ(typeOf("tiers[0]"), "string");
  EXPECT_EQ(typeOf("prices['A']"), "double");
  EXPECT_EQ(typeOf("prices.A"), "double");
  EXPECT_EQ(typeOf("[1, 2]"), "list(int)");
  EXPECT_EQ(typeOf("[1, 'a']"), "list(dyn)");
  EXPECT_EQ(typeOf("{'a': 1}"), "map(string, int)");
  EXPECT_EQ(typeOf("tiers.map(t, size(t))"), "list(int)");
  EXPECT_EQ(typeOf("tiers.filter(t, t != 'x')"), "list(string)");
  EXPECT_EQ(typeOf("prices.exists(k, k == 'A')"), "bool");
  EXPECT_EQ(typeOf("type(1)"), "type(int)");
  EXPECT_EQ(typeOf("d + 1"), "int");  // the only `_+_` with an int second
  EXPECT_EQ(typeOf("d.anything"), "dyn");
  EXPECT_EQ(typeOf("timestamp('2024-01-01T00:00:00Z') - duration('1h')"), "timestamp");
  EXPECT_EQ(typeOf("event.tags"), "list(string)");
  EXPECT_EQ(typeOf("event.undeclared_but_open"), "dyn");
}

TEST_F(CelChecker, ReportsUndeclaredReferences) {
  EXPECT_THAT(diagnostics("cusomer.tier == 'gold'", env_),
              ElementsAre("1:1: undeclared reference to 'cusomer'"));
  EXPECT_THAT(diagnostics("nosuch(1)", env_), ElementsAre("1:1: undeclared reference to 'nosuch'"));
}

TEST_F(CelChecker, ReportsNoMatchingOverloadWithArgumentTypes) {
  EXPECT_THAT(diagnostics("'a' >= 5000.0", env_),
              ElementsAre("1:5: found no matching overload for '_>=_' applied to '(string, double)'"));
  EXPECT_THAT(diagnostics("agg.spend_90d >= 5000", env_),
              ElementsAre("1:15: found no matching overload for '_>=_' applied to '(double, int)'"));
  EXPECT_THAT(diagnostics("event.sku.startsWith(1)", env_),
              ElementsAre("1:11: found no matching overload for 'startsWith' applied to 'string.(int)'"));
  EXPECT_THAT(diagnostics("1 + 1.0", env_), ElementsAre(HasSubstr("'(int, double)'")));
  EXPECT_THAT(diagnostics("-1u", env_), ElementsAre(HasSubstr("'-_' applied to '(uint)'")));
}

TEST_F(CelChecker, ReportsUnknownFieldsOfClosedTypesOnly) {
  EXPECT_THAT(diagnostics("agg.spend_90 > 1.0", env_),
              ElementsAre("1:5: undefined field 'spend_90' of type 'Aggregates'"));
  EXPECT_THAT(diagnostics("has(agg.nmae)", env_), ElementsAre(HasSubstr("undefined field 'nmae'")));
  EXPECT_TRUE(diagnostics("has(event.nmae)", env_).empty());
  EXPECT_THAT(diagnostics("n.field", env_), ElementsAre("1:3: type 'int' does not support field selection"));
}

TEST_F(CelChecker, CollectsEveryErrorWithItsPosition) {
  EXPECT_THAT(diagnostics("x == 1 &&\n  agg.nope > 2.0 &&\n  'a' < 1", env_),
              ElementsAre("1:1: undeclared reference to 'x'", "2:7: undefined field 'nope' of type 'Aggregates'",
                          "3:7: found no matching overload for '_<_' applied to '(string, int)'"));
}

TEST_F(CelChecker, DoesNotCascadeFromAnErrorIntoItsParents) {
  // One mistake, one message: the && and >= above it stay quiet.
  EXPECT_THAT(diagnostics("(x + 1) >= 2 && true", env_), ElementsAre("1:2: undeclared reference to 'x'"));
}

TEST_F(CelChecker, ChecksMacroConditionsAndRanges) {
  EXPECT_THAT(diagnostics("tiers.all(t, size(t))", env_),
              ElementsAre("1:14: all() needs a bool condition, found 'int'"));
  EXPECT_THAT(diagnostics("n.exists(x, true)", env_), ElementsAre(HasSubstr("cannot range over type 'int'")));
  // The variable is scoped to the macro.
  EXPECT_THAT(diagnostics("tiers.all(t, t != '') && t == ''", env_),
              ElementsAre(HasSubstr("undeclared reference to 't'")));
}

TEST_F(CelChecker, ChecksMapLiteralKeys) {
  EXPECT_THAT(diagnostics("{1.5: 'a'}", env_), ElementsAre("1:2: unsupported map key type 'double'"));
  EXPECT_THAT(diagnostics("{'a': 1, 'b': 2, 'a': 3}", env_), ElementsAre("1:18: duplicate map key"));
}

TEST_F(CelChecker, ResolvesTypeNamesAndQualifiedNames) {
  EXPECT_EQ(typeOf("int"), "type(int)");
  EXPECT_EQ(typeOf("google.protobuf.Timestamp"), "type(timestamp)");
  EXPECT_EQ(typeOf("Event"), "type(Event)");
  EXPECT_EQ(typeOf("type(event) == Event"), "bool");
}

TEST_F(CelChecker, KeepsNumericTypesApartButLetsDynThrough) {
  EXPECT_THAT(diagnostics("1 == 1.0", env_), ElementsAre(HasSubstr("found no matching overload for '_==_'")));
  EXPECT_TRUE(diagnostics("d == 1.0", env_).empty());
  EXPECT_TRUE(diagnostics("dyn(n) < 2.5", env_).empty());
}

}  // namespace
}  // namespace storepulse::cel
