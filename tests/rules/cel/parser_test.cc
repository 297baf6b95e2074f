#include "rules/cel/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/rules/cel/cel_test_util.h"

namespace storepulse::cel {
namespace {

using ::testing::HasSubstr;
using testing::result;

// A Lisp-like rendering of the tree, to assert its shape.
std::string render(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kConstant:
      if (e.constant.kind() == ValueKind::kInt) return std::to_string(e.constant.intValue());
      if (e.constant.kind() == ValueKind::kString) return "'" + std::string(e.constant.stringValue()) + "'";
      return std::string(kindName(e.constant.kind()));
    case ExprKind::kIdent: return e.name;
    case ExprKind::kSelect: return (e.test_only ? "has(" : "(") + render(*e.operand) + "." + e.name + ")";
    case ExprKind::kCall: {
      std::string s = "(" + e.name;
      if (e.operand) s += " recv=" + render(*e.operand);
      for (const auto& a : e.args) s += " " + render(*a);
      return s + ")";
    }
    case ExprKind::kList: return "[" + std::to_string(e.args.size()) + "]";
    case ExprKind::kMap: return "{" + std::to_string(e.entries.size()) + "}";
    case ExprKind::kComprehension: {
      std::string s = "(macro " + e.name + " over " + render(*e.operand);
      for (const auto& a : e.args) s += " " + render(*a);
      return s + ")";
    }
  }
  return "?";
}

std::string tree(std::string_view text) {
  ParseResult r = parse(text);
  if (r.error) return "error " + r.error->toString();
  return render(*r.expr.root);
}

TEST(CelParser, FollowsCelPrecedence) {
  EXPECT_EQ(tree("a || b && c"), "(_||_ a (_&&_ b c))");
  EXPECT_EQ(tree("a && b == c"), "(_&&_ a (_==_ b c))");
  EXPECT_EQ(tree("a < b + c * d"), "(_<_ a (_+_ b (_*_ c d)))");
  EXPECT_EQ(tree("a - b - c"), "(_-_ (_-_ a b) c)");  // left-associative
  EXPECT_EQ(tree("!a.b"), "(!_ (a.b))");
  EXPECT_EQ(tree("-a[0]"), "(-_ (_[_] a 0))");
  EXPECT_EQ(tree("x in l && y"), "(_&&_ (@in x l) y)");
}

TEST(CelParser, ConditionalIsRightAssociativeAndLowest) {
  EXPECT_EQ(tree("a ? b : c ? d : e"), "(_?_:_ a b (_?_:_ c d e))");
  EXPECT_EQ(tree("a || b ? c : d"), "(_?_:_ (_||_ a b) c d)");
}

TEST(CelParser, RepeatedUnaryOperatorsCancelInPairs) {
  EXPECT_EQ(tree("!!a"), "a");
  EXPECT_EQ(tree("!!!a"), "(!_ a)");
  EXPECT_EQ(tree("--a"), "a");
}

TEST(CelParser, FoldsMinusIntoNumberLiterals) {
  EXPECT_EQ(tree("-9223372036854775808"), std::to_string(INT64_MIN));
  EXPECT_EQ(tree("- -1"), "(-_ -1)");
  EXPECT_THAT(tree("9223372036854775808"), HasSubstr("out of range"));
  EXPECT_THAT(tree("-(9223372036854775808)"), HasSubstr("out of range"));
  EXPECT_THAT(tree("18446744073709551616u"), HasSubstr("out of range"));
}

TEST(CelParser, DistinguishesFieldsMethodsAndGlobalCalls) {
  EXPECT_EQ(tree("a.b.c"), "((a.b).c)");
  EXPECT_EQ(tree("s.startsWith('x')"), "(startsWith recv=s 'x')");
  EXPECT_EQ(tree("size(l)"), "(size l)");
  EXPECT_EQ(tree(".a.b"), "(a.b)");  // a root-scoped name
}

TEST(CelParser, ExpandsMacros) {
  EXPECT_EQ(tree("has(a.b)"), "has(a.b)");
  EXPECT_EQ(tree("l.all(x, x > 0)"), "(macro x over l (_>_ x 0))");
  EXPECT_EQ(tree("l.map(x, x > 0, x * 2)"), "(macro x over l (_>_ x 0) (_*_ x 2))");
  // With other argument counts these are plain calls (and fail to check).
  EXPECT_EQ(tree("l.all(x)"), "(all recv=l x)");
  EXPECT_THAT(tree("has(a)"), HasSubstr("has() needs a field selection"));
  EXPECT_THAT(tree("l.exists(x.y, true)"), HasSubstr("variable name"));
}

TEST(CelParser, AcceptsTrailingCommasInListsAndMaps) {
  EXPECT_EQ(tree("[1, 2,]"), "[2]");
  EXPECT_EQ(tree("{'a': 1,}"), "{1}");
  EXPECT_EQ(tree("[]"), "[0]");
}

TEST(CelParser, ReportsLineAndColumnOfTheOffendingToken) {
  ParseResult r = parse("a +\n  * b");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->line, 2);
  EXPECT_EQ(r.error->column, 3);
  EXPECT_THAT(r.error->message, HasSubstr("syntax error: unexpected '*'"));

  r = parse("f(1, 2");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->column, 7);
  EXPECT_THAT(r.error->message, HasSubstr("end of expression"));
}

TEST(CelParser, RejectsReservedWordsAsIdentifiers) {
  EXPECT_THAT(tree("if"), HasSubstr("reserved identifier 'if'"));
  EXPECT_THAT(tree("while(1)"), HasSubstr("reserved identifier 'while'"));
  EXPECT_THAT(tree("in"), HasSubstr("syntax error"));
}

TEST(CelParser, RejectsMessageConstructionAndStrayTokens) {
  EXPECT_THAT(tree("Msg{a: 1}"), HasSubstr("message construction is not supported"));
  EXPECT_THAT(tree("1 2"), HasSubstr("unexpected '2'"));
  EXPECT_THAT(tree(""), HasSubstr("unexpected end of expression"));
}

TEST(CelParser, RejectsDeepNestingWithoutCrashing) {
  std::string parens = std::string(100000, '(') + "1" + std::string(100000, ')');
  EXPECT_THAT(tree(parens), HasSubstr("nested too deeply"));
  std::string lists = std::string(kMaxNesting + 1, '[') + std::string(kMaxNesting + 1, ']');
  EXPECT_THAT(tree(lists), HasSubstr("nested too deeply"));
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_THAT(tree(chain), HasSubstr("nested too deeply"));
  std::string nots(100001, '!');
  EXPECT_EQ(tree(nots + "a"), "(!_ a)");  // a loop, not recursion
}

TEST(CelParser, AcceptsWhatTheSpecRequiresImplementationsToSupport) {
  // langdef: at least 32 nesting levels and 32 repetitions of each rule.
  std::string nested = std::string(32, '(') + "1" + std::string(32, ')');
  EXPECT_EQ(result(nested), "int 1");
  std::string sum = "0";
  for (int i = 0; i < 32; ++i) sum += " + 1";
  EXPECT_EQ(result(sum), "int 32");
}

TEST(CelParser, RejectsInvalidUtf8) {
  EXPECT_THAT(tree("'\xff'"), HasSubstr("not valid UTF-8"));
}

}  // namespace
}  // namespace storepulse::cel
