#include "rules/cel/lexer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace storepulse::cel {
namespace {

using ::testing::HasSubstr;

std::vector<Token> lexAll(std::string_view text) {
  Lexer lexer(text);
  std::vector<Token> out;
  while (true) {
    out.push_back(lexer.next());
    if (out.back().kind == TokenKind::kEnd || out.back().kind == TokenKind::kError) return out;
  }
}

Token single(std::string_view text) {
  auto tokens = lexAll(text);
  EXPECT_EQ(tokens.size(), tokens.back().kind == TokenKind::kError ? 1u : 2u) << text;
  return tokens.front();
}

std::string decoded(std::string_view text) {
  Token t = single(text);
  EXPECT_TRUE(t.kind == TokenKind::kString || t.kind == TokenKind::kBytes) << text << ": " << t.value;
  return t.value;
}

TEST(CelLexer, ReadsOperatorsAndKeywords) {
  std::vector<TokenKind> kinds;
  for (const Token& t : lexAll("a<=b && !c || d != e in [true, false, null] ? x : y % 2"))
    kinds.push_back(t.kind);
  EXPECT_EQ(kinds, (std::vector<TokenKind>{
                       TokenKind::kIdent, TokenKind::kLessEqual, TokenKind::kIdent, TokenKind::kAnd,
                       TokenKind::kNot, TokenKind::kIdent, TokenKind::kOr, TokenKind::kIdent,
                       TokenKind::kNotEqual, TokenKind::kIdent, TokenKind::kIn, TokenKind::kLBracket,
                       TokenKind::kTrue, TokenKind::kComma, TokenKind::kFalse, TokenKind::kComma,
                       TokenKind::kNull, TokenKind::kRBracket, TokenKind::kQuestion, TokenKind::kIdent,
                       TokenKind::kColon, TokenKind::kIdent, TokenKind::kPercent, TokenKind::kInt,
                       TokenKind::kEnd}));
}

TEST(CelLexer, ClassifiesNumbers) {
  EXPECT_EQ(single("42").kind, TokenKind::kInt);
  EXPECT_EQ(single("0x2A").kind, TokenKind::kInt);
  EXPECT_EQ(single("42u").kind, TokenKind::kUint);
  EXPECT_EQ(single("42u").text, "42");  // the suffix is not part of the digits
  EXPECT_EQ(single("0xFFU").kind, TokenKind::kUint);
  EXPECT_EQ(single("1.5").kind, TokenKind::kDouble);
  EXPECT_EQ(single(".5").kind, TokenKind::kDouble);
  EXPECT_EQ(single("1e3").kind, TokenKind::kDouble);
  EXPECT_EQ(single("2.5E-3").kind, TokenKind::kDouble);
  EXPECT_EQ(single("1e").kind, TokenKind::kError);
  // "1." is the int 1 followed by a dot (a member access), as in the grammar.
  auto tokens = lexAll("1.size()");
  EXPECT_EQ(tokens[0].kind, TokenKind::kInt);
  EXPECT_EQ(tokens[1].kind, TokenKind::kDot);
}

TEST(CelLexer, DecodesEverySimpleEscape) {
  EXPECT_EQ(decoded(R"('\a\b\f\n\r\t\v\\\'\"\`\?')"), std::string("\a\b\f\n\r\t\v\\'\"`?"));
}

TEST(CelLexer, DecodesNumericEscapesAsCodePointsInStrings) {
  EXPECT_EQ(decoded(R"("\x41\X42")"), "AB");
  EXPECT_EQ(decoded(R"("\101")"), "A");
  EXPECT_EQ(decoded(R"("\377")"), "\xC3\xBF");  // U+00FF in UTF-8
  EXPECT_EQ(decoded(R"("\xFF")"), "\xC3\xBF");
  EXPECT_EQ(decoded(R"("\u00e9")"), "\xC3\xA9");
  EXPECT_EQ(decoded(R"("\U0001F600")"), "\xF0\x9F\x98\x80");
}

TEST(CelLexer, DecodesNumericEscapesAsOctetsInBytes) {
  Token t = single(R"(b"\377\xFFÿ")");
  EXPECT_EQ(t.kind, TokenKind::kBytes);
  EXPECT_EQ(t.value, "\xFF\xFF\xC3\xBF");
  EXPECT_THAT(single(R"(b"\u00e9")").value, HasSubstr("not allowed in bytes"));
}

TEST(CelLexer, RejectsBadEscapes) {
  EXPECT_THAT(single(R"("\q")").value, HasSubstr("invalid escape"));
  EXPECT_THAT(single(R"("\x4")").value, HasSubstr("2 digits"));
  EXPECT_THAT(single(R"("\uD800")").value, HasSubstr("code point"));  // a lone surrogate
  EXPECT_THAT(single(R"("\U00110000")").value, HasSubstr("code point"));
  EXPECT_THAT(single(R"("\400")").value, HasSubstr("invalid escape"));  // octal stops at \377
}

TEST(CelLexer, RawStringsKeepBackslashes) {
  EXPECT_EQ(decoded(R"(r"\d+\.\n")"), R"(\d+\.\n)");
  EXPECT_EQ(decoded(R"(R'\')"), R"(\)");
  Token t = single(R"(br"\x00")");
  EXPECT_EQ(t.kind, TokenKind::kBytes);
  EXPECT_EQ(t.value, R"(\x00)");
}

TEST(CelLexer, TripleQuotedStringsSpanLinesAndHoldQuotes) {
  EXPECT_EQ(decoded("'''a\nb'c''d'''"), "a\nb'c''d");
  EXPECT_EQ(decoded(R"("""say "hi"\t""")"), "say \"hi\"\t");
}

TEST(CelLexer, RejectsNewlinesAndUnterminatedStrings) {
  EXPECT_THAT(single("'a\nb'").value, HasSubstr("newline"));
  EXPECT_THAT(single("'abc").value, HasSubstr("unterminated"));
  EXPECT_THAT(single("'''abc''").value, HasSubstr("unterminated"));
}

TEST(CelLexer, TracksLinesAndColumnsInCharacters) {
  auto tokens = lexAll("a +\n  'é' // comment\n\t  b");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[1].location.line, 1);
  EXPECT_EQ(tokens[1].location.column, 3);
  EXPECT_EQ(tokens[2].location.line, 2);
  EXPECT_EQ(tokens[2].location.column, 3);
  EXPECT_EQ(tokens[3].location.line, 3);
  EXPECT_EQ(tokens[3].location.column, 4);
  auto after_accent = lexAll("'é' x");
  EXPECT_EQ(after_accent[1].location.column, 5);  // é is one column
}

TEST(CelLexer, ExplainsLoneEqualsAndAmpersand) {
  EXPECT_THAT(single("=").value, HasSubstr("=="));
  EXPECT_THAT(single("&").value, HasSubstr("&&"));
  EXPECT_THAT(single("|").value, HasSubstr("||"));
  EXPECT_THAT(single("#").value, HasSubstr("unexpected character"));
}

}  // namespace
}  // namespace storepulse::cel
