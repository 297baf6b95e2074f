#include "engine/event/event_decoder.h"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "engine/core/time.h"

namespace storepulse {

std::string_view invalidReasonName(InvalidReason reason) {
  switch (reason) {
    case InvalidReason::kInvalidJson: return "invalid_json";
    case InvalidReason::kNotAnObject: return "not_an_object";
    case InvalidReason::kMissingField: return "missing_field";
    case InvalidReason::kWrongType: return "wrong_type";
    case InvalidReason::kInvalidValue: return "invalid_value";
    case InvalidReason::kDuplicateField: return "duplicate_field";
    case InvalidReason::kOversized: return "oversized";
    case InvalidReason::kUnknownType: return "unknown_type";
    case InvalidReason::kTypeMismatch: return "type_mismatch";
  }
  return "unknown";
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Years 1970..9999: anything else is a unit mistake (seconds vs ms) or junk.
constexpr int64_t kMaxTsMs = 253402300799999;

// Fields the decoder knows. Each has a bit so duplicates can be detected.
enum Field : uint32_t {
  kType, kTs, kCustomerId, kSku, kStoreId, kOrderId, kChannel, kSessionId, kGuideId,
  kCategory, kPrice, kItems, kTotal, kAvailable, kName, kTier, kHomeStore, kTags,
  kLat, kLon, kTimezone, kDailyTarget, kManagerId, kFieldCount
};

struct FieldName {
  std::string_view name;
  Field field;
};
constexpr FieldName kFieldNames[] = {
    {"type", kType}, {"ts", kTs}, {"customer_id", kCustomerId}, {"sku", kSku},
    {"store_id", kStoreId}, {"order_id", kOrderId}, {"channel", kChannel},
    {"session_id", kSessionId}, {"guide_id", kGuideId}, {"category", kCategory},
    {"price", kPrice}, {"items", kItems}, {"total", kTotal}, {"available", kAvailable},
    {"name", kName}, {"tier", kTier}, {"home_store", kHomeStore}, {"tags", kTags},
    {"lat", kLat}, {"lon", kLon}, {"timezone", kTimezone}, {"daily_target", kDailyTarget},
    {"manager_id", kManagerId},
};

std::optional<Field> lookupField(std::string_view key) {
  for (const auto& f : kFieldNames) {
    if (f.name == key) return f.field;
  }
  return std::nullopt;
}

std::string_view fieldName(Field f) { return kFieldNames[f].name; }

constexpr uint32_t bit(Field f) { return 1u << f; }

// Required fields per type (SPEC.md "Events (input)"), and the fields that
// type reads; other known fields on that type are ignored like any extra.
struct Schema {
  uint32_t required;
  uint32_t known;
};

Schema schemaFor(EventType type) {
  switch (type) {
    case EventType::kClick:
      return {bit(kCustomerId) | bit(kSku) | bit(kTs),
              bit(kChannel) | bit(kSessionId) | bit(kCategory) | bit(kPrice)};
    case EventType::kScan:
      return {bit(kCustomerId) | bit(kTs) | bit(kStoreId),
              bit(kSku) | bit(kGuideId) | bit(kCategory) | bit(kPrice)};
    case EventType::kPurchase:
      return {bit(kOrderId) | bit(kCustomerId) | bit(kTs) | bit(kItems),
              bit(kStoreId) | bit(kChannel) | bit(kGuideId) | bit(kTotal)};
    case EventType::kInventory:
      return {bit(kSku) | bit(kStoreId) | bit(kAvailable) | bit(kTs), 0};
    case EventType::kCustomer:
      return {bit(kCustomerId) | bit(kTs),
              bit(kName) | bit(kTier) | bit(kGuideId) | bit(kHomeStore) | bit(kTags)};
    case EventType::kStore:
      return {bit(kStoreId), bit(kName) | bit(kLat) | bit(kLon) | bit(kTimezone) |
                                 bit(kDailyTarget) | bit(kManagerId) | bit(kTs)};
  }
  return {0, 0};
}

// Names the value being read — "field 'qty' of items[2]" — formatted only
// when the value is rejected: building it for every field showed in profiles.
struct What {
  std::string_view field;
  int64_t item = -1;  // index into `items`, or -1
  bool every_entry = false;  // an entry of a list field
  std::string str() const {
    std::string s = every_entry ? "every entry of field '" : "field '";
    s.append(field).append("'");
    if (item >= 0) s.append(" of items[").append(std::to_string(item)).append("]");
    return s;
  }
};

std::string itemWhere(int64_t index) { return "items[" + std::to_string(index) + "]"; }

class Reader {
 public:
  Reader(const DecoderOptions& options, std::optional<Rejection>& rejection)
      : options_(options), rejection_(rejection) {}

  bool fail(InvalidReason reason, std::string detail) {
    rejection_ = Rejection{reason, std::move(detail)};
    return false;
  }

  bool string(element value, const What& what, std::string& out, bool id) {
    std::string_view s;
    if (value.get_string().get(s) != simdjson::SUCCESS) {
      return fail(InvalidReason::kWrongType, what.str() + " must be a string");
    }
    if (id && s.empty()) return fail(InvalidReason::kInvalidValue, what.str() + " must not be empty");
    if (s.size() > options_.max_id_length) {
      return fail(InvalidReason::kInvalidValue,
                  what.str() + " is longer than " + std::to_string(options_.max_id_length) + " bytes");
    }
    out.assign(s);
    return true;
  }

  bool optString(element value, const What& what, std::optional<std::string>& out) {
    out.emplace();
    return string(value, what, *out, false);
  }

  bool number(element value, const What& what, double& out) {
    switch (value.type()) {
      case element_type::INT64: out = static_cast<double>(value.get_int64().value_unsafe()); break;
      case element_type::UINT64: out = static_cast<double>(value.get_uint64().value_unsafe()); break;
      case element_type::DOUBLE: out = value.get_double().value_unsafe(); break;
      default: return fail(InvalidReason::kWrongType, what.str() + " must be a number");
    }
    if (!std::isfinite(out)) return fail(InvalidReason::kInvalidValue, what.str() + " must be finite");
    return true;
  }

  bool nonNegative(element value, const What& what, double& out) {
    if (!number(value, what, out)) return false;
    if (out < 0) return fail(InvalidReason::kInvalidValue, what.str() + " must not be negative");
    return true;
  }

  bool integer(element value, const What& what, int64_t& out) {
    if (value.type() != element_type::INT64) {
      if (value.type() == element_type::UINT64) {
        return fail(InvalidReason::kInvalidValue, what.str() + " is out of range");
      }
      return fail(InvalidReason::kWrongType, what.str() + " must be an integer");
    }
    out = value.get_int64().value_unsafe();
    return true;
  }

  bool timestamp(element value, int64_t& out) {
    if (value.type() == element_type::STRING) {
      auto parsed = parseRfc3339Millis(value.get_string().value_unsafe());
      if (!parsed) {
        return fail(InvalidReason::kInvalidValue,
                    "field 'ts' must be epoch milliseconds or an RFC 3339 timestamp");
      }
      out = *parsed;
    } else if (value.type() == element_type::INT64) {
      out = value.get_int64().value_unsafe();
    } else {
      return fail(InvalidReason::kWrongType,
                  "field 'ts' must be an integer (epoch ms) or an RFC 3339 string");
    }
    if (out < 0 || out > kMaxTsMs) {
      return fail(InvalidReason::kInvalidValue, "field 'ts' is outside years 1970..9999");
    }
    return true;
  }

  bool items(element value, std::vector<LineItem>& out, double& sum) {
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      return fail(InvalidReason::kWrongType, "field 'items' must be an array");
    }
    if (array.size() == 0) return fail(InvalidReason::kInvalidValue, "field 'items' must not be empty");
    if (array.size() > options_.max_items) {
      return fail(InvalidReason::kInvalidValue,
                  "field 'items' has more than " + std::to_string(options_.max_items) + " entries");
    }
    size_t index = 0;
    for (element entry : array) {
      const auto i = static_cast<int64_t>(index++);
      simdjson::dom::object object;
      if (entry.get_object().get(object) != simdjson::SUCCESS) {
        return fail(InvalidReason::kWrongType, itemWhere(i) + " must be an object");
      }
      LineItem& item = out.emplace_back();
      bool has_sku = false, has_qty = false, has_price = false;
      for (auto [key, field] : object) {
        if (field.is_null()) continue;
        if (key == "sku") {
          has_sku = true;
          if (!string(field, What{"sku", i}, item.sku, true)) return false;
        } else if (key == "qty") {
          has_qty = true;
          if (!integer(field, What{"qty", i}, item.qty)) return false;
          if (item.qty <= 0) {
            return fail(InvalidReason::kInvalidValue, What{"qty", i}.str() + " must be > 0");
          }
        } else if (key == "price") {
          has_price = true;
          if (!nonNegative(field, What{"price", i}, item.price)) return false;
        } else if (key == "category") {
          if (!string(field, What{"category", i}, item.category, false)) return false;
        }
      }
      if (!has_sku) return fail(InvalidReason::kMissingField, "required " + What{"sku", i}.str() + " is missing");
      if (!has_qty) return fail(InvalidReason::kMissingField, "required " + What{"qty", i}.str() + " is missing");
      if (!has_price) {
        return fail(InvalidReason::kMissingField, "required " + What{"price", i}.str() + " is missing");
      }
      sum += static_cast<double>(item.qty) * item.price;
    }
    return true;
  }

  bool tags(element value, std::optional<std::vector<std::string>>& out) {
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      return fail(InvalidReason::kWrongType, "field 'tags' must be an array of strings");
    }
    out.emplace();
    for (element entry : array) {
      if (!string(entry, What{"tags", -1, true}, out->emplace_back(), true)) return false;
    }
    return true;
  }

