#pragma once
// Splits CEL source text into tokens, decoding string and bytes literals
// (escapes, raw and triple-quoted forms) as it goes. Numbers keep their
// text: whether `9223372036854775808` is in range depends on a leading `-`,
// which only the parser sees.

#include <string>
#include <string_view>

#include "rules/cel/ast.h"

namespace storepulse::cel {

enum class TokenKind {
  kEnd,
  kError,  // `value` holds the message
  kIdent,
  kInt,     // text: digits or 0x-hex digits
  kUint,    // text: as kInt, without the u suffix
  kDouble,  // text: the literal
  kString,  // value: decoded UTF-8
  kBytes,   // value: decoded bytes
  kTrue,
  kFalse,
  kNull,
  kIn,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kDot,
  kComma,
  kColon,
  kQuestion,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kNot,
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kAnd,
  kOr,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // the source characters
  SourceLocation location;
  std::string value;
};

class Lexer {
 public:
  // `source` must outlive the lexer and its tokens.
  explicit Lexer(std::string_view source) : src_(source) {}

  Token next();

 private:
  char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }
  void advance(size_t n = 1);
  void skipSpaceAndComments();
  Token make(TokenKind kind, size_t start, SourceLocation loc) const;
  Token error(SourceLocation loc, std::string message) const;
  Token lexNumber(size_t start, SourceLocation loc);
  Token lexString(size_t start, SourceLocation loc, bool raw, bool bytes);
  // Decodes the escape after a backslash (already consumed) into `out`;
  // returns an error message, or empty.
  std::string decodeEscape(std::string& out, bool bytes);

  std::string_view src_;
  size_t pos_ = 0;
  SourceLocation loc_;
};

}  // namespace storepulse::cel
