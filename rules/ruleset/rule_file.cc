#include "rules/ruleset/rule_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <tuple>
#include <sstream>

#include "engine/core/suggest.h"
#include "engine/core/time.h"
#include "engine/event/event_fields.h"

namespace storepulse::rules {

std::string Diagnostic::toString() const {
  if (where.line <= 0) return fmt::format("{}: {}", where.file, message);
  return fmt::format("{}:{}:{}: {}", where.file, where.line, where.column, message);
}

SourceLocation Expression::locate(int expr_line, int expr_column) const {
  SourceLocation at = where;
  if (style == Style::kBlock && !folded_lines.empty()) {
    // Back through the folding: each line of the file gave its text and one
    // space (or newline) to `text`.
    size_t offset = 0;
    for (int line = 1; line < expr_line && offset < text.size(); ++offset) {
      if (text[offset] == '\n') ++line;
    }
    offset += static_cast<size_t>(std::max(expr_column, 1) - 1);
    size_t line = 0;
    while (line + 1 < folded_lines.size() && offset > static_cast<size_t>(folded_lines[line])) {
      offset -= static_cast<size_t>(folded_lines[line]) + 1;
      ++line;
    }
    at.line += 1 + static_cast<int>(line);
    at.column = block_indent + static_cast<int>(offset) + 1;
    return at;
  }
  if (style == Style::kBlock) {
    // The text starts on the line after the "|", each line of it a line of
    // the file without the block's indentation.
    at.line += expr_line;
    at.column = block_indent + expr_column;
    return at;
  }
  if (expr_line > 1) {
    at.line += expr_line - 1;
    at.column = expr_column;
    return at;
  }
  at.column += expr_column - 1 + (style == Style::kQuoted ? 1 : 0);
  return at;
}

SourceLocation Expression::locateOffset(size_t offset) const {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return locate(line, static_cast<int>(offset - line_start) + 1);
}

const RuleFileKeys& ruleFileKeys() {
  static const RuleFileKeys keys = {
      .file = {"aggregates", "rules", "tests"},
      .aggregate = {"count", "sum", "min", "max", "avg", "distinct_count", "by", "window", "step", "lateness"},
      .rule = {"id", "description", "on", "every", "at", "for_each", "segment", "when", "after", "absent", "cooldown",
               "quiet_hours", "priority", "enabled", "mode", "alert", "block", "tag", "emit"},
      .linked = {"on", "within", "match"},
      .cooldown = {"key", "for"},
      .alert = {"to", "severity", "title", "body", "recommend", "facts"},
      .block = {"sku", "store"},
      .tag = {"name", "value"},
      .emit = {"topic", "record"},
      .test = {"name", "given", "until", "expect"},
  };
  return keys;
}

namespace {

// Reads YAML nodes into the rule model, collecting every error with where
// it is. Each read* method returns what it could read; an error leaves a
// default in place and parsing goes on, so one run reports everything.
class Reader {
 public:
  Reader(const std::string& path, const std::string& text, const RuleFileOptions& options,
         std::vector<Diagnostic>& diagnostics)
      : path_(path), options_(options), diagnostics_(diagnostics) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
  }

  SourceLocation at(const YAML::Node& node) const {
    const YAML::Mark m = node.Mark();
    if (m.line < 0) return SourceLocation{path_, 0, 0};
    return SourceLocation{path_, m.line + 1, m.column + 1};
  }

  void error(const YAML::Node& node, std::string message) { error(at(node), std::move(message)); }
  void error(SourceLocation where, std::string message) {
    diagnostics_.push_back(Diagnostic{std::move(where), std::move(message)});
  }

  // Checks that `node` is a mapping whose keys are all in `known`; returns
  // false (after reporting) when it is not a mapping at all.
  bool checkKeys(const YAML::Node& node, std::string_view what, const std::vector<std::string_view>& known) {
    if (!node.IsMap()) {
      error(node, fmt::format("{} must be a mapping", what));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (!seen.insert(key).second) error(entry.first, fmt::format("{}: '{}' is given twice", what, key));
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        const auto close = closestName(key, known);
        error(entry.first, fmt::format("{}: unknown field '{}'{}", what, key,
                                       close ? fmt::format(" (did you mean '{}'?)", *close) : ""));
      }
    }
    return true;
  }

