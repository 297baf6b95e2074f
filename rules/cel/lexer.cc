#include "rules/cel/lexer.h"

namespace storepulse::cel {

namespace {

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }
bool isQuote(char c) { return c == '"' || c == '\''; }

int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

TokenKind keywordOrIdent(std::string_view word) {
  if (word == "true") return TokenKind::kTrue;
  if (word == "false") return TokenKind::kFalse;
  if (word == "null") return TokenKind::kNull;
  if (word == "in") return TokenKind::kIn;
  return TokenKind::kIdent;
}

}  // namespace

void Lexer::advance(size_t n) {
  for (size_t i = 0; i < n && pos_ < src_.size(); ++i) {
    char c = src_[pos_++];
    bool crlf = c == '\r' && peek() == '\n';
    if ((c == '\n' || c == '\r') && !crlf) {
      ++loc_.line;
      loc_.column = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++loc_.column;  // columns count characters, not UTF-8 continuation bytes
    }
  }
}

void Lexer::skipSpaceAndComments() {
  while (pos_ < src_.size()) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      advance();
    } else if (c == '/' && peek(1) == '/') {
      while (pos_ < src_.size() && peek() != '\n' && peek() != '\r') advance();
    } else {
      return;
    }
  }
}

Token Lexer::make(TokenKind kind, size_t start, SourceLocation loc) const {
  return Token{kind, src_.substr(start, pos_ - start), loc, {}};
}

Token Lexer::error(SourceLocation loc, std::string message) const {
  return Token{TokenKind::kError, {}, loc, std::move(message)};
}

Token Lexer::next() {
  skipSpaceAndComments();
  size_t start = pos_;
  SourceLocation loc = loc_;
  if (pos_ >= src_.size()) return make(TokenKind::kEnd, start, loc);
  char c = peek();

  if (isIdentStart(c)) {
    // String prefixes: r"..", b"..", br"..".
    bool b = c == 'b' || c == 'B';
    bool r = c == 'r' || c == 'R';
    if ((b || r) && isQuote(peek(1))) {
      advance();
      return lexString(start, loc, r, b);
    }
    if (b && (peek(1) == 'r' || peek(1) == 'R') && isQuote(peek(2))) {
      advance(2);
      return lexString(start, loc, true, true);
    }
    while (isIdentChar(peek())) advance();
    Token t = make(TokenKind::kIdent, start, loc);
    t.kind = keywordOrIdent(t.text);
    return t;
  }
  if (isDigit(c) || (c == '.' && isDigit(peek(1)))) return lexNumber(start, loc);
  if (isQuote(c)) return lexString(start, loc, false, false);

  auto two = [&](char second, TokenKind if_two, TokenKind if_one) {
    bool is_two = peek(1) == second;
    advance(is_two ? 2 : 1);
    return make(is_two ? if_two : if_one, start, loc);
  };
  switch (c) {
    case '(': advance(); return make(TokenKind::kLParen, start, loc);
    case ')': advance(); return make(TokenKind::kRParen, start, loc);
    case '[': advance(); return make(TokenKind::kLBracket, start, loc);
    case ']': advance(); return make(TokenKind::kRBracket, start, loc);
    case '{': advance(); return make(TokenKind::kLBrace, start, loc);
    case '}': advance(); return make(TokenKind::kRBrace, start, loc);
    case '.': advance(); return make(TokenKind::kDot, start, loc);
    case ',': advance(); return make(TokenKind::kComma, start, loc);
    case ':': advance(); return make(TokenKind::kColon, start, loc);
    case '?': advance(); return make(TokenKind::kQuestion, start, loc);
    case '+': advance(); return make(TokenKind::kPlus, start, loc);
    case '-': advance(); return make(TokenKind::kMinus, start, loc);
    case '*': advance(); return make(TokenKind::kStar, start, loc);
    case '/': advance(); return make(TokenKind::kSlash, start, loc);
    case '%': advance(); return make(TokenKind::kPercent, start, loc);
    case '<': return two('=', TokenKind::kLessEqual, TokenKind::kLess);
    case '>': return two('=', TokenKind::kGreaterEqual, TokenKind::kGreater);
    case '!': return two('=', TokenKind::kNotEqual, TokenKind::kNot);
    case '=':
      if (peek(1) == '=') {
        advance(2);
        return make(TokenKind::kEqual, start, loc);
      }
      return error(loc, "'=' is not an operator (use == to compare)");
    case '&':
      if (peek(1) == '&') {
        advance(2);
        return make(TokenKind::kAnd, start, loc);
      }
      return error(loc, "'&' is not an operator (use &&)");
    case '|':
      if (peek(1) == '|') {
        advance(2);
        return make(TokenKind::kOr, start, loc);
      }
      return error(loc, "'|' is not an operator (use ||)");
    default: break;
  }
  return error(loc, "unexpected character '" + std::string(src_.substr(pos_, 1)) + "'");
}

