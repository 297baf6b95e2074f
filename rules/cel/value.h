#pragma once
// CEL runtime values. A Value is 40 bytes and never allocates for null,
// bool, int, uint, double, duration, timestamp, type and error-free views:
// strings, bytes, lists, maps and host objects are held either as a view of
// data someone else owns (the Program's constants, the host's event) or,
// when a function computed them, with shared ownership. Copying a Value is a
// pointer copy plus, for owned data, a reference-count increment.
//
// Lifetime rule: a Value returned by Program::evaluate may view the
// Program's constants and the data bound in the Activation; it stays valid
// while both do.

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace storepulse::cel {

class ListValue;
class MapValue;
class ObjectValue;
class ObjectType;

enum class ValueKind : uint8_t {
  kNull,
  kBool,
  kInt,
  kUint,
  kDouble,
  kString,
  kBytes,
  kDuration,
  kTimestamp,
  kList,
  kMap,
  kType,
  kObject,
  kError,
};

// The name of the kind as in `storepulse expr eval` output: "int",
// "duration", "timestamp", "type", ... (objects: "object").
std::string_view kindName(ValueKind kind);

// google.protobuf.Duration as CEL evaluates it: signed nanoseconds, about
// +-292 years (the range cel-go supports; overflow is a range error).
struct Duration {
  int64_t nanos;
  friend auto operator<=>(const Duration&, const Duration&) = default;
};

// google.protobuf.Timestamp: seconds since the Unix epoch and nanoseconds
// in [0, 1e9). Valid range 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
struct Timestamp {
  int64_t seconds;
  int32_t nanos;
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

// A type as a value: what type(x) returns and what `int`, `string`,
// `google.protobuf.Duration` or a declared object type name denote.
struct RuntimeType {
  ValueKind kind;
  const ObjectType* object;  // for kObject: which object type; else null
  // The CEL name: "int", "list", "null_type", "type", "duration",
  // "timestamp" (cel-spec spells these google.protobuf.Duration and
  // google.protobuf.Timestamp; both spellings denote the type), or the
  // object type's name.
  std::string_view name() const;
  friend bool operator==(const RuntimeType&, const RuntimeType&) = default;
};

class Value {
 public:
  Value() { rep_.i = 0; }  // null

  // Inline: these run for every comparison and field read.
  static Value null() { return Value(); }
  static Value ofBool(bool v) { return make(ValueKind::kBool, &Rep::b, v); }
  static Value ofInt(int64_t v) { return make(ValueKind::kInt, &Rep::i, v); }
  static Value ofUint(uint64_t v) { return make(ValueKind::kUint, &Rep::u, v); }
  static Value ofDouble(double v) { return make(ValueKind::kDouble, &Rep::d, v); }
  static Value ofDuration(Duration v) { return make(ValueKind::kDuration, &Rep::duration, v); }
  static Value ofTimestamp(Timestamp v) { return make(ValueKind::kTimestamp, &Rep::timestamp, v); }
  static Value ofType(RuntimeType v) { return make(ValueKind::kType, &Rep::type, v); }

  // Strings must be valid UTF-8. A view does not own its characters.
  static Value stringView(std::string_view s) { return make(ValueKind::kString, &Rep::str, {s.data(), s.size()}); }
  static Value ownedString(std::string s);
  static Value bytesView(std::string_view b) { return make(ValueKind::kBytes, &Rep::str, {b.data(), b.size()}); }
  static Value ownedBytes(std::string b);

  static Value ofList(std::shared_ptr<const ListValue> list);
  static Value listView(const ListValue& list) { return make(ValueKind::kList, &Rep::list, &list); }
  static Value ofMap(std::shared_ptr<const MapValue> map);
  static Value mapView(const MapValue& map) { return make(ValueKind::kMap, &Rep::map, &map); }
  // Host objects are always views: the host keeps them alive for the
  // evaluation.
  static Value objectView(const ObjectValue& object) { return make(ValueKind::kObject, &Rep::object, &object); }

  // An evaluation error (CEL has errors as values: `false && error` is
  // false). Allocates the message; errors are not the common path.
  static Value error(std::string message);

  ValueKind kind() const { return kind_; }
  bool isError() const { return kind_ == ValueKind::kError; }

  // Accessors; calling one for another kind is a programming error.
  bool boolValue() const { return rep_.b; }
  int64_t intValue() const { return rep_.i; }
  uint64_t uintValue() const { return rep_.u; }
  double doubleValue() const { return rep_.d; }
  Duration durationValue() const { return rep_.duration; }
  Timestamp timestampValue() const { return rep_.timestamp; }
  RuntimeType typeValue() const { return rep_.type; }
  // For kString and kBytes.
  std::string_view stringValue() const { return {rep_.str.data, rep_.str.size}; }
  const ListValue& listValue() const { return *rep_.list; }
  const MapValue& mapValue() const { return *rep_.map; }
  const ObjectValue& objectValue() const { return *rep_.object; }
  const std::string& errorMessage() const { return *rep_.error; }

  // The same value without shared ownership of its data: for handing out
  // constants without touching their reference counts.
  Value view() const;

  // The runtime type, as type(x) returns it.
  RuntimeType runtimeType() const;

 private:
  struct StringRep {
    const char* data;
    size_t size;
  };
  union Rep {
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    Duration duration;
    Timestamp timestamp;
    RuntimeType type;
    StringRep str;
    const ListValue* list;
    const MapValue* map;
    const ObjectValue* object;
    const std::string* error;
  };

  // A value whose `member` of the representation is `v`, owning nothing
  // unless `owner` is given.
  template <typename T>
  static Value make(ValueKind kind, T Rep::*member, T v, std::shared_ptr<const void> owner = nullptr) {
    Rep r;
    r.*member = v;
    return Value(kind, r, std::move(owner));
  }

  Value(ValueKind kind, Rep rep, std::shared_ptr<const void> owner)
      : kind_(kind), rep_(rep), owner_(std::move(owner)) {}

  ValueKind kind_ = ValueKind::kNull;
  Rep rep_;
  std::shared_ptr<const void> owner_;  // null for scalars and views
};

// An immutable list.
class ListValue {
 public:
  explicit ListValue(std::vector<Value> elements) : elements_(std::move(elements)) {}
  size_t size() const { return elements_.size(); }
  const Value& operator[](size_t i) const { return elements_[i]; }
  auto begin() const { return elements_.begin(); }
  auto end() const { return elements_.end(); }

 private:
  std::vector<Value> elements_;
};

// An immutable map with keys of kind bool, int, uint or string. Keys follow
// CEL's heterogeneous numeric equality: 1, 1u and 1.0 find the same entry.
// Entries keep their insertion order (for output only; CEL maps are
// unordered).
class MapValue {
 public:
  using Entry = std::pair<Value, Value>;

  // A map value, or an error value for a key of another kind or a repeated
  // key ("duplicate map key").
  static Value make(std::vector<Entry> entries);

  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }
  // The value under `key`, or null when absent (including keys of kinds a
  // map cannot hold).
  const Value* find(const Value& key) const;

  // Normalised key: numeric keys that are equal compare equal.
  struct Key {
    uint8_t tag;  // 0 bool, 1 non-negative number, 2 negative int, 3 string
    uint64_t bits;
    std::string_view str;
    friend auto operator<=>(const Key&, const Key&) = default;
  };

 private:
  std::vector<Entry> entries_;
  std::vector<std::pair<Key, size_t>> sorted_index_;  // by (tag, bits, str)
};

// CEL equality (heterogeneous: 1 == 1.0 == 1u, values of different kinds
// are unequal, NaN equals nothing, lists and maps element-wise).
bool valuesEqual(const Value& a, const Value& b);

// CEL ordering: -1, 0, 1, or nullopt when unordered (NaN) or not comparable
// (different non-numeric kinds, lists, maps...). `comparable` reports which.
std::optional<int> compareValues(const Value& a, const Value& b, bool* comparable);

// Number of Unicode code points in valid UTF-8.
int64_t utf8Length(std::string_view s);
bool isValidUtf8(std::string_view s);

}  // namespace storepulse::cel
