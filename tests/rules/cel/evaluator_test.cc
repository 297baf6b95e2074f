// Evaluation semantics through the `expr eval` path: arithmetic edges,
// comparisons, lists, maps, macros and CEL's error absorption.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/rules/cel/cel_test_util.h"

namespace storepulse::cel {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::result;

TEST(CelEvaluator, IntArithmeticIsExact) {
  EXPECT_EQ(result("7 / 2"), "int 3");
  EXPECT_EQ(result("-7 / 2"), "int -3");  // truncates toward zero
  EXPECT_EQ(result("-7 % 3"), "int -1");  // the sign of the dividend
  EXPECT_EQ(result("9223372036854775807 - 1 + 1"), "int 9223372036854775807");
  EXPECT_EQ(result("-9223372036854775808"), "int -9223372036854775808");
}

TEST(CelEvaluator, IntOverflowIsAnErrorInEveryOperation) {
  for (const char* expr : {"9223372036854775807 + 1", "-9223372036854775808 - 1", "9223372036854775807 * 2",
                           "-9223372036854775808 / -1", "-9223372036854775808 % -1", "-(-9223372036854775808)",
                           "-x"}) {
    EXPECT_THAT(result(expr, R"({"x": -9223372036854775808})"), HasSubstr("integer overflow")) << expr;
  }
}

TEST(CelEvaluator, UintArithmeticChecksUnderflowAndOverflow) {
  EXPECT_EQ(result("18446744073709551615u - 1u"), "uint 18446744073709551614");
  EXPECT_THAT(result("0u - 1u"), HasSubstr("unsigned integer overflow"));
  EXPECT_THAT(result("18446744073709551615u + 1u"), HasSubstr("unsigned integer overflow"));
  EXPECT_THAT(result("9223372036854775808u * 2u"), HasSubstr("unsigned integer overflow"));
  EXPECT_EQ(result("7u % 4u"), "uint 3");
}

TEST(CelEvaluator, DivisionAndModulusByZero) {
  EXPECT_THAT(result("1 / 0"), HasSubstr("division by zero"));
  EXPECT_THAT(result("1 % 0"), HasSubstr("modulus by zero"));
  EXPECT_THAT(result("1u / 0u"), HasSubstr("division by zero"));
  EXPECT_THAT(result("1u % 0u"), HasSubstr("modulus by zero"));
  EXPECT_EQ(result("1.0 / 0.0"), "double Infinity");  // IEEE
  EXPECT_EQ(result("-1.0 / 0.0"), "double -Infinity");
  EXPECT_EQ(result("0.0 / 0.0"), "double NaN");
}

TEST(CelEvaluator, ArithmeticNeverMixesNumericTypes) {
  EXPECT_THAT(result("1 + 1.0"), HasSubstr("found no matching overload"));
  EXPECT_THAT(result("x + 1.0", R"({"x": 1})"), HasSubstr("no such overload: _+_(int, double)"));
  EXPECT_THAT(result("1.5 % 1.0"), HasSubstr("found no matching overload"));
}

TEST(CelEvaluator, ComparesNumbersAcrossTypesAtRuntime) {
  EXPECT_EQ(result("x == 1.0 && x == 1u", R"({"x": 1})"), "bool true");
  EXPECT_EQ(result("x < 2u && x > -0.5", R"({"x": 1})"), "bool true");
  EXPECT_EQ(result("x < 18446744073709551615u", R"({"x": -1})"), "bool true");
  EXPECT_EQ(result("x in [1, 2.0]", R"({"x": 2})"), "bool true");
  EXPECT_EQ(result("x == x", R"({"x": 0.0})"), "bool true");
  EXPECT_EQ(result("(0.0/0.0) == (0.0/0.0)"), "bool false");
  EXPECT_EQ(result("(0.0/0.0) < 1.0 || (0.0/0.0) >= 1.0"), "bool false");  // NaN is unordered
  EXPECT_EQ(result("x == 'a'", R"({"x": 1})"), "bool false");  // different kinds: unequal, not an error
  EXPECT_THAT(result("x < 'a'", R"({"x": 1})"), HasSubstr("no such overload"));
}

TEST(CelEvaluator, OrdersStringsBytesBoolsAndTimes) {
  EXPECT_EQ(result("'abc' < 'abd' && 'Z' < 'a' && 'é' > 'z'"), "bool true");
  EXPECT_EQ(result("b'\\x01' < b'\\xff'"), "bool true");
  EXPECT_EQ(result("false < true"), "bool true");
  EXPECT_EQ(result("duration('1m') > duration('59s')"), "bool true");
}

TEST(CelEvaluator, Lists) {
  EXPECT_EQ(result("[1, 2] + [3]"), R"(list [{"type":"int","value":"1"},{"type":"int","value":"2"},{"type":"int","value":"3"}])");
  EXPECT_EQ(result("[1, 'a', true][1]"), "string a");
  EXPECT_EQ(result("[[1], [2, 3]][1][0]"), "int 2");
  EXPECT_THAT(result("[1, 2][2]"), HasSubstr("index out of range"));
  EXPECT_THAT(result("[1, 2][-1]"), HasSubstr("index out of range"));
  EXPECT_EQ(result("'b' in ['a', 'b']"), "bool true");
  EXPECT_EQ(result("[1, 2] == [1, 2] && [1] != [1, 1]"), "bool true");
}

TEST(CelEvaluator, Maps) {
  EXPECT_EQ(result("{'a': 1, 'b': 2}['b']"), "int 2");
  EXPECT_EQ(result("{'a': {'b': true}}.a.b"), "bool true");
  EXPECT_THAT(result("{'a': 1}['z']"), HasSubstr("no such key: 'z'"));
  EXPECT_THAT(result("{'a': 1}.z"), HasSubstr("no such key"));
  EXPECT_EQ(result("'a' in {'a': 1} && !('b' in {'a': 1})"), "bool true");
  EXPECT_EQ(result("{1: 'x'}[k]", R"({"k": 1.0})"), "string x");  // 1.0 finds key 1
  EXPECT_EQ(result("has(m.a) && !has(m.b)", R"({"m": {"a": null}})"), "bool true");
  EXPECT_EQ(result("{'a': 1, 'b': 2} == {'b': 2, 'a': 1}"), "bool true");
}

TEST(CelEvaluator, DuplicateMapKeysAreErrors) {
  EXPECT_THAT(result("{'a': 1, 'a': 2}"), HasSubstr("duplicate map key"));
  EXPECT_THAT(result("{k: 1, 'a': 2}", R"({"k": "a"})"), HasSubstr("duplicate map key"));
  EXPECT_THAT(result("{k: 1, 1u: 2}", R"({"k": 1})"), HasSubstr("duplicate map key"));
}

TEST(CelEvaluator, LogicalOperatorsAbsorbErrorsCommutatively) {
  EXPECT_EQ(result("false && 1/0 == 1"), "bool false");
  EXPECT_EQ(result("1/0 == 1 && false"), "bool false");
  EXPECT_EQ(result("true || 1/0 == 1"), "bool true");
  EXPECT_EQ(result("1/0 == 1 || true"), "bool true");
  EXPECT_THAT(result("1/0 == 1 && true"), HasSubstr("division by zero"));
  EXPECT_THAT(result("false || 1/0 == 1"), HasSubstr("division by zero"));
  EXPECT_EQ(result("x && false", R"({"x": "not a bool"})"), "bool false");
  EXPECT_THAT(result("x && true", R"({"x": "not a bool"})"), HasSubstr("no such overload"));
}

TEST(CelEvaluator, ConditionalEvaluatesOnlyTheChosenBranch) {
  EXPECT_EQ(result("true ? 1 : 1/0"), "int 1");
  EXPECT_EQ(result("x > 0 ? 'pos' : 'neg'", R"({"x": -3})"), "string neg");
  EXPECT_THAT(result("x ? 1 : 2", R"({"x": 1})"), HasSubstr("no such overload"));
  EXPECT_THAT(result("1/0 == 1 ? 1 : 2"), HasSubstr("division by zero"));
}

TEST(CelEvaluator, Macros) {
  EXPECT_EQ(result("[1, 2, 3].all(x, x > 0)"), "bool true");
  EXPECT_EQ(result("[1, 2, 3].exists(x, x == 2)"), "bool true");
  EXPECT_EQ(result("[1, 2, 3].exists_one(x, x > 1)"), "bool false");
  EXPECT_EQ(result("[1, 2, 3].exists_one(x, x > 2)"), "bool true");
  EXPECT_EQ(result("[1, 2, 3].map(x, x * 10)"),
            R"(list [{"type":"int","value":"10"},{"type":"int","value":"20"},{"type":"int","value":"30"}])");
  EXPECT_EQ(result("[1, 2, 3].map(x, x > 1, x * 10).size()"), "int 2");
  EXPECT_EQ(result("[1, 2, 3, 4].filter(x, x % 2 == 0)"),
            R"(list [{"type":"int","value":"2"},{"type":"int","value":"4"}])");
  EXPECT_EQ(result("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])"), "bool true");  // maps range over keys
  EXPECT_EQ(result("[].all(x, false) && ![].exists(x, true)"), "bool true");
  EXPECT_EQ(result("[[1, 2], [3]].exists(l, l.exists(x, x == 3))"), "bool true");  // nested
  EXPECT_EQ(result("[1, 2].map(x, [3, 4].map(y, x * y))[1][1]"), "int 8");
}

TEST(CelEvaluator, AllAndExistsAbsorbErrorsLikeAndAndOr) {
  EXPECT_EQ(result("[0, -1].all(x, 10 / x > 0)"), "bool false");  // the false at -1 wins over 10/0
  EXPECT_THAT(result("[0, 1].all(x, 10 / x > 0)"), HasSubstr("division by zero"));
  EXPECT_EQ(result("[0, 1].exists(x, 10 / x > 0)"), "bool true");
  EXPECT_THAT(result("[0, -1].exists(x, 10 / x > 0)"), HasSubstr("division by zero"));
  EXPECT_THAT(result("[0, 1].exists_one(x, 10 / x > 0)"), HasSubstr("division by zero"));
  EXPECT_THAT(result("[0, 1].map(x, 10 / x)"), HasSubstr("division by zero"));
  EXPECT_THAT(result("[0, 1].filter(x, 10 / x > 0)"), HasSubstr("division by zero"));
}

TEST(CelEvaluator, CostLimitStopsRunawayMacros) {
  std::string ten = "[0,1,2,3,4,5,6,7,8,9]";
  // 10^6 innermost iterations plus the rest: over the default million.
  std::string expr = ten + ".all(a, " + ten + ".all(b, " + ten + ".all(c, " + ten + ".all(d, " + ten + ".all(e, " +
                     ten + ".all(f, a + b + c + d + e + f >= 0))))))";
  EXPECT_THAT(result(expr), HasSubstr("cost limit exceeded"));
  // An error absorbed by || does not hide the exceeded limit.
  EXPECT_THAT(result("true || " + expr), StartsWith("bool"));  // folded away: no work is done
  EXPECT_THAT(result("x || " + expr, R"({"x": false})"), HasSubstr("cost limit exceeded"));
}

TEST(CelEvaluator, UnboundVariablesAreErrors) {
  EXPECT_THAT(result("x + 1"), HasSubstr("undeclared reference to 'x'"));
}

}  // namespace
}  // namespace storepulse::cel
