#pragma once
// A rule file as written (SPEC.md "Rules"): `aggregates`, `rules` and
// `tests`, read from YAML with every structural error reported with its
// file, line and column. Expressions stay text here; ruleset.h compiles
// them against the declared aggregates and event types.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/aggregates/aggregate_spec.h"
#include "engine/event/event.h"

namespace storepulse::rules {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0: the file as a whole
  int column = 0;  // 1-based
};

struct Diagnostic {
  SourceLocation where;
  std::string message;
  std::string toString() const;  // "file:line:col: message"
};

// A CEL expression and where its text starts in the file.
struct Expression {
  std::string text;
  SourceLocation where;
  // How the text sits in the YAML: a quoted scalar starts one column after
  // its quote; a block scalar ("|") starts on the next line.
  enum class Style { kPlain, kQuoted, kBlock } style = Style::kPlain;
  // Block scalars: the indentation of their lines in the file, and for a
  // folded one (">"), the length of each of its lines there, since folding
  // joined them into one line of `text`.
  int block_indent = 0;
  std::vector<int> folded_lines;
  // Where line/column of the expression text falls in the file.
  SourceLocation locate(int expr_line, int expr_column) const;
  // Where the character at `offset` of `text` falls in the file.
  SourceLocation locateOffset(size_t offset) const;
};

// "Hello {{customer.name}}": literal text and expressions, in order.
struct Template {
  struct Part {
    bool is_expression = false;
    std::string literal;   // when !is_expression
    Expression expression;  // when is_expression
  };
  std::vector<Part> parts;
  SourceLocation where;
};

struct AlertAction {
  std::string to;  // guide, store_manager, or a channel name
  std::string severity;
  Template title;
  std::optional<Template> body;
  int recommend = 0;  // in-stock recommendations to attach
  std::vector<std::pair<std::string, Expression>> facts;  // attached, in file order
};

struct BlockAction {
  Expression sku;
  Expression store;
};

struct TagAction {
  std::string name;
  Expression value;
};

struct EmitAction {
  std::string topic;
  std::vector<std::pair<std::string, Expression>> fields;
};

struct Schedule {
  int64_t every_ms = 0;           // every multiple of this since the epoch (in the store's zone for days)
  int minute_of_day = -1;         // at: "HH:MM" local time; -1 when `every` is used
  // What a run is for: each store, or each customer in `segment` (a bool
  // expression over `customer`, `store` (the home store) and `now`).
  enum class ForEach { kStore, kCustomerSegment } for_each = ForEach::kStore;
  Expression segment;  // for_each: customer-segment only
};

struct Cooldown {
  std::vector<std::string> key;  // event fields; empty: the customer (or the store for scheduled rules)
  int64_t for_ms = 0;            // 0: no cooldown
};

// Events linked to a rule's event by shared fields within a time (SPEC.md
// "Rules", sequences and absences):
// - `absent`: the rule's event starts a wait, and the rule acts when
//   `within` has passed on the engine clock without an event of the `on`
//   types that shares the `match` fields ("scanned in store, no purchase
//   within 2h");
// - `after`: the rule's event counts only if an event of the `on` types
//   that shares the `match` fields came at most `within` before it
//   ("viewed online, bought in store within 7d").
// For a purchase, `sku` matches any of its items.
struct LinkedEvents {
  std::vector<EventType> on;
  int64_t within_ms = 0;
  std::vector<std::string> match = {"customer_id"};  // always holds customer_id: the state is kept with the customer
  // `after`: linked events older than the newest the key has seen minus
  // this are late, as for aggregates (RuleFileOptions::default_lateness_ms).
  int64_t lateness_ms = 0;
  SourceLocation where;
};

// Local times of day (the store's zone) in which a rule does not act,
// "21:00-09:00"; `to` before `from` runs across midnight.
struct QuietHours {
  int from_minute = 0;  // of the day, included
  int to_minute = 0;    // of the day, excluded
  bool contains(int minute_of_day) const {
    return from_minute < to_minute ? minute_of_day >= from_minute && minute_of_day < to_minute
                                   : minute_of_day >= from_minute || minute_of_day < to_minute;
  }
};

enum class RuleMode { kLive, kShadow };

struct RuleSpec {
  std::string id;
  std::string description;
  SourceLocation where;
  std::vector<EventType> on;        // event-triggered rules
  std::optional<Schedule> schedule;  // scheduled rules
  Expression when;                  // empty text: always
  std::optional<LinkedEvents> after;   // event-triggered rules only
  std::optional<LinkedEvents> absent;  // event-triggered rules only
  Cooldown cooldown;
  std::optional<QuietHours> quiet_hours;
  int priority = 0;                 // higher first when several rules fire on one event
  bool enabled = true;
  RuleMode mode = RuleMode::kLive;
  std::optional<AlertAction> alert;
  std::optional<BlockAction> block;
  std::optional<TagAction> tag;
  std::optional<EmitAction> emit;
};

struct RuleTestCase {
  std::string name;
  SourceLocation where;
  std::vector<std::string> given;  // events as JSON objects with a "type" field, in order
  std::optional<int64_t> run_until_ms;  // the clock advances to here after the events (scheduled rules)
  std::vector<std::map<std::string, std::string>> expect;  // fields each fired action must match, in order
};

struct RuleFile {
  std::string path;
  std::vector<std::pair<AggregateSpec, SourceLocation>> aggregates;
  std::vector<RuleSpec> rules;
  std::vector<RuleTestCase> tests;
};

struct RuleFileOptions {
  absl::TimeZone default_zone;             // calendar windows and `at:` times
  int64_t default_lateness_ms = 3600000;   // aggregates without `lateness:`
};

// The keys each mapping of a rule file accepts: the parser checks against
// these, and a test keeps the published JSON Schema in step with them.
struct RuleFileKeys {
  std::vector<std::string_view> file, aggregate, rule, linked, cooldown, alert, block, tag, emit, test;
};
const RuleFileKeys& ruleFileKeys();

// Reads one rule file. Every structural error is appended to `diagnostics`;
// the returned file holds what could be read (callers use it only when no
// error was added).
RuleFile parseRuleFile(const std::string& path, const std::string& text, const RuleFileOptions& options,
                       std::vector<Diagnostic>& diagnostics);

}  // namespace storepulse::rules
