#include "engine/alerts/alert.h"

#include <fmt/format.h>

#include "engine/core/stable_hash.h"
#include "engine/core/time.h"

namespace storepulse {

std::string alertId(std::string_view rule, const std::vector<std::string>& parts, int64_t event_ts_ms) {
  StableHash h;
  h.addPart(rule);
  for (const std::string& p : parts) h.addPart(p);
  h.addPart(std::to_string(event_ts_ms));
  return fmt::format("{:016x}", h.value());
}

namespace {

// A JSON string as nlohmann::json::dump() writes it (UTF-8 passed through,
// control characters escaped), without building a json value first: an
// alert is written once per fire, and building showed in profiles.
void appendString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.push_back(',');
  appendString(out, name);
  out.push_back(':');
  appendString(out, value);
}

}  // namespace

std::string Alert::toJson() const {
  std::string out = "{";
  appendString(out, "id");
  out.push_back(':');
  appendString(out, id);
  appendField(out, "rule", rule);
  appendField(out, "severity", severity);
  appendField(out, "title", title);
  out += ",\"recipient\":{";
  appendString(out, "kind");
  out.push_back(':');
  appendString(out, recipient_kind);
  appendField(out, "id", recipient);
  out.push_back('}');
  appendField(out, "event_ts", formatRfc3339Millis(event_ts_ms));
  appendField(out, "fired_ts", formatRfc3339Millis(fired_ts_ms));
  out += ",\"facts\":";
  out += facts.dump();
  if (!body.empty()) appendField(out, "body", body);
  if (!customer_id.empty()) appendField(out, "customer_id", customer_id);
  if (!store_id.empty()) appendField(out, "store_id", store_id);
  if (!guide_id.empty()) appendField(out, "guide_id", guide_id);
  if (!recommendations.empty()) out += ",\"recommendations\":" + recommendations.dump();
  if (shadow) out += ",\"shadow\":true";
  out.push_back('}');
  return out;
}

}  // namespace storepulse
