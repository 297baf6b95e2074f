#include "rules/cel/value.h"

#include <algorithm>
#include <cmath>

#include "rules/cel/object.h"

namespace storepulse::cel {

std::string_view kindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull: return "null";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kUint: return "uint";
    case ValueKind::kDouble: return "double";
    case ValueKind::kString: return "string";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kDuration: return "duration";
    case ValueKind::kTimestamp: return "timestamp";
    case ValueKind::kList: return "list";
    case ValueKind::kMap: return "map";
    case ValueKind::kType: return "type";
    case ValueKind::kObject: return "object";
    case ValueKind::kError: return "error";
  }
  return "unknown";
}

std::string_view RuntimeType::name() const {
  switch (kind) {
    case ValueKind::kNull: return "null_type";
    case ValueKind::kObject: return object->name();
    default: return kindName(kind);
  }
}

Value Value::ownedString(std::string s) {
  auto owned = std::make_shared<const std::string>(std::move(s));
  return make(ValueKind::kString, &Rep::str, {owned->data(), owned->size()}, owned);
}

Value Value::ownedBytes(std::string b) {
  auto owned = std::make_shared<const std::string>(std::move(b));
  return make(ValueKind::kBytes, &Rep::str, {owned->data(), owned->size()}, owned);
}

Value Value::ofList(std::shared_ptr<const ListValue> list) {
  const ListValue* p = list.get();
  return make(ValueKind::kList, &Rep::list, p, std::move(list));
}

Value Value::ofMap(std::shared_ptr<const MapValue> map) {
  const MapValue* p = map.get();
  return make(ValueKind::kMap, &Rep::map, p, std::move(map));
}

Value Value::error(std::string message) {
  auto owned = std::make_shared<const std::string>(std::move(message));
  const std::string* p = owned.get();
  return make(ValueKind::kError, &Rep::error, p, std::move(owned));
}

Value Value::view() const { return Value(kind_, rep_, nullptr); }

RuntimeType Value::runtimeType() const {
  return {kind_, kind_ == ValueKind::kObject ? &rep_.object->objectType() : nullptr};
}

// ---- maps ----------------------------------------------------------------