Token Lexer::lexNumber(size_t start, SourceLocation loc) {
  if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
    advance(2);
    size_t digits = pos_;
    while (hexValue(peek()) >= 0) advance();
    if (pos_ == digits) return error(loc, "hexadecimal literal needs digits after 0x");
    Token t = make(TokenKind::kInt, start, loc);
    if (peek() == 'u' || peek() == 'U') {
      advance();
      t.kind = TokenKind::kUint;
    }
    return t;
  }
  bool is_double = false;
  while (isDigit(peek())) advance();
  if (peek() == '.' && isDigit(peek(1))) {
    is_double = true;
    advance();
    while (isDigit(peek())) advance();
  }
  if (peek() == 'e' || peek() == 'E') {
    size_t sign = (peek(1) == '+' || peek(1) == '-') ? 1 : 0;
    if (!isDigit(peek(1 + sign))) return error(loc_, "exponent needs digits");
    is_double = true;
    advance(1 + sign);
    while (isDigit(peek())) advance();
  }
  Token t = make(is_double ? TokenKind::kDouble : TokenKind::kInt, start, loc);
  if (!is_double && (peek() == 'u' || peek() == 'U')) {
    advance();
    t.kind = TokenKind::kUint;
  }
  return t;
}

Token Lexer::lexString(size_t start, SourceLocation loc, bool raw, bool bytes) {
  char quote = peek();
  bool triple = peek(1) == quote && peek(2) == quote;
  advance(triple ? 3 : 1);
  std::string out;
  while (true) {
    if (pos_ >= src_.size()) return error(loc, "unterminated string literal");
    char c = peek();
    if (triple && c == quote && peek(1) == quote && peek(2) == quote) {
      advance(3);
      break;
    }
    if (!triple && c == quote) {
      advance();
      break;
    }
    if (!triple && (c == '\n' || c == '\r')) {
      return error(loc, "newline in a quoted string (use ''' or \"\"\" for several lines)");
    }
    if (c == '\\' && !raw) {
      SourceLocation escape_loc = loc_;
      advance();
      if (std::string problem = decodeEscape(out, bytes); !problem.empty()) return error(escape_loc, problem);
      continue;
    }
    out += c;
    advance();
  }
  Token t = make(bytes ? TokenKind::kBytes : TokenKind::kString, start, loc);
  t.value = std::move(out);
  return t;
}

std::string Lexer::decodeEscape(std::string& out, bool bytes) {
  char c = peek();
  switch (c) {
    case 'a': out += '\a'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'n': out += '\n'; break;
    case 'r': out += '\r'; break;
    case 't': out += '\t'; break;
    case 'v': out += '\v'; break;
    case '\\':
    case '\'':
    case '"':
    case '`':
    case '?': out += c; break;
    default: {
      // Numeric escapes: \xHH, \ooo (octet in bytes, code point in strings),
      // \uHHHH and \UHHHHHHHH (strings only).
      int digits, base;
      if (c == 'x' || c == 'X') {
        digits = 2, base = 16;
      } else if (c == 'u') {
        digits = 4, base = 16;
      } else if (c == 'U') {
        digits = 8, base = 16;
      } else if (c >= '0' && c <= '3') {
        digits = 3, base = 8;
      } else {
        return "invalid escape sequence '\\" + std::string(1, c) + "'";
      }
      bool unicode = c == 'u' || c == 'U';
      if (unicode && bytes) return "\\u and \\U escapes are not allowed in bytes literals";
      if (base == 16) advance();  // the x/u/U letter; octal digits start right away
      uint32_t value = 0;
      for (int i = 0; i < digits; ++i) {
        int d = hexValue(peek());
        if (d < 0 || d >= base) return "escape sequence needs " + std::to_string(digits) + " digits";
        value = value * base + d;
        advance();
      }
      if (bytes) {
        out += static_cast<char>(value);
      } else if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
        return "escape sequence is not a valid Unicode code point";
      } else {
        appendUtf8(out, value);
      }
      return {};
    }
  }
  advance();
  return {};
}

}  // namespace storepulse::cel