  bool coordinate(element value, const What& what, double limit, std::optional<double>& out) {
    double v;
    if (!number(value, what, v)) return false;
    if (std::fabs(v) > limit) return fail(InvalidReason::kInvalidValue, what.str() + " is out of range");
    out = v;
    return true;
  }

 private:
  const DecoderOptions& options_;
  std::optional<Rejection>& rejection_;
};

std::string quoted(Field f) { return "field '" + std::string(fieldName(f)) + "'"; }

}  // namespace

struct EventDecoder::Impl {
  DecoderOptions options;
  simdjson::dom::parser parser;
  std::string padded;  // message bytes plus simdjson's required padding
};

EventDecoder::EventDecoder(DecoderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  // On failure the parser allocates lazily at the first parse instead.
  if (impl_->parser.allocate(options.max_message_bytes + 64, options.max_depth) != simdjson::SUCCESS) {
    impl_->parser = simdjson::dom::parser();
  }
}

EventDecoder::~EventDecoder() = default;

std::optional<Rejection> EventDecoder::decode(EventType type, std::string_view bytes, Event& out) {
  const DecoderOptions& options = impl_->options;
  out.clear();
  out.type = type;
  if (bytes.size() > options.max_message_bytes) {
    return Rejection{InvalidReason::kOversized, "message of " + std::to_string(bytes.size()) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(options.max_message_bytes)};
  }
  impl_->padded.assign(bytes);
  impl_->padded.resize(bytes.size() + simdjson::SIMDJSON_PADDING);
  element root;
  auto error = impl_->parser.parse(impl_->padded.data(), bytes.size(), false).get(root);
  if (error != simdjson::SUCCESS) {
    return Rejection{InvalidReason::kInvalidJson, std::string("not valid JSON: ") + simdjson::error_message(error)};
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return Rejection{InvalidReason::kNotAnObject, "an event must be a JSON object"};
  }

  std::optional<Rejection> rejection;
  Reader r(options, rejection);
  const Schema schema = schemaFor(type);
  uint32_t seen = 0;   // present and not null
  uint32_t given = 0;  // present, null or not: a duplicate either way
  double items_sum = 0;
  bool has_total = false;
  for (auto [key, value] : object) {
    auto field = lookupField(key);
    if (!field) continue;  // extra fields are allowed; rules may read them
    if (given & bit(*field)) {
      return Rejection{InvalidReason::kDuplicateField, quoted(*field) + " appears more than once"};
    }
    given |= bit(*field);
    if (value.is_null()) continue;  // null is the same as absent
    seen |= bit(*field);
    if (*field == kType) {
      std::string_view name;
      if (value.get_string().get(name) != simdjson::SUCCESS) {
        return Rejection{InvalidReason::kWrongType, "field 'type' must be a string"};
      }
      auto named = parseEventType(name);
      if (!named) return Rejection{InvalidReason::kUnknownType, "unknown event type '" + std::string(name) + "'"};
      if (*named != type) {
        return Rejection{InvalidReason::kTypeMismatch,
                         "a '" + std::string(name) + "' event on a topic of '" +
                             std::string(eventTypeName(type)) + "' events"};
      }
      continue;
    }
    if (!((schema.required | schema.known) & bit(*field))) continue;
    const What what{fieldName(*field)};
    bool ok = true;
    switch (*field) {
      case kTs: ok = r.timestamp(value, out.ts_ms); break;
      case kCustomerId: ok = r.string(value, what, out.customer_id, true); break;
      case kSku: ok = r.string(value, what, out.sku, true); break;
      case kStoreId: ok = r.string(value, what, out.store_id, true); break;
      case kOrderId: ok = r.string(value, what, out.order_id, true); break;
      case kChannel: ok = r.string(value, what, out.channel, false); break;
      case kSessionId: ok = r.string(value, what, out.session_id, false); break;
      case kGuideId:
        ok = r.string(value, what, out.guide_id, false);
        out.has_guide_id = true;
        break;
      case kCategory: ok = r.string(value, what, out.category, false); break;
      case kPrice: {
        double v;
        ok = r.nonNegative(value, what, v);
        out.price = v;
        break;
      }
      case kItems: ok = r.items(value, out.items, items_sum); break;
      case kTotal:
        ok = r.nonNegative(value, what, out.total);
        has_total = true;
        break;
      case kAvailable: ok = r.integer(value, what, out.available); break;
      case kName: ok = r.optString(value, what, out.name); break;
      case kTier: ok = r.optString(value, what, out.tier); break;
      case kHomeStore: ok = r.optString(value, what, out.home_store); break;
      case kTags: ok = r.tags(value, out.tags); break;
      case kLat: ok = r.coordinate(value, what, 90, out.lat); break;
      case kLon: ok = r.coordinate(value, what, 180, out.lon); break;
      case kTimezone: ok = r.optString(value, what, out.timezone); break;
      case kDailyTarget: {
        double v;
        ok = r.nonNegative(value, what, v);
        out.daily_target = v;
        break;
      }
      case kManagerId: ok = r.optString(value, what, out.manager_id); break;
      case kType:
      case kFieldCount: break;
    }
    if (!ok) return rejection;
  }
  const uint32_t missing = schema.required & ~seen;
  if (missing != 0) {
    for (uint32_t f = 0; f < kFieldCount; ++f) {
      if (missing & (1u << f)) {
        return Rejection{InvalidReason::kMissingField,
                         "required " + quoted(static_cast<Field>(f)) + " of " +
                             std::string(eventTypeName(type)) + " events is missing"};
      }
    }
  }
  if (type == EventType::kPurchase && !has_total) out.total = items_sum;
  return std::nullopt;
}

}  // namespace storepulse