namespace {

// `allow_double`: lookups accept an integral double (CEL's numeric key
// equality); map construction does not accept double keys at all.
std::optional<MapValue::Key> normaliseKey(const Value& v, bool allow_double) {
  switch (v.kind()) {
    case ValueKind::kBool: return MapValue::Key{0, v.boolValue() ? 1u : 0u, {}};
    case ValueKind::kUint: return MapValue::Key{1, v.uintValue(), {}};
    case ValueKind::kInt:
      if (v.intValue() >= 0) return MapValue::Key{1, static_cast<uint64_t>(v.intValue()), {}};
      return MapValue::Key{2, static_cast<uint64_t>(v.intValue()), {}};
    case ValueKind::kString: return MapValue::Key{3, 0, v.stringValue()};
    case ValueKind::kDouble: {
      double d = v.doubleValue();
      if (!allow_double || d != std::trunc(d)) return std::nullopt;
      if (d >= 0 && d < 18446744073709551616.0) return MapValue::Key{1, static_cast<uint64_t>(d), {}};
      if (d < 0 && d >= -9223372036854775808.0) {
        return MapValue::Key{2, static_cast<uint64_t>(static_cast<int64_t>(d)), {}};
      }
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

std::string describeKey(const Value& key) {
  switch (key.kind()) {
    case ValueKind::kBool: return key.boolValue() ? "true" : "false";
    case ValueKind::kInt: return std::to_string(key.intValue());
    case ValueKind::kUint: return std::to_string(key.uintValue()) + "u";
    default: return "'" + std::string(key.stringValue()) + "'";
  }
}

}  // namespace

Value MapValue::make(std::vector<Entry> entries) {
  auto map = std::make_shared<MapValue>();
  map->sorted_index_.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto key = normaliseKey(entries[i].first, /*allow_double=*/false);
    if (!key) {
      return Value::error("unsupported map key type: " +
                          std::string(entries[i].first.runtimeType().name()));
    }
    map->sorted_index_.emplace_back(*key, i);
  }
  std::sort(map->sorted_index_.begin(), map->sorted_index_.end());
  auto repeated = std::adjacent_find(map->sorted_index_.begin(), map->sorted_index_.end(),
                                     [](const auto& a, const auto& b) { return a.first == b.first; });
  if (repeated != map->sorted_index_.end()) {
    return Value::error("duplicate map key: " + describeKey(entries[repeated->second].first));
  }
  map->entries_ = std::move(entries);
  return Value::ofMap(std::move(map));
}

const Value* MapValue::find(const Value& key) const {
  auto k = normaliseKey(key, /*allow_double=*/true);
  if (!k) return nullptr;
  auto it = std::lower_bound(sorted_index_.begin(), sorted_index_.end(), *k,
                             [](const auto& entry, const Key& want) { return entry.first < want; });
  if (it == sorted_index_.end() || !(it->first == *k)) return nullptr;
  return &entries_[it->second].second;
}

// ---- equality and ordering -----------------------------------------------

namespace {

template <typename T>
int threeWay(T a, T b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

// Integers compare with doubles as doubles, as in cel-go and the cel-spec
// conformance tests: 9223372036854775807 is not less than 2^63 (it rounds
// to it). Doubles beyond the integer range compare without conversion.
std::optional<int> compareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return std::nullopt;
  if (d < -kTwoTo63) return 1;
  if (d > kTwoTo63) return -1;
  return threeWay(static_cast<double>(i), d);
}

std::optional<int> compareUintDouble(uint64_t u, double d) {
  if (std::isnan(d)) return std::nullopt;
  if (d < 0) return 1;
  if (d > kTwoTo64) return -1;
  return threeWay(static_cast<double>(u), d);
}

int compareIntUint(int64_t i, uint64_t u) {
  if (i < 0) return -1;
  return threeWay(static_cast<uint64_t>(i), u);
}

bool isNumeric(ValueKind k) { return k == ValueKind::kInt || k == ValueKind::kUint || k == ValueKind::kDouble; }

std::optional<int> compareNumbers(const Value& a, const Value& b) {
  auto negate = [](std::optional<int> c) { return c ? std::optional<int>(-*c) : std::nullopt; };
  switch (a.kind()) {
    case ValueKind::kInt:
      if (b.kind() == ValueKind::kInt) return threeWay(a.intValue(), b.intValue());
      if (b.kind() == ValueKind::kUint) return compareIntUint(a.intValue(), b.uintValue());
      return compareIntDouble(a.intValue(), b.doubleValue());
    case ValueKind::kUint:
      if (b.kind() == ValueKind::kUint) return threeWay(a.uintValue(), b.uintValue());
      if (b.kind() == ValueKind::kInt) return -compareIntUint(b.intValue(), a.uintValue());
      return compareUintDouble(a.uintValue(), b.doubleValue());
    default:
      if (b.kind() == ValueKind::kDouble) {
        double x = a.doubleValue(), y = b.doubleValue();
        if (std::isnan(x) || std::isnan(y)) return std::nullopt;
        return threeWay(x, y);
      }
      return negate(compareNumbers(b, a));
  }
}

bool mapsEqual(const MapValue& a, const MapValue& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a.entries()) {
    const Value* other = b.find(key);
    if (other == nullptr || !valuesEqual(value, *other)) return false;
  }
  return true;
}

bool listsEqual(const ListValue& a, const ListValue& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), valuesEqual);
}

}  // namespace

bool valuesEqual(const Value& a, const Value& b) {
  if (isNumeric(a.kind()) && isNumeric(b.kind())) return compareNumbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::kNull: return true;
    case ValueKind::kBool: return a.boolValue() == b.boolValue();
    case ValueKind::kString:
    case ValueKind::kBytes: return a.stringValue() == b.stringValue();
    case ValueKind::kDuration: return a.durationValue() == b.durationValue();
    case ValueKind::kTimestamp: return a.timestampValue() == b.timestampValue();
    case ValueKind::kType: return a.typeValue() == b.typeValue();
    case ValueKind::kObject: return &a.objectValue() == &b.objectValue();
    case ValueKind::kList: return listsEqual(a.listValue(), b.listValue());
    case ValueKind::kMap: return mapsEqual(a.mapValue(), b.mapValue());
    default: return false;
  }
}

std::optional<int> compareValues(const Value& a, const Value& b, bool* comparable) {
  *comparable = true;
  if (isNumeric(a.kind()) && isNumeric(b.kind())) return compareNumbers(a, b);
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case ValueKind::kBool: return threeWay(a.boolValue(), b.boolValue());
      // char_traits<char>::compare orders bytes as unsigned, which for UTF-8
      // is code point order.
      case ValueKind::kString:
      case ValueKind::kBytes: return threeWay(a.stringValue().compare(b.stringValue()), 0);
      case ValueKind::kDuration: return threeWay(a.durationValue(), b.durationValue());
      case ValueKind::kTimestamp: return threeWay(a.timestampValue(), b.timestampValue());
      default: break;
    }
  }
  *comparable = false;
  return std::nullopt;
}

// ---- UTF-8 ---------------------------------------------------------------

int64_t utf8Length(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace storepulse::cel
