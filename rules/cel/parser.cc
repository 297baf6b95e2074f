#include "rules/cel/parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <set>

#include "rules/cel/lexer.h"

namespace storepulse::cel {

namespace {

// Thrown inside this file only; parse() turns it into a Diagnostic.
struct SyntaxError {
  SourceLocation location;
  std::string message;
};

const std::set<std::string_view, std::less<>>& reservedWords() {
  static const std::set<std::string_view, std::less<>> kWords = {
      "as",   "break", "const",   "continue",  "else",   "for", "function", "if",   "import",
      "let",  "loop",  "package", "namespace", "return", "var", "void",     "while"};
  return kWords;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) { advance(); }

  ParsedExpr parseAll() {
    ExprPtr root = parseExpr();
    if (tok_.kind != TokenKind::kEnd) fail(tok_.location, "unexpected " + describe(tok_));
    return ParsedExpr{std::move(root), next_id_};
  }

 private:
  [[noreturn]] void fail(SourceLocation loc, std::string message) {
    throw SyntaxError{loc, std::move(message)};
  }

  static std::string describe(const Token& t) {
    if (t.kind == TokenKind::kEnd) return "end of expression";
    return "'" + std::string(t.text) + "'";
  }

  void advance() {
    tok_ = lexer_.next();
    if (tok_.kind == TokenKind::kError) fail(tok_.location, tok_.value);
  }

  bool accept(TokenKind kind) {
    if (tok_.kind != kind) return false;
    advance();
    return true;
  }

  Token expect(TokenKind kind, std::string_view what) {
    if (tok_.kind != kind) fail(tok_.location, "expected " + std::string(what) + ", found " + describe(tok_));
    Token t = std::move(tok_);
    advance();
    return t;
  }

  ExprPtr node(ExprKind kind, SourceLocation loc) {
    auto e = std::make_unique<Expr>();
    e->id = next_id_++;
    e->kind = kind;
    e->location = loc;
    heights_.push_back(1);
    return e;
  }

  // Records the height of a node whose children are attached, and rejects
  // trees too tall to walk recursively.
  ExprPtr seal(ExprPtr e) {
    int h = 0;
    auto visit = [&](const ExprPtr& child) {
      if (child) h = std::max(h, heights_[child->id]);
    };
    visit(e->operand);
    for (const auto& a : e->args) visit(a);
    for (const auto& [k, v] : e->entries) {
      visit(k);
      visit(v);
    }
    heights_[e->id] = h + 1;
    if (h + 1 > kMaxHeight) {
      fail(e->location, "expression is nested too deeply (more than " + std::to_string(kMaxHeight) + " levels)");
    }
    return e;
  }

  ExprPtr call(std::string_view function, SourceLocation loc, std::vector<ExprPtr> args) {
    ExprPtr e = node(ExprKind::kCall, loc);
    e->name = function;
    e->args = std::move(args);
    return seal(std::move(e));
  }

  template <typename... Args>
  ExprPtr callOf(std::string_view function, SourceLocation loc, Args... args) {
    std::vector<ExprPtr> list;
    (list.push_back(std::move(args)), ...);
    return call(function, loc, std::move(list));
  }

  // Guards the recursion of parseExpr: every nesting construct goes through it.
  struct NestingGuard {
    Parser& p;
    explicit NestingGuard(Parser& parser, SourceLocation loc) : p(parser) {
      if (++p.nesting_ > kMaxNesting) {
        p.fail(loc, "expression is nested too deeply (more than " + std::to_string(kMaxNesting) + " levels)");
      }
    }
    ~NestingGuard() { --p.nesting_; }
  };

  ExprPtr parseExpr() {
    NestingGuard guard(*this, tok_.location);
    ExprPtr cond = parseOr();
    if (tok_.kind != TokenKind::kQuestion) return cond;
    SourceLocation loc = tok_.location;
    advance();
    ExprPtr yes = parseOr();
    expect(TokenKind::kColon, "':'");
    ExprPtr no = parseExpr();
    return callOf(op::kConditional, loc, std::move(cond), std::move(yes), std::move(no));
  }

  // One level of left-associative binary operators.
  template <typename Next>
  ExprPtr parseBinary(Next next, std::initializer_list<std::pair<TokenKind, const char*>> ops) {
    ExprPtr left = (this->*next)();
    while (true) {
      auto it = std::find_if(ops.begin(), ops.end(), [&](const auto& o) { return o.first == tok_.kind; });
      if (it == ops.end()) return left;
      SourceLocation loc = tok_.location;
      advance();
      left = callOf(it->second, loc, std::move(left), (this->*next)());
    }
  }