  std::optional<std::string> string(const YAML::Node& node, std::string_view what) {
    if (!node.IsScalar()) {
      error(node, fmt::format("{} must be a single value", what));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<int64_t> duration(const YAML::Node& node, std::string_view what) {
    auto text = string(node, what);
    if (!text) return std::nullopt;
    auto ms = parseDurationMillis(*text);
    if (!ms) {
      const bool zero = !text->empty() && text->find_first_not_of("0") > 0 &&
                        std::isalpha(static_cast<unsigned char>((*text)[text->find_first_not_of("0")]));
      error(node, zero ? fmt::format("{}: '{}' must be longer than zero", what, *text)
                       : fmt::format("{}: '{}' is not a duration (like 90s, 10m, 1h, 7d)", what, *text));
    }
    return ms;
  }

  std::optional<int64_t> integer(const YAML::Node& node, std::string_view what, int64_t min, int64_t max) {
    auto text = string(node, what);
    if (!text) return std::nullopt;
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || end != text->data() + text->size() || v < min || v > max) {
      error(node, fmt::format("{}: '{}' is not a whole number from {} to {}", what, *text, min, max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const YAML::Node& node, std::string_view what) {
    auto text = string(node, what);
    if (!text) return std::nullopt;
    if (*text == "true") return true;
    if (*text == "false") return false;
    error(node, fmt::format("{}: '{}' is not true or false", what, *text));
    return std::nullopt;
  }

  // A scalar or a list of scalars, as a list.
  std::vector<std::pair<std::string, YAML::Node>> list(const YAML::Node& node, std::string_view what) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (node.IsScalar()) {
      out.emplace_back(node.Scalar(), node);
    } else if (node.IsSequence()) {
      for (const auto& item : node) {
        if (auto s = string(item, what)) out.emplace_back(*s, item);
      }
    } else {
      error(node, fmt::format("{} must be a name or a list of names", what));
    }
    return out;
  }

  std::optional<EventType> eventType(const std::string& name, const YAML::Node& node, std::string_view what) {
    if (auto type = parseEventType(name)) return type;
    std::vector<std::string_view> names;
    for (EventType t : kAllEventTypes) names.push_back(eventTypeName(t));
    const auto close = closestName(name, names);
    error(node, fmt::format("{}: unknown event type '{}'{}", what, name,
                            close ? fmt::format(" (did you mean '{}'?)", *close)
                                  : " (one of click, scan, purchase, inventory, customer, store)"));
    return std::nullopt;
  }

  Expression expression(const YAML::Node& node, std::string_view what) {
    Expression e;
    e.where = at(node);
    auto text = string(node, what);
    if (!text) return e;
    e.text = *text;
    if (e.where.line > 0 && static_cast<size_t>(e.where.line) <= lines_.size()) {
      const std::string& line = lines_[e.where.line - 1];
      const size_t col = static_cast<size_t>(e.where.column - 1);
      const char c = col < line.size() ? line[col] : ' ';
      e.style = c == '"' || c == '\'' ? Expression::Style::kQuoted
                : c == '|' || c == '>' ? Expression::Style::kBlock
                                       : Expression::Style::kPlain;
      if (e.style == Expression::Style::kBlock) blockLines(e, c == '>');
      if (e.style == Expression::Style::kQuoted && !closed(e.where, c)) {
        error(e.where, fmt::format("{}: the quote opened here is never closed", what));
      }
    }
    if (e.text.find_first_not_of(" \t\r\n") == std::string::npos) error(node, fmt::format("{} is empty", what));
    return e;
  }

  // The lines of a block scalar, which start after its indicator's line:
  // their indentation (the first non-blank one's), and their lengths when
  // folded.
  void blockLines(Expression& e, bool folded) {
    const auto indentOf = [](const std::string& line) { return static_cast<int>(line.find_first_not_of(' ')); };
    const auto blank = [](const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; };
    size_t i = static_cast<size_t>(e.where.line);  // 0-based: the line after the indicator
    while (i < lines_.size() && blank(lines_[i])) ++i;
    if (i >= lines_.size()) return;
    e.block_indent = indentOf(lines_[i]);
    if (!folded) return;
    for (i = static_cast<size_t>(e.where.line); i < lines_.size(); ++i) {
      if (!blank(lines_[i]) && indentOf(lines_[i]) < e.block_indent) break;
      const int length = static_cast<int>(lines_[i].size()) - e.block_indent;
      e.folded_lines.push_back(std::max(length, 0));
    }
  }

  // Whether the quoted scalar opening at `where` with `quote` closes before
  // the end of the file: yaml-cpp takes an unclosed one at the end of the
  // file as running to it, swallowing what follows.
  bool closed(const SourceLocation& where, char quote) const {
    size_t line = static_cast<size_t>(where.line - 1);
    size_t col = static_cast<size_t>(where.column);  // just after the opening quote
    for (; line < lines_.size(); ++line, col = 0) {
      const std::string& s = lines_[line];
      for (; col < s.size(); ++col) {
        if (quote == '"' && s[col] == '\\') {
          ++col;  // an escaped character, perhaps a quote
        } else if (s[col] == quote) {
          if (quote == '\'' && col + 1 < s.size() && s[col + 1] == '\'') {
            ++col;  // '' is a quote inside single quotes
          } else {
            return true;
          }
        }
      }
    }
    return false;
  }

  // "{{customer.name}} looks at {{event.sku}}": literals and expressions.
  Template templated(const YAML::Node& node, std::string_view what) {
    Template t;
    t.where = at(node);
    const Expression whole = expression(node, what);
    const std::string& s = whole.text;
    size_t pos = 0;
    while (pos < s.size()) {
      const size_t open = s.find("{{", pos);
      if (open == std::string::npos) {
        t.parts.push_back({false, s.substr(pos), {}});
        break;
      }
      if (open > pos) t.parts.push_back({false, s.substr(pos, open - pos), {}});
      const size_t close = s.find("}}", open + 2);
      if (close == std::string::npos) {
        error(whole.locateOffset(open), fmt::format("{}: '{{{{' is never closed by '}}}}'", what));
        break;
      }
      Template::Part part{true, {}, whole};
      part.expression.text = s.substr(open + 2, close - open - 2);
      part.expression.where = whole.locateOffset(open + 2);
      part.expression.style = Expression::Style::kPlain;
      if (part.expression.text.find_first_not_of(" \t") == std::string::npos) {
        error(part.expression.where, fmt::format("{}: '{{{{}}}}' holds no expression", what));
      }
      t.parts.push_back(std::move(part));
      pos = close + 2;
    }
    return t;
  }

  std::vector<std::pair<std::string, Expression>> namedExpressions(const YAML::Node& node, std::string_view what) {
    std::vector<std::pair<std::string, Expression>> out;
    if (!node.IsMap()) {
      error(node, fmt::format("{} must be a mapping of names to expressions", what));
      return out;
    }
    for (const auto& entry : node) {
      out.emplace_back(entry.first.Scalar(), expression(entry.second, fmt::format("{}.{}", what, entry.first.Scalar())));
    }
    return out;
  }

  void aggregates(const YAML::Node& node, RuleFile& file) {
    if (!node.IsMap()) {
      error(node, "aggregates must be a mapping of names to definitions");
      return;
    }
    for (const auto& entry : node) {
      AggregateSpec spec;
      spec.name = entry.first.Scalar();
      if (!validName(spec.name)) {
        error(entry.first, fmt::format("aggregate name '{}' must be letters, digits and _, not starting with a digit",
                                       spec.name));
      }
      if (aggregate(entry.second, spec)) file.aggregates.emplace_back(std::move(spec), at(entry.first));
    }
  }

  bool aggregate(const YAML::Node& node, AggregateSpec& spec) {
    const std::string what = "aggregate " + spec.name;
    if (!checkKeys(node, what, ruleFileKeys().aggregate)) return false;
    const size_t errors_before = diagnostics_.size();
    int functions = 0;
    for (AggregateFunction f : {AggregateFunction::kCount, AggregateFunction::kSum, AggregateFunction::kMin,
                                AggregateFunction::kMax, AggregateFunction::kAvg, AggregateFunction::kDistinctCount}) {
      const YAML::Node of = node[std::string(aggregateFunctionName(f))];
      if (!of) continue;
      ++functions;
      spec.function = f;
      if (f == AggregateFunction::kCount) {
        for (const auto& [name, item] : list(of, what + ".count")) {
          if (auto type = eventType(name, item, what + ".count")) spec.on.push_back(*type);
        }
      } else {
        measuredField(of, f, what, spec);
      }
    }
    if (functions != 1) {
      error(node, fmt::format("{} needs exactly one of count, sum, min, max, avg, distinct_count", what));
    }
    if (const YAML::Node by = node["by"]) {
      for (const auto& [name, item] : list(by, what + ".by")) {
        // `store` is not a field but the store the event belongs to (its
        // own, else the customer's last or home store): any event has one.
        for (EventType type : name == "store" ? std::vector<EventType>{} : spec.on) {
          const EventField* field = findEventField(type, name);
          if (field == nullptr || field->kind != FieldKind::kString) {
            error(item, fmt::format("{}.by: '{}' is not a text field of {} events", what, name, eventTypeName(type)));
          }
        }
        spec.by.push_back(name);
      }
    } else {
      error(node, fmt::format("{} needs 'by' (the event fields it is kept for, e.g. customer_id)", what));
    }
    window(node, what, spec);
    spec.allowed_lateness_ms = options_.default_lateness_ms;
    if (const YAML::Node lateness = node["lateness"]) {
      if (auto ms = duration(lateness, what + ".lateness")) spec.allowed_lateness_ms = *ms;
    }
    return diagnostics_.size() == errors_before;
  }

  // sum: purchase.total — the event type and the numeric field measured.
  void measuredField(const YAML::Node& of, AggregateFunction f, const std::string& what, AggregateSpec& spec) {
    const std::string key = what + "." + std::string(aggregateFunctionName(f));
    auto text = string(of, key);
    if (!text) return;
    const size_t dot = text->find('.');
    if (dot == std::string::npos) {
      error(of, fmt::format("{}: '{}' must name an event type and a field, like purchase.total", key, *text));
      return;
    }
    auto type = eventType(text->substr(0, dot), of, key);
    if (!type) return;
    spec.on.push_back(*type);
    spec.field = text->substr(dot + 1);
    const EventField* field = findEventField(*type, spec.field);
    const bool distinct = f == AggregateFunction::kDistinctCount;
    auto fits = [distinct](const EventField& e) {
      const bool numeric = e.kind == FieldKind::kInt || e.kind == FieldKind::kDouble;
      return numeric || (distinct && e.kind == FieldKind::kString);
    };
    if (field == nullptr || !fits(*field)) {
      std::string usable;
      for (const EventField& e : eventFields(*type)) {
        if (fits(e)) usable += (usable.empty() ? "" : ", ") + std::string(e.name);
      }
      error(of, fmt::format("{}: {} ({} fields of {} events: {})", key,
                            field == nullptr ? fmt::format("{} events have no field '{}'", eventTypeName(*type), spec.field)
                                             : fmt::format("'{}' is not a {} field", spec.field,
                                                           distinct ? "text or number" : "number"),
                            distinct ? "text and number" : "number", eventTypeName(*type), usable));
    }
  }

  void window(const YAML::Node& node, const std::string& what, AggregateSpec& spec) {
    const YAML::Node w = node["window"];
    if (!w) {
      error(node, fmt::format("{} needs 'window' (a duration like 10m, or calendar_day, calendar_week)", what));
      return;
    }
    auto text = string(w, what + ".window");
    if (!text) return;
    if (*text == "calendar_day" || *text == "calendar_week") {
      spec.window.kind = *text == "calendar_day" ? WindowSpec::Kind::kCalendarDay : WindowSpec::Kind::kCalendarWeek;
      spec.window.zone = options_.default_zone;
      if (node["step"]) error(node["step"], fmt::format("{}.step: calendar windows have no step", what));
      return;
    }
    auto size = duration(w, what + ".window");
    if (!size) return;
    spec.window.kind = WindowSpec::Kind::kSliding;
    spec.window.size_ms = *size;
    if (const YAML::Node step = node["step"]) {
      auto s = duration(step, what + ".step");
      if (!s) return;
      if (*size % *s != 0) {
        error(step, fmt::format("{}.step: the window {} is not a whole number of steps of {}", what, *text,
                                step.Scalar()));
        return;
      }
      spec.window.step_ms = *s;
    } else {
      spec.window.step_ms = WindowSpec::defaultStep(*size);
      if (spec.window.step_ms == 0) {
        error(w, fmt::format("{}.window: {} has no default step (at least 1s, dividing it); give 'step'", what, *text));
      }
    }
  }

  void rules(const YAML::Node& node, RuleFile& file) {
    if (!node.IsSequence()) {
      error(node, "rules must be a list");
      return;
    }
    for (const auto& item : node) file.rules.push_back(rule(item));
  }

  RuleSpec rule(const YAML::Node& node) {
    RuleSpec r;
    r.where = at(node);
    if (!node.IsMap()) {
      error(node, "rule must be a mapping");
      return r;
    }
    if (const YAML::Node id = node["id"]) {
      r.id = string(id, "rule id").value_or("");
      if (!validId(r.id)) error(id, fmt::format("rule id '{}' must be letters, digits, '-' and '_'", r.id));
    } else {
      error(node, "rule needs an 'id'");
    }
    const std::string what = r.id.empty() ? std::string("rule") : "rule " + r.id;
    checkKeys(node, what, ruleFileKeys().rule);
    if (const YAML::Node d = node["description"]) r.description = string(d, what + ".description").value_or("");
    if (const YAML::Node on = node["on"]) {
      for (const auto& [name, item] : list(on, what + ".on")) {
        if (auto type = eventType(name, item, what + ".on")) r.on.push_back(*type);
      }
    }
    schedule(node, what, r);
    if (!node["on"] && !r.schedule) {
      error(node, fmt::format("{} needs 'on' (event types) or 'every'/'at' (a schedule): it has neither", what));
    } else if (node["on"] && r.schedule) {
      error(node, fmt::format("{} has both 'on' and a schedule ('every'/'at'): give one", what));
    }
    if (const YAML::Node when = node["when"]) r.when = expression(when, what + ".when");
    r.after = linkedEvents(node, "after", what, r);
    r.absent = linkedEvents(node, "absent", what, r);
    if (r.after) {
      for (EventType type : r.after->on) {
        if (std::find(r.on.begin(), r.on.end(), type) != r.on.end()) {
          error(node["after"]["on"], fmt::format("{}.after.on: {} events also trigger the rule, which would follow "
                                                 "itself; count them with an aggregate instead",
                                                 what, eventTypeName(type)));
        }
      }
    }
    if (const YAML::Node q = node["quiet_hours"]) quietHours(q, what, r);
    if (r.absent && node["block"]) {
      error(node["block"], fmt::format("{}: a block follows its condition and cannot wait; use alert, tag or emit "
                                       "with 'absent'", what));
    }
    cooldown(node, what, r);
    if (const YAML::Node p = node["priority"]) r.priority = static_cast<int>(integer(p, what + ".priority", -1000, 1000).value_or(0));
    if (const YAML::Node e = node["enabled"]) r.enabled = boolean(e, what + ".enabled").value_or(true);
    if (const YAML::Node m = node["mode"]) {
      const auto mode = string(m, what + ".mode");
      if (mode == "shadow") {
        r.mode = RuleMode::kShadow;
      } else if (mode && *mode != "live") {
        error(m, fmt::format("{}.mode: '{}' is not live or shadow", what, *mode));
      }
    }
    actions(node, what, r);
    if (r.quiet_hours && r.block) {
      error(node["quiet_hours"], fmt::format("{}.quiet_hours: a block is not a message and is never held back; "
                                             "put the block in a rule of its own",
                                             what));
    }
    return r;
  }

  void schedule(const YAML::Node& node, const std::string& what, RuleSpec& r) {
    const YAML::Node every = node["every"];
    const YAML::Node at_time = node["at"];
    const YAML::Node for_each = node["for_each"];
    const YAML::Node segment = node["segment"];
    if (!every && !at_time) {
      if (for_each) error(for_each, fmt::format("{}.for_each belongs to scheduled rules ('every' or 'at')", what));
      if (segment) error(segment, fmt::format("{}.segment belongs to scheduled rules with 'for_each: customer-segment'", what));
      return;
    }
    Schedule s;
    if (every && at_time) error(at_time, fmt::format("{}: give 'every' or 'at', not both", what));
    if (every) s.every_ms = duration(every, what + ".every").value_or(0);
    if (at_time) {
      const auto text = string(at_time, what + ".at").value_or("");
      if (auto minute = minuteOfDay(text)) {
        s.minute_of_day = *minute;
      } else {
        error(at_time, fmt::format("{}.at: '{}' is not a time of day like \"15:00\"", what, text));
      }
    }
    if (!for_each) {
      error(node, fmt::format("{}: a scheduled rule needs 'for_each: store' or 'for_each: customer-segment'", what));
    } else if (auto target = string(for_each, what + ".for_each"); target && *target == "customer-segment") {
      s.for_each = Schedule::ForEach::kCustomerSegment;
      if (!segment) {
        error(for_each, fmt::format("{}: 'for_each: customer-segment' needs 'segment', the condition that picks "
                                    "the customers (for example customer.tier == \"gold\")",
                                    what));
      }
    } else if (target && *target != "store") {
      error(for_each, fmt::format("{}.for_each: '{}' is not supported (store or customer-segment is)", what, *target));
    }
    if (segment) {
      if (s.for_each != Schedule::ForEach::kCustomerSegment) {
        error(segment, fmt::format("{}.segment belongs to scheduled rules with 'for_each: customer-segment'", what));
      } else {
        s.segment = expression(segment, what + ".segment");
      }
    }
    r.schedule = s;
  }

  // `after` or `absent` (`key`): what the linked events are, each checked
  // against the rule's own event types.
  std::optional<LinkedEvents> linkedEvents(const YAML::Node& node, std::string_view key, const std::string& what,
                                           const RuleSpec& r) {
    const YAML::Node a = node[std::string(key)];
    if (!a) return std::nullopt;
    const std::string where = fmt::format("{}.{}", what, key);
    if (!a.IsMap()) {
      error(a, fmt::format("{} must be a mapping with 'on', 'within' and 'match'", where));
      return std::nullopt;
    }
    if (!checkKeys(a, where, ruleFileKeys().linked)) return std::nullopt;
    LinkedEvents linked;
    linked.where = at(a);
    linked.lateness_ms = options_.default_lateness_ms;
    // The state is kept in the customer's partition: only events keyed by
    // a customer can take part.
    auto customerEvents = [&](const YAML::Node& at_node, const std::vector<EventType>& types, const std::string& name) {
      for (EventType type : types) {
        if (type == EventType::kInventory || type == EventType::kStore) {
          error(at_node, fmt::format("{}: {} events carry no customer, and {} is kept with the customer", name,
                                     eventTypeName(type), key == "absent" ? "a wait" : "what came before"));
        }
      }
    };
    if (r.schedule) {
      error(a, fmt::format("{} belongs to rules with 'on': {}", where,
                           key == "absent" ? "a wait starts at an event" : "it looks back from an event"));
    }
    if (node["on"]) customerEvents(node["on"], r.on, fmt::format("{}.on (with {})", what, key));
    if (const YAML::Node on = a["on"]) {
      for (const auto& [name, item] : list(on, where + ".on")) {
        if (auto type = eventType(name, item, where + ".on")) linked.on.push_back(*type);
      }
      customerEvents(on, linked.on, where + ".on");
    } else {
      error(a, fmt::format("{} needs 'on': the event types {}", where,
                           key == "absent" ? "that end the wait" : "that must come first"));
    }
    if (const YAML::Node w = a["within"]) {
      linked.within_ms = duration(w, where + ".within").value_or(0);
    } else {
      error(a, fmt::format("{} needs 'within' (a duration)", where));
    }
    if (const YAML::Node m = a["match"]) {
      linked.match.clear();
      for (const auto& [name, item] : list(m, where + ".match")) {
        auto fieldOf = [&](EventType type) {
          // A purchase's products are its items': `sku` matches any of them.
          const EventField* field = findEventField(type, name);
          return (field != nullptr && field->kind == FieldKind::kString) || (type == EventType::kPurchase && name == "sku");
        };
        std::vector<EventType> types = r.on;  // the rule's events, and the linked ones
        types.insert(types.end(), linked.on.begin(), linked.on.end());
        for (EventType type : types) {
          if (!fieldOf(type)) {
            error(item, fmt::format("{}.match: '{}' is not a text field of {} events", where, name, eventTypeName(type)));
          }
        }
        if (std::find(linked.match.begin(), linked.match.end(), name) != linked.match.end()) {
          error(item, fmt::format("{}.match: '{}' is listed twice", where, name));
        }
        linked.match.push_back(name);
      }
      if (std::find(linked.match.begin(), linked.match.end(), "customer_id") == linked.match.end()) {
        error(m, fmt::format("{}.match must include customer_id: {} is kept with its customer", where,
                             key == "absent" ? "a wait" : "what came before"));
      }
    }
    return linked;
  }

  // "HH:MM", 24-hour.
  static std::optional<int> minuteOfDay(std::string_view text) {
    int hh = -1, mm = -1;
    if (text.size() == 5 && text[2] == ':' && std::from_chars(text.data(), text.data() + 2, hh).ec == std::errc() &&
        std::from_chars(text.data() + 3, text.data() + 5, mm).ec == std::errc() && hh >= 0 && hh < 24 && mm >= 0 &&
        mm < 60) {
      return hh * 60 + mm;
    }
    return std::nullopt;
  }

  void quietHours(const YAML::Node& node, const std::string& what, RuleSpec& r) {
    const auto text = string(node, what + ".quiet_hours");
    if (!text) return;
    const size_t dash = text->find('-');
    const auto from = dash == std::string::npos ? std::nullopt : minuteOfDay(std::string_view(*text).substr(0, dash));
    const auto to = dash == std::string::npos ? std::nullopt : minuteOfDay(std::string_view(*text).substr(dash + 1));
    if (!from || !to) {
      error(node, fmt::format("{}.quiet_hours: '{}' is not a range of times of day like \"21:00-09:00\"", what, *text));
    } else if (*from == *to) {
      error(node, fmt::format("{}.quiet_hours: '{}' starts and ends at the same time", what, *text));
    } else {
      r.quiet_hours = QuietHours{*from, *to};
    }
  }

  void cooldown(const YAML::Node& node, const std::string& what, RuleSpec& r) {
    const YAML::Node c = node["cooldown"];
    if (!c) return;
    if (c.IsScalar()) {
      r.cooldown.for_ms = duration(c, what + ".cooldown").value_or(0);
      return;
    }
    if (!checkKeys(c, what + ".cooldown", ruleFileKeys().cooldown)) return;
    if (const YAML::Node f = c["for"]) {
      r.cooldown.for_ms = duration(f, what + ".cooldown.for").value_or(0);
    } else {
      error(c, fmt::format("{}.cooldown needs 'for' (a duration)", what));
    }
    if (const YAML::Node key = c["key"]) {
      for (const auto& [name, item] : list(key, what + ".cooldown.key")) {
        for (EventType type : r.on) {
          if (findEventField(type, name) == nullptr) {
            error(item, fmt::format("{}.cooldown.key: '{}' is not a field of {} events", what, name,
                                    eventTypeName(type)));
          }
        }
        r.cooldown.key.push_back(name);
      }
    }
  }

  void actions(const YAML::Node& node, const std::string& what, RuleSpec& r) {
    if (const YAML::Node a = node["alert"]) {
      if (checkKeys(a, what + ".alert", ruleFileKeys().alert)) {
        AlertAction alert;
        if (a["to"]) {
          alert.to = string(a["to"], what + ".alert.to").value_or("");
        } else {
          error(a, fmt::format("{}.alert needs 'to' (guide, store_manager or a channel name)", what));
        }
        alert.severity = "info";
        if (const YAML::Node s = a["severity"]) {
          alert.severity = string(s, what + ".alert.severity").value_or("info");
          static const std::vector<std::string_view> kSeverities = {"info", "low", "warning", "high", "critical"};
          if (std::find(kSeverities.begin(), kSeverities.end(), alert.severity) == kSeverities.end()) {
            error(s, fmt::format("{}.alert.severity: '{}' is not one of info, low, warning, high, critical", what,
                                 alert.severity));
          }
        }
        if (a["title"]) {
          alert.title = templated(a["title"], what + ".alert.title");
        } else {
          error(a, fmt::format("{}.alert needs a 'title'", what));
        }
        if (a["body"]) alert.body = templated(a["body"], what + ".alert.body");
        if (a["recommend"]) alert.recommend = static_cast<int>(integer(a["recommend"], what + ".alert.recommend", 0, 50).value_or(0));
        if (a["facts"]) alert.facts = namedExpressions(a["facts"], what + ".alert.facts");
        r.alert = std::move(alert);
      }
    }
    if (const YAML::Node b = node["block"]) {
      if (checkKeys(b, what + ".block", ruleFileKeys().block)) {
        BlockAction block;
        if (b["sku"] && b["store"]) {
          block.sku = expression(b["sku"], what + ".block.sku");
          block.store = expression(b["store"], what + ".block.store");
          r.block = std::move(block);
        } else {
          error(b, fmt::format("{}.block needs 'sku' and 'store' (expressions)", what));
        }
      }
    }
    if (const YAML::Node t = node["tag"]) {
      if (checkKeys(t, what + ".tag", ruleFileKeys().tag)) {
        if (t["name"] && t["value"]) {
          r.tag = TagAction{string(t["name"], what + ".tag.name").value_or(""), expression(t["value"], what + ".tag.value")};
        } else {
          error(t, fmt::format("{}.tag needs 'name' and 'value'", what));
        }
      }
    }
    if (const YAML::Node e = node["emit"]) {
      if (checkKeys(e, what + ".emit", ruleFileKeys().emit)) {
        if (e["topic"] && e["record"]) {
          r.emit = EmitAction{string(e["topic"], what + ".emit.topic").value_or(""),
                              namedExpressions(e["record"], what + ".emit.record")};
        } else {
          error(e, fmt::format("{}.emit needs 'topic' and 'record'", what));
        }
      }
    }
    if (!node["alert"] && !node["block"] && !node["tag"] && !node["emit"]) {
      error(r.where, fmt::format("{} has no action: give alert, block, tag or emit", what));
    }
  }

  void tests(const YAML::Node& node, RuleFile& file) {
    if (!node.IsSequence()) {
      error(node, "tests must be a list");
      return;
    }
    for (const auto& item : node) {
      RuleTestCase t;
      t.where = at(item);
      if (!item.IsMap()) {
        error(item, "test must be a mapping");
        continue;
      }
      t.name = item["name"] ? string(item["name"], "test name").value_or("") : "";
      if (t.name.empty()) error(item, "test needs a 'name'");
      const std::string what = "test '" + t.name + "'";
      checkKeys(item, what, ruleFileKeys().test);
      if (const YAML::Node given = item["given"]; given && given.IsSequence()) {
        for (const auto& event : given) t.given.push_back(toJson(event));
      } else if (given) {
        error(given, fmt::format("{}.given must be a list of events", what));
      } else {
        error(item, fmt::format("{} needs 'given', a list of events", what));
      }
      if (const YAML::Node until = item["until"]) {
        const auto text = string(until, what + ".until").value_or("");
        t.run_until_ms = parseRfc3339Millis(text);
        if (!t.run_until_ms) error(until, fmt::format("{}.until: '{}' is not an RFC 3339 time", what, text));
      }
      if (const YAML::Node expect = item["expect"]; expect && expect.IsSequence()) {
        for (const auto& e : expect) {
          std::map<std::string, std::string> fields;
          if (!e.IsMap()) {
            error(e, fmt::format("{}.expect entries must be mappings like {{rule: id, customer_id: c1}}", what));
            continue;
          }
          for (const auto& kv : e) fields[kv.first.Scalar()] = kv.second.IsScalar() ? kv.second.Scalar() : "";
          if (!fields.count("rule")) error(e, fmt::format("{}.expect entries need 'rule'", what));
          t.expect.push_back(std::move(fields));
        }
      } else {
        error(item, fmt::format("{} needs 'expect', a list (empty: nothing fires)", what));
      }
      file.tests.push_back(std::move(t));
    }
  }

 private:
  static bool validName(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  }
  static bool validId(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
  }

  // A test's event, written in YAML flow or block style, as a JSON object.
  // Plain scalars that read as numbers, booleans or null become those; quoted
  // ones stay text, as a YAML reader would have it.
  static std::string toJson(const YAML::Node& node) { return yamlToJson(node).dump(); }

  static nlohmann::json yamlToJson(const YAML::Node& node) {
    if (node.IsMap()) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = yamlToJson(kv.second);
      return out;
    }
    if (node.IsSequence()) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yamlToJson(item));
      return out;
    }
    if (!node.IsScalar()) return nullptr;
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") return s;  // quoted
    if (s == "true" || s == "false") return s == "true";
    if (s == "null" || s == "~") return nullptr;
    int64_t i = 0;
    if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i); ec == std::errc() && end == s.data() + s.size()) {
      return i;
    }
    double d = 0;
    if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d); ec == std::errc() && end == s.data() + s.size()) {
      return d;
    }
    return s;
  }

  std::string path_;
  const RuleFileOptions& options_;
  std::vector<Diagnostic>& diagnostics_;
  std::vector<std::string> lines_;
};

}  // namespace

RuleFile parseRuleFile(const std::string& path, const std::string& text, const RuleFileOptions& options,
                       std::vector<Diagnostic>& diagnostics) {
  RuleFile file;
  file.path = path;
  Reader reader(path, text, options, diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    diagnostics.push_back(Diagnostic{SourceLocation{path, e.mark.line + 1, e.mark.column + 1},
                                     "not valid YAML: " + e.msg});
    return file;
  }
  if (!root || root.IsNull()) return file;  // an empty file declares nothing
  if (!reader.checkKeys(root, "rule file", ruleFileKeys().file)) return file;
  if (root["aggregates"]) reader.aggregates(root["aggregates"], file);
  if (root["rules"]) reader.rules(root["rules"], file);
  if (root["tests"]) reader.tests(root["tests"], file);
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
  });
  return file;
}

}  // namespace storepulse::rules
