#include "rules/cel/standard_library.h"

#include <absl/time/civil_time.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "rules/cel/ast.h"
#include "rules/cel/env.h"
#include "rules/cel/time_values.h"

namespace storepulse::cel {

namespace {

using Args = std::span<const Value>;

// ---- registration --------------------------------------------------------

const Type kBool = Type::boolean();
const Type kInt = Type::integer();
const Type kUint = Type::uinteger();
const Type kDouble = Type::dbl();
const Type kString = Type::string();
const Type kBytes = Type::bytes();
const Type kDuration = Type::duration();
const Type kTimestamp = Type::timestamp();
const Type kA = Type::param("A");
const Type kB = Type::param("B");

enum Flags : unsigned {
  kPlain = 0,
  kReceiver = 1,
  kAnyNumber = 2,
  kSizeCost = 4,
};

// Overload ids are derived from the function and parameter types, so they
// are unique without being spelled out for each of the ~150 overloads.
void add(Env& env, std::string_view function, std::vector<Type> params, Type result, FunctionImpl impl,
         unsigned flags = kPlain) {
  std::string id(function);
  if (flags & kReceiver) id += "_receiver";
  for (const Type& p : params) id += "_" + p.toString();
  Overload o{std::move(id),
             std::move(params),
             std::move(result),
             (flags & kReceiver) != 0,
             std::move(impl),
             (flags & kAnyNumber) != 0,
             (flags & kSizeCost) != 0,
             /*foldable=*/true};
  Status status = env.addOverload(function, std::move(o));
  assert(status.isOk() && "the standard library's overloads do not overlap");
  (void)status;
}

Value errorValue(const Status& s) { return Value::error(s.message()); }

template <typename T, typename Make>
Value fromResult(const Result<T>& r, Make make) {
  return r.isOk() ? make(r.value()) : errorValue(r.status());
}

// ---- operators -----------------------------------------------------------

enum class Arith { kAdd, kSubtract, kMultiply };

template <typename T>
std::optional<T> checked(Arith op, T a, T b) {
  T r;
  bool overflow = op == Arith::kAdd        ? __builtin_add_overflow(a, b, &r)
                  : op == Arith::kSubtract ? __builtin_sub_overflow(a, b, &r)
                                           : __builtin_mul_overflow(a, b, &r);
  if (overflow) return std::nullopt;
  return r;
}

Value intResult(std::optional<int64_t> r) { return r ? Value::ofInt(*r) : Value::error("integer overflow"); }

Value concatLists(const ListValue& a, const ListValue& b) {
  std::vector<Value> out;
  out.reserve(a.size() + b.size());
  out.insert(out.end(), a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return Value::ofList(std::make_shared<ListValue>(std::move(out)));
}

void addArithmetic(Env& env) {
  struct Op {
    const char* name;
    Arith arith;
    double (*on_doubles)(double, double);
  };
  static constexpr Op kOps[] = {
      {op::kAdd, Arith::kAdd, [](double x, double y) { return x + y; }},
      {op::kSubtract, Arith::kSubtract, [](double x, double y) { return x - y; }},
      {op::kMultiply, Arith::kMultiply, [](double x, double y) { return x * y; }},
  };
  for (const Op& o : kOps) {
    add(env, o.name, {kInt, kInt}, kInt,
        [arith = o.arith](Args a) { return intResult(checked(arith, a[0].intValue(), a[1].intValue())); });
    add(env, o.name, {kUint, kUint}, kUint, [arith = o.arith](Args a) {
      auto r = checked(arith, a[0].uintValue(), a[1].uintValue());
      return r ? Value::ofUint(*r) : Value::error("unsigned integer overflow");
    });
    add(env, o.name, {kDouble, kDouble}, kDouble,
        [f = o.on_doubles](Args a) { return Value::ofDouble(f(a[0].doubleValue(), a[1].doubleValue())); });
  }

  auto concat = [](Args a) {
    std::string s(a[0].stringValue());
    s += a[1].stringValue();
    return a[0].kind() == ValueKind::kString ? Value::ownedString(std::move(s)) : Value::ownedBytes(std::move(s));
  };
  add(env, op::kAdd, {kString, kString}, kString, concat, kSizeCost);
  add(env, op::kAdd, {kBytes, kBytes}, kBytes, concat, kSizeCost);
  add(env, op::kAdd, {Type::list(kA), Type::list(kA)}, Type::list(kA),
      [](Args a) { return concatLists(a[0].listValue(), a[1].listValue()); }, kSizeCost);

  auto shift = [](Timestamp t, Duration d) { return fromResult(addDuration(t, d), Value::ofTimestamp); };
  auto durations = [](Arith arith, Args a) {
    auto r = checked(arith, a[0].durationValue().nanos, a[1].durationValue().nanos);
    return r ? Value::ofDuration(Duration{*r}) : Value::error("duration out of range");
  };
  add(env, op::kAdd, {kTimestamp, kDuration}, kTimestamp,
      [shift](Args a) { return shift(a[0].timestampValue(), a[1].durationValue()); });
  add(env, op::kAdd, {kDuration, kTimestamp}, kTimestamp,
      [shift](Args a) { return shift(a[1].timestampValue(), a[0].durationValue()); });
  add(env, op::kAdd, {kDuration, kDuration}, kDuration, [durations](Args a) { return durations(Arith::kAdd, a); });
  add(env, op::kSubtract, {kDuration, kDuration}, kDuration,
      [durations](Args a) { return durations(Arith::kSubtract, a); });
  add(env, op::kSubtract, {kTimestamp, kTimestamp}, kDuration, [](Args a) {
    return fromResult(subtractTimestamps(a[0].timestampValue(), a[1].timestampValue()), Value::ofDuration);
  });
  add(env, op::kSubtract, {kTimestamp, kDuration}, kTimestamp, [shift](Args a) {
    Duration d = a[1].durationValue();
    if (d.nanos == std::numeric_limits<int64_t>::min()) return Value::error("duration out of range");
    return shift(a[0].timestampValue(), Duration{-d.nanos});
  });

  constexpr int64_t kIntMin = std::numeric_limits<int64_t>::min();
  add(env, op::kDivide, {kInt, kInt}, kInt, [](Args a) {
    int64_t x = a[0].intValue(), y = a[1].intValue();
    if (y == 0) return Value::error("division by zero");
    if (x == kIntMin && y == -1) return intResult(std::nullopt);
    return Value::ofInt(x / y);
  });
  add(env, op::kDivide, {kUint, kUint}, kUint, [](Args a) {
    if (a[1].uintValue() == 0) return Value::error("division by zero");
    return Value::ofUint(a[0].uintValue() / a[1].uintValue());
  });
  add(env, op::kDivide, {kDouble, kDouble}, kDouble,
      [](Args a) { return Value::ofDouble(a[0].doubleValue() / a[1].doubleValue()); });
  add(env, op::kModulo, {kInt, kInt}, kInt, [](Args a) {
    int64_t x = a[0].intValue(), y = a[1].intValue();
    if (y == 0) return Value::error("modulus by zero");
    if (x == kIntMin && y == -1) return intResult(std::nullopt);
    return Value::ofInt(x % y);
  });
  add(env, op::kModulo, {kUint, kUint}, kUint, [](Args a) {
    if (a[1].uintValue() == 0) return Value::error("modulus by zero");
    return Value::ofUint(a[0].uintValue() % a[1].uintValue());
  });

  add(env, op::kNegate, {kInt}, kInt, [](Args a) {
    return intResult(checked(Arith::kSubtract, int64_t{0}, a[0].intValue()));
  });
  add(env, op::kNegate, {kDouble}, kDouble, [](Args a) { return Value::ofDouble(-a[0].doubleValue()); });
  add(env, op::kNot, {kBool}, kBool, [](Args a) { return Value::ofBool(!a[0].boolValue()); });
}

void addComparisons(Env& env) {
  struct Op {
    const char* name;
    bool (*holds)(int);
  };
  static constexpr Op kOps[] = {
      {op::kLess, [](int c) { return c < 0; }},
      {op::kLessEqual, [](int c) { return c <= 0; }},
      {op::kGreater, [](int c) { return c > 0; }},
      {op::kGreaterEqual, [](int c) { return c >= 0; }},
  };
  const Type same_kind[] = {kBool, kInt, kUint, kDouble, kString, kBytes, kTimestamp, kDuration};
  for (const Op& o : kOps) {
    // NaN is unordered: every comparison with it is false.
    FunctionImpl impl = [holds = o.holds](Args a) {
      bool comparable;
      auto c = compareValues(a[0], a[1], &comparable);
      return Value::ofBool(c.has_value() && holds(*c));
    };
    for (const Type& t : same_kind) {
      unsigned flags = t.kind() == TypeKind::kString || t.kind() == TypeKind::kBytes ? kSizeCost : kAnyNumber;
      add(env, o.name, {t, t}, kBool, impl, flags);
    }
  }

  add(env, op::kEqual, {kA, kA}, kBool, [](Args a) { return Value::ofBool(valuesEqual(a[0], a[1])); },
      kAnyNumber | kSizeCost);
  add(env, op::kNotEqual, {kA, kA}, kBool, [](Args a) { return Value::ofBool(!valuesEqual(a[0], a[1])); },
      kAnyNumber | kSizeCost);

  // Declared for the checker; evaluated by the interpreter's own nodes.
  add(env, op::kAnd, {kBool, kBool}, kBool, nullptr);
  add(env, op::kOr, {kBool, kBool}, kBool, nullptr);
  add(env, op::kConditional, {kBool, kA, kA}, kA, nullptr);
}

// A list index may be any number with an integral value: list[1u], list[1.0].
std::optional<int64_t> integralIndex(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt: return v.intValue();
    case ValueKind::kUint:
      if (v.uintValue() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(v.uintValue());
    case ValueKind::kDouble: {
      double d = v.doubleValue();
      if (d != std::trunc(d) || std::abs(d) > 9007199254740992.0) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    default: return std::nullopt;
  }
}

std::string describe(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString: return "'" + std::string(v.stringValue()) + "'";
    case ValueKind::kInt: return std::to_string(v.intValue());
    case ValueKind::kUint: return std::to_string(v.uintValue()) + "u";
    case ValueKind::kBool: return v.boolValue() ? "true" : "false";
    case ValueKind::kDouble: return formatDouble(v.doubleValue());
    default: return std::string(v.runtimeType().name());
  }
}

void addContainers(Env& env) {
  add(env, op::kIndex, {Type::list(kA), kInt}, kA, [](Args a) {
    const ListValue& list = a[0].listValue();
    auto i = integralIndex(a[1]);
    if (!i) return Value::error("invalid list index " + describe(a[1]));
    if (*i < 0 || static_cast<uint64_t>(*i) >= list.size()) {
      return Value::error("index out of range: " + std::to_string(*i) + " (list size " + std::to_string(list.size()) + ")");
    }
    return list[*i];
  }, kAnyNumber);
  add(env, op::kIndex, {Type::map(kA, kB), kA}, kB, [](Args a) {
    const Value* v = a[0].mapValue().find(a[1]);
    return v != nullptr ? *v : Value::error("no such key: " + describe(a[1]));
  }, kAnyNumber);

  add(env, op::kIn, {kA, Type::list(kA)}, kBool, [](Args a) {
    const ListValue& list = a[1].listValue();
    return Value::ofBool(std::any_of(list.begin(), list.end(), [&](const Value& e) { return valuesEqual(a[0], e); }));
  }, kAnyNumber | kSizeCost);
  add(env, op::kIn, {kA, Type::map(kA, kB)}, kBool,
      [](Args a) { return Value::ofBool(a[1].mapValue().find(a[0]) != nullptr); }, kAnyNumber);

  FunctionImpl size = [](Args a) {
    switch (a[0].kind()) {
      case ValueKind::kString: return Value::ofInt(utf8Length(a[0].stringValue()));
      case ValueKind::kBytes: return Value::ofInt(static_cast<int64_t>(a[0].stringValue().size()));
      case ValueKind::kList: return Value::ofInt(static_cast<int64_t>(a[0].listValue().size()));
      default: return Value::ofInt(static_cast<int64_t>(a[0].mapValue().size()));
    }
  };
  for (const Type& t : {kString, kBytes, Type::list(kA), Type::map(kA, kB)}) {
    add(env, "size", {t}, kInt, size);
    add(env, "size", {t}, kInt, size, kReceiver);
  }
}

// ---- strings -------------------------------------------------------------

void addStrings(Env& env) {
  add(env, "contains", {kString, kString}, kBool,
      [](Args a) { return Value::ofBool(a[0].stringValue().find(a[1].stringValue()) != std::string_view::npos); },
      kReceiver | kSizeCost);
  add(env, "startsWith", {kString, kString}, kBool,
      [](Args a) { return Value::ofBool(a[0].stringValue().starts_with(a[1].stringValue())); }, kReceiver | kSizeCost);
  add(env, "endsWith", {kString, kString}, kBool,
      [](Args a) { return Value::ofBool(a[0].stringValue().ends_with(a[1].stringValue())); }, kReceiver | kSizeCost);
  // Patterns that are constants are compiled once by the compiler; this
  // path serves patterns computed at runtime.
  FunctionImpl matches = [](Args a) {
    auto re = compileRegex(a[1].stringValue());
    if (!re) return errorValue(re.status());
    std::string_view text = a[0].stringValue();
    return Value::ofBool(RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), **re));
  };
  add(env, "matches", {kString, kString}, kBool, matches, kSizeCost);
  add(env, "matches", {kString, kString}, kBool, matches, kReceiver | kSizeCost);
}

// ---- conversions ---------------------------------------------------------

Value rangeError(const Value& v, std::string_view target) {
  return Value::error("range error: " + describe(v) + " is out of the range of " + std::string(target));
}

Value cannotConvert(const Value& v, std::string_view target) {
  return Value::error("cannot convert " + describe(v) + " to " + std::string(target));
}

// Parses all of `s` as a number (Go's strconv accepts a leading '+').
template <typename T>
std::optional<T> parseNumber(std::string_view s, bool* out_of_range) {
  *out_of_range = false;
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) *out_of_range = true;
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

template <typename T>
Value convertString(const Value& v, std::string_view target, Value (*make)(T)) {
  bool out_of_range;
  auto n = parseNumber<T>(v.stringValue(), &out_of_range);
  if (n) return make(*n);
  return out_of_range ? rangeError(v, target) : cannotConvert(v, target);
}

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

Value toInt(Args a) {
  const Value& v = a[0];
  switch (v.kind()) {
    case ValueKind::kUint:
      if (v.uintValue() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return rangeError(v, "int");
      return Value::ofInt(static_cast<int64_t>(v.uintValue()));
    case ValueKind::kDouble: {
      // Bounds as cel-go: -2^63 itself is out (it is where int64 rounding
      // starts to lie), NaN and infinities too. The cast truncates toward zero.
      double d = v.doubleValue();
      if (!(d > -kTwoTo63 && d < kTwoTo63)) return rangeError(v, "int");
      return Value::ofInt(static_cast<int64_t>(d));
    }
    case ValueKind::kString: return convertString<int64_t>(v, "int", Value::ofInt);
    case ValueKind::kTimestamp: return Value::ofInt(v.timestampValue().seconds);
    default: return v;
  }
}

Value toUint(Args a) {
  const Value& v = a[0];
  switch (v.kind()) {
    case ValueKind::kInt:
      if (v.intValue() < 0) return rangeError(v, "uint");
      return Value::ofUint(static_cast<uint64_t>(v.intValue()));
    case ValueKind::kDouble: {
      double d = v.doubleValue();
      if (!(d >= 0 && d < kTwoTo64)) return rangeError(v, "uint");
      return Value::ofUint(static_cast<uint64_t>(d));
    }
    case ValueKind::kString:
      if (v.stringValue().starts_with('-')) return cannotConvert(v, "uint");
      return convertString<uint64_t>(v, "uint", Value::ofUint);
    default: return v;
  }
}

Value toDouble(Args a) {
  const Value& v = a[0];
  switch (v.kind()) {
    case ValueKind::kInt: return Value::ofDouble(static_cast<double>(v.intValue()));
    case ValueKind::kUint: return Value::ofDouble(static_cast<double>(v.uintValue()));
    case ValueKind::kString: {
      bool out_of_range;
      auto d = parseNumber<double>(v.stringValue(), &out_of_range);
      return d ? Value::ofDouble(*d) : cannotConvert(v, "double");
    }
    default: return v;
  }
}

Value toString(Args a) {
  const Value& v = a[0];
  switch (v.kind()) {
    case ValueKind::kInt: return Value::ownedString(std::to_string(v.intValue()));
    case ValueKind::kUint: return Value::ownedString(std::to_string(v.uintValue()));
    case ValueKind::kDouble: return Value::ownedString(formatDouble(v.doubleValue()));
    case ValueKind::kBool: return Value::stringView(v.boolValue() ? "true" : "false");
    case ValueKind::kBytes:
      if (!isValidUtf8(v.stringValue())) return Value::error("cannot convert bytes to string: invalid UTF-8");
      return Value::ownedString(std::string(v.stringValue()));
    case ValueKind::kTimestamp: return Value::ownedString(formatTimestamp(v.timestampValue()));
    case ValueKind::kDuration: return Value::ownedString(formatDuration(v.durationValue()));
    default: return v;
  }
}

Value toBytes(Args a) {
  if (a[0].kind() == ValueKind::kString) return Value::ownedBytes(std::string(a[0].stringValue()));
  return a[0];
}

Value toBool(Args a) {
  const Value& v = a[0];
  if (v.kind() != ValueKind::kString) return v;
  // The spellings Go's strconv.ParseBool accepts, as cel-go does.
  static constexpr std::string_view kTrue[] = {"1", "t", "T", "true", "TRUE", "True"};
  static constexpr std::string_view kFalse[] = {"0", "f", "F", "false", "FALSE", "False"};
  std::string_view s = v.stringValue();
  if (std::find(std::begin(kTrue), std::end(kTrue), s) != std::end(kTrue)) return Value::ofBool(true);
  if (std::find(std::begin(kFalse), std::end(kFalse), s) != std::end(kFalse)) return Value::ofBool(false);
  return cannotConvert(v, "bool");
}

Value toDuration(Args a) {
  if (a[0].kind() != ValueKind::kString) return a[0];
  return fromResult(parseDuration(a[0].stringValue()), Value::ofDuration);
}

Value toTimestamp(Args a) {
  switch (a[0].kind()) {
    case ValueKind::kString: return fromResult(parseTimestamp(a[0].stringValue()), Value::ofTimestamp);
    case ValueKind::kInt: return fromResult(timestampFromUnixSeconds(a[0].intValue()), Value::ofTimestamp);
    default: return a[0];
  }
}

void addConversions(Env& env) {
  struct Conversion {
    const char* name;
    Type result;
    FunctionImpl impl;
    std::vector<Type> from;
  };
  const Conversion conversions[] = {
      {"int", kInt, toInt, {kInt, kUint, kDouble, kString, kTimestamp}},
      {"uint", kUint, toUint, {kInt, kUint, kDouble, kString}},
      {"double", kDouble, toDouble, {kInt, kUint, kDouble, kString}},
      {"string", kString, toString, {kInt, kUint, kDouble, kString, kBytes, kBool, kTimestamp, kDuration}},
      {"bytes", kBytes, toBytes, {kBytes, kString}},
      {"bool", kBool, toBool, {kBool, kString}},
      {"duration", kDuration, toDuration, {kDuration, kString}},
      {"timestamp", kTimestamp, toTimestamp, {kTimestamp, kString, kInt}},
  };
  for (const Conversion& c : conversions) {
    for (const Type& from : c.from) add(env, c.name, {from}, c.result, c.impl);
  }
  add(env, "dyn", {kA}, Type::dyn(), [](Args a) { return a[0]; });
  add(env, "type", {kA}, Type::typeOf(kA), [](Args a) { return Value::ofType(a[0].runtimeType()); });
}

// ---- time accessors ------------------------------------------------------

enum class TimeField {
  kFullYear,
  kMonth,
  kDayOfYear,
  kDayOfMonth,
  kDate,
  kDayOfWeek,
  kHours,
  kMinutes,
  kSeconds,
  kMilliseconds,
};

// Hours, minutes and seconds of a duration are totals (90 minutes has
// getHours() 1 and getMinutes() 90); milliseconds are the 0-999 part below
// the second (langdef: "milliseconds from duration, 0-999").
Value durationField(TimeField field, Duration d) {
  constexpr int64_t kMilli = 1'000'000, kSecond = 1'000 * kMilli, kMinute = 60 * kSecond, kHour = 60 * kMinute;
  switch (field) {
    case TimeField::kHours: return Value::ofInt(d.nanos / kHour);
    case TimeField::kMinutes: return Value::ofInt(d.nanos / kMinute);
    case TimeField::kSeconds: return Value::ofInt(d.nanos / kSecond);
    default: return Value::ofInt(d.nanos % kSecond / kMilli);
  }
}

Value timestampField(TimeField field, Args a) {
  absl::TimeZone tz = absl::UTCTimeZone();
  if (a.size() == 2) {
    auto loaded = loadTimeZone(a[1].stringValue());
    if (!loaded) return errorValue(loaded.status());
    tz = *loaded;
  }
  Timestamp t = a[0].timestampValue();
  absl::CivilSecond c = absl::ToCivilSecond(toAbslTime(t), tz);
  absl::CivilDay day(c);
  switch (field) {
    case TimeField::kFullYear: return Value::ofInt(c.year());
    case TimeField::kMonth: return Value::ofInt(c.month() - 1);
    case TimeField::kDayOfYear: return Value::ofInt(absl::GetYearDay(day) - 1);
    case TimeField::kDayOfMonth: return Value::ofInt(c.day() - 1);
    case TimeField::kDate: return Value::ofInt(c.day());
    // absl counts from Monday = 0; CEL from Sunday = 0.
    case TimeField::kDayOfWeek: return Value::ofInt((static_cast<int>(absl::GetWeekday(day)) + 1) % 7);
    case TimeField::kHours: return Value::ofInt(c.hour());
    case TimeField::kMinutes: return Value::ofInt(c.minute());
    case TimeField::kSeconds: return Value::ofInt(c.second());
    case TimeField::kMilliseconds: return Value::ofInt(t.nanos / 1'000'000);
  }
  return Value::error("unknown time field");
}

void addTimeAccessors(Env& env) {
  static constexpr std::pair<const char*, TimeField> kFields[] = {
      {"getFullYear", TimeField::kFullYear},     {"getMonth", TimeField::kMonth},
      {"getDayOfYear", TimeField::kDayOfYear},   {"getDayOfMonth", TimeField::kDayOfMonth},
      {"getDate", TimeField::kDate},             {"getDayOfWeek", TimeField::kDayOfWeek},
      {"getHours", TimeField::kHours},           {"getMinutes", TimeField::kMinutes},
      {"getSeconds", TimeField::kSeconds},       {"getMilliseconds", TimeField::kMilliseconds},
  };
  for (auto [name, field] : kFields) {
    FunctionImpl impl = [field = field](Args a) { return timestampField(field, a); };
    add(env, name, {kTimestamp}, kInt, impl, kReceiver);
    add(env, name, {kTimestamp, kString}, kInt, impl, kReceiver);
    if (field >= TimeField::kHours) {
      add(env, name, {kDuration}, kInt, [field = field](Args a) { return durationField(field, a[0].durationValue()); },
          kReceiver);
    }
  }
}

}  // namespace

void addStandardLibrary(Env& env) {
  addArithmetic(env);
  addComparisons(env);
  addContainers(env);
  addStrings(env);
  addConversions(env);
  addTimeAccessors(env);
}

Result<std::shared_ptr<const RE2>> compileRegex(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return Status(ErrorCode::kInvalidArgument, "invalid regex '" + std::string(pattern) + "': " + re->error());
  }
  return re;
}

std::string formatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, end);
}

}  // namespace storepulse::cel