  ExprPtr parseOr() { return parseBinary(&Parser::parseAnd, {{TokenKind::kOr, op::kOr}}); }
  ExprPtr parseAnd() { return parseBinary(&Parser::parseRelation, {{TokenKind::kAnd, op::kAnd}}); }
  ExprPtr parseRelation() {
    return parseBinary(&Parser::parseAddition, {{TokenKind::kLess, op::kLess},
                                                {TokenKind::kLessEqual, op::kLessEqual},
                                                {TokenKind::kGreater, op::kGreater},
                                                {TokenKind::kGreaterEqual, op::kGreaterEqual},
                                                {TokenKind::kEqual, op::kEqual},
                                                {TokenKind::kNotEqual, op::kNotEqual},
                                                {TokenKind::kIn, op::kIn}});
  }
  ExprPtr parseAddition() {
    return parseBinary(&Parser::parseMultiplication,
                       {{TokenKind::kPlus, op::kAdd}, {TokenKind::kMinus, op::kSubtract}});
  }
  ExprPtr parseMultiplication() {
    return parseBinary(&Parser::parseUnary, {{TokenKind::kStar, op::kMultiply},
                                             {TokenKind::kSlash, op::kDivide},
                                             {TokenKind::kPercent, op::kModulo}});
  }

  // `!` and `-` repeat; an even number of them cancels out (as in cel-go).
  // A `-` right before a number literal belongs to the literal, so that
  // -9223372036854775808 is the int minimum rather than an overflow.
  ExprPtr parseUnary() {
    if (tok_.kind != TokenKind::kNot && tok_.kind != TokenKind::kMinus) return parseMember(parsePrimary());
    TokenKind op_kind = tok_.kind;
    SourceLocation loc = tok_.location;
    int count = 0;
    SourceLocation last;
    while (tok_.kind == op_kind) {
      last = tok_.location;
      ++count;
      advance();
    }
    ExprPtr operand;
    if (op_kind == TokenKind::kMinus && (tok_.kind == TokenKind::kInt || tok_.kind == TokenKind::kDouble)) {
      --count;
      operand = parseMember(parseNumber(/*negative=*/true, last));
    } else {
      operand = parseMember(parsePrimary());
    }
    if (count % 2 == 0) return operand;
    return callOf(op_kind == TokenKind::kNot ? op::kNot : op::kNegate, loc, std::move(operand));
  }

  ExprPtr parseMember(ExprPtr operand) {
    while (true) {
      if (tok_.kind == TokenKind::kDot) {
        advance();
        Token field = expect(TokenKind::kIdent, "a field or method name after '.'");
        if (tok_.kind == TokenKind::kLParen) {
          operand = receiverCall(std::move(operand), field, parseArgs());
        } else {
          ExprPtr sel = node(ExprKind::kSelect, field.location);
          sel->name = field.text;
          sel->operand = std::move(operand);
          operand = seal(std::move(sel));
        }
      } else if (tok_.kind == TokenKind::kLBracket) {
        SourceLocation loc = tok_.location;
        advance();
        ExprPtr index = parseExpr();
        expect(TokenKind::kRBracket, "']'");
        operand = callOf(op::kIndex, loc, std::move(operand), std::move(index));
      } else if (tok_.kind == TokenKind::kLBrace) {
        fail(tok_.location, "message construction is not supported");
      } else {
        return operand;
      }
    }
  }

  std::vector<ExprPtr> parseArgs() {
    expect(TokenKind::kLParen, "'('");
    std::vector<ExprPtr> args;
    if (accept(TokenKind::kRParen)) return args;
    do {
      args.push_back(parseExpr());
    } while (accept(TokenKind::kComma));
    expect(TokenKind::kRParen, "')' or ','");
    return args;
  }

  ExprPtr parsePrimary() {
    SourceLocation loc = tok_.location;
    switch (tok_.kind) {
      case TokenKind::kDot:
      case TokenKind::kIdent: {
        bool root_scoped = accept(TokenKind::kDot);
        Token name = expect(TokenKind::kIdent, "a name");
        if (reservedWords().count(name.text) != 0) fail(name.location, "reserved identifier '" + std::string(name.text) + "'");
        if (!root_scoped && tok_.kind == TokenKind::kLParen) return globalCall(name, parseArgs());
        ExprPtr e = node(ExprKind::kIdent, name.location);
        e->name = name.text;
        return seal(std::move(e));
      }
      case TokenKind::kLParen: {
        advance();
        ExprPtr inner = parseExpr();
        expect(TokenKind::kRParen, "')'");
        return inner;
      }
      case TokenKind::kLBracket: {
        advance();
        ExprPtr list = node(ExprKind::kList, loc);
        while (tok_.kind != TokenKind::kRBracket) {
          list->args.push_back(parseExpr());
          if (!accept(TokenKind::kComma)) break;
        }
        expect(TokenKind::kRBracket, "']' or ','");
        return seal(std::move(list));
      }
      case TokenKind::kLBrace: {
        advance();
        ExprPtr map = node(ExprKind::kMap, loc);
        while (tok_.kind != TokenKind::kRBrace) {
          ExprPtr key = parseExpr();
          expect(TokenKind::kColon, "':'");
          map->entries.emplace_back(std::move(key), parseExpr());
          if (!accept(TokenKind::kComma)) break;
        }
        expect(TokenKind::kRBrace, "'}' or ','");
        return seal(std::move(map));
      }
      case TokenKind::kInt:
      case TokenKind::kUint:
      case TokenKind::kDouble: return parseNumber(/*negative=*/false, loc);
      case TokenKind::kString: return constant(Value::ownedString(std::move(tok_.value)), loc);
      case TokenKind::kBytes: return constant(Value::ownedBytes(std::move(tok_.value)), loc);
      case TokenKind::kTrue: return constant(Value::ofBool(true), loc);
      case TokenKind::kFalse: return constant(Value::ofBool(false), loc);
      case TokenKind::kNull: return constant(Value::null(), loc);
      default: fail(loc, "unexpected " + describe(tok_));
    }
  }

  ExprPtr constant(Value v, SourceLocation loc) {
    advance();
    ExprPtr e = node(ExprKind::kConstant, loc);
    e->constant = std::move(v);
    return seal(std::move(e));
  }

  ExprPtr parseNumber(bool negative, SourceLocation loc) {
    std::string_view text = tok_.text;
    if (tok_.kind == TokenKind::kDouble) {
      // strtod rather than from_chars: 1e-324 is 0 and 1e999 is infinity,
      // as IEEE rounding says, not a range error.
      std::string digits(text);
      char* end = nullptr;
      double d = std::strtod(digits.c_str(), &end);
      if (end != digits.c_str() + digits.size()) fail(loc, "invalid double literal " + digits);
      return constant(Value::ofDouble(negative ? -d : d), loc);
    }
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
      base = 16;
      text.remove_prefix(2);
    }
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
    if (ec != std::errc() || end != text.data() + text.size()) {
      fail(loc, "integer literal " + std::string(tok_.text) + " is out of range");
    }
    if (tok_.kind == TokenKind::kUint) return constant(Value::ofUint(magnitude), loc);
    constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;  // |INT64_MIN|
    if (magnitude > kMaxMagnitude - (negative ? 0 : 1)) {
      fail(loc, "integer literal " + std::string(negative ? "-" : "") + std::string(tok_.text) + " is out of range");
    }
    int64_t v = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return constant(Value::ofInt(v), loc);
  }

  ExprPtr globalCall(const Token& name, std::vector<ExprPtr> args) {
    if (name.text == "has" && args.size() == 1) {
      ExprPtr& arg = args[0];
      if (arg->kind != ExprKind::kSelect || arg->test_only) {
        fail(arg->location, "has() needs a field selection, like has(m.f)");
      }
      arg->test_only = true;
      return std::move(arg);
    }
    return call(name.text, name.location, std::move(args));
  }

  ExprPtr receiverCall(ExprPtr target, const Token& name, std::vector<ExprPtr> args) {
    static const std::pair<std::string_view, MacroKind> kMacros[] = {
        {"all", MacroKind::kAll},
        {"exists", MacroKind::kExists},
        {"exists_one", MacroKind::kExistsOne},
        {"map", MacroKind::kMap},
        {"filter", MacroKind::kFilter},
    };
    auto macro = std::find_if(std::begin(kMacros), std::end(kMacros), [&](const auto& m) { return m.first == name.text; });
    bool arity_ok = args.size() == 2 || (args.size() == 3 && macro != std::end(kMacros) && macro->second == MacroKind::kMap);
    if (macro == std::end(kMacros) || !arity_ok) {
      ExprPtr e = node(ExprKind::kCall, name.location);
      e->name = name.text;
      e->operand = std::move(target);
      e->args = std::move(args);
      return seal(std::move(e));
    }
    if (args[0]->kind != ExprKind::kIdent) {
      fail(args[0]->location, std::string(name.text) + "() needs a variable name as its first argument");
    }
    ExprPtr e = node(ExprKind::kComprehension, name.location);
    e->macro = macro->second;
    e->name = args[0]->name;
    e->operand = std::move(target);
    for (size_t i = 1; i < args.size(); ++i) e->args.push_back(std::move(args[i]));
    return seal(std::move(e));
  }

  Lexer lexer_;
  Token tok_;
  int next_id_ = 0;
  int nesting_ = 0;
  std::vector<int> heights_;  // by node id
};

}  // namespace

std::string Diagnostic::toString() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

ParseResult parse(std::string_view text) {
  ParseResult result;
  if (!isValidUtf8(text)) {
    result.error = Diagnostic{1, 1, "syntax error: the expression is not valid UTF-8"};
    return result;
  }
  try {
    result.expr = Parser(text).parseAll();
  } catch (const SyntaxError& e) {
    result.error = Diagnostic{e.location.line, e.location.column, "syntax error: " + e.message};
  }
  return result;
}

}  // namespace storepulse::cel
