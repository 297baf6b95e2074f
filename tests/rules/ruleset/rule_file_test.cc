// parseRuleFile on good input: every field of a rule file lands in the model
// (rules/ruleset/rule_file.h), with the locations diagnostics will use; and
// loadRuleDirectory's handling of files and directories. Broken input is
// covered by the corpus in bad/ (bad_rules_test.cc).

#include <gtest/gtest.h>
#include <unistd.h>

#include <absl/time/time.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/ruleset/rule_file.h"
#include "rules/ruleset/ruleset.h"

namespace storepulse::rules {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

std::string describe(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += "\n  " + d.toString();
  return out;
}

// Parses `text` (a leading newline dropped, so line 1 is the line after R"( )
// and expects no diagnostic.
RuleFile parseGood(std::string text, const RuleFileOptions& options = {}) {
  if (!text.empty() && text[0] == '\n') text.erase(0, 1);
  std::vector<Diagnostic> diagnostics;
  RuleFile file = parseRuleFile("rules.yaml", text, options, diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << "unexpected diagnostics:" << describe(diagnostics);
  return file;
}

const AggregateSpec& aggregate(const RuleFile& file, const std::string& name) {
  for (const auto& [spec, where] : file.aggregates) {
    if (spec.name == name) return spec;
  }
  ADD_FAILURE() << "no aggregate " << name;
  static const AggregateSpec kNone;
  return kNone;
}

struct Located {
  int line;
  int column;
  bool operator==(const Located&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Located& l) { return os << l.line << ":" << l.column; }
Located located(const SourceLocation& where) { return {where.line, where.column}; }

// The template as "L[literal]E[expression]..." for compact comparisons.
std::string shape(const Template& t) {
  std::string out;
  for (const Template::Part& p : t.parts) {
    out += p.is_expression ? "E[" + p.expression.text + "]" : "L[" + p.literal + "]";
  }
  return out;
}

// ---------------------------------------------------------------- aggregates

TEST(ParseRuleFileTest, ReadsEachAggregateFunction) {
  const RuleFile file = parseGood(R"yaml(
aggregates:
  views_10m:       {count: [click, scan], by: [customer_id, sku], window: 10m}
  purchases_30d:   {count: purchase, by: customer_id, window: 30d}
  spend_90d:       {sum: purchase.total, by: customer_id, window: 90d}
  cheapest_view:   {min: click.price, by: customer_id, window: 1h}
  dearest_view:    {max: scan.price, by: [customer_id, store_id], window: 1h}
  avg_basket:      {avg: purchase.total, by: store_id, window: 7d}
  skus_viewed:     {distinct_count: click.sku, by: customer_id, window: 1d}
  stock_levels:    {distinct_count: inventory.available, by: sku, window: 1d}
)yaml");
  ASSERT_EQ(file.aggregates.size(), 8u);
  EXPECT_EQ(file.aggregates[0].first.name, "views_10m");  // in file order
  EXPECT_EQ(file.aggregates[7].first.name, "stock_levels");

  const AggregateSpec& views = aggregate(file, "views_10m");
  EXPECT_EQ(views.function, AggregateFunction::kCount);
  EXPECT_EQ(views.on, (std::vector<EventType>{EventType::kClick, EventType::kScan}));
  EXPECT_EQ(views.field, "");
  EXPECT_EQ(views.by, (std::vector<std::string>{"customer_id", "sku"}));

  const AggregateSpec& purchases = aggregate(file, "purchases_30d");
  EXPECT_EQ(purchases.function, AggregateFunction::kCount);
  EXPECT_EQ(purchases.on, std::vector<EventType>{EventType::kPurchase});  // a single name, not a list
  EXPECT_EQ(purchases.by, std::vector<std::string>{"customer_id"});

  const AggregateSpec& spend = aggregate(file, "spend_90d");
  EXPECT_EQ(spend.function, AggregateFunction::kSum);
  EXPECT_EQ(spend.on, std::vector<EventType>{EventType::kPurchase});
  EXPECT_EQ(spend.field, "total");

  EXPECT_EQ(aggregate(file, "cheapest_view").function, AggregateFunction::kMin);
  EXPECT_EQ(aggregate(file, "cheapest_view").field, "price");
  EXPECT_EQ(aggregate(file, "dearest_view").function, AggregateFunction::kMax);
  EXPECT_EQ(aggregate(file, "dearest_view").on, std::vector<EventType>{EventType::kScan});
  EXPECT_EQ(aggregate(file, "dearest_view").by, (std::vector<std::string>{"customer_id", "store_id"}));
  EXPECT_EQ(aggregate(file, "avg_basket").function, AggregateFunction::kAvg);
  EXPECT_EQ(aggregate(file, "skus_viewed").function, AggregateFunction::kDistinctCount);
  EXPECT_EQ(aggregate(file, "skus_viewed").field, "sku");  // text fields count distinct
  EXPECT_EQ(aggregate(file, "stock_levels").function, AggregateFunction::kDistinctCount);
  EXPECT_EQ(aggregate(file, "stock_levels").field, "available");  // and so do numbers
}

TEST(ParseRuleFileTest, ReadsWindowKindsAndSteps) {
  RuleFileOptions options;
  options.default_zone = absl::FixedTimeZone(8 * 3600);
  const RuleFile file = parseGood(R"yaml(
aggregates:
  views_10m:   {count: click, by: customer_id, window: 10m}
  views_90s:   {count: click, by: customer_id, window: 90s}
  spend_90d:   {sum: purchase.total, by: customer_id, window: 90d}
  spend_7d:    {sum: purchase.total, by: customer_id, window: 7d}
  exact_1m:    {count: click, by: customer_id, window: 1m, step: 1ms}
  hourly_1d:   {count: click, by: customer_id, window: 1d, step: 1h}
  compound:    {count: click, by: customer_id, window: 1h30m}
  sales_day:   {sum: purchase.total, by: store_id, window: calendar_day}
  sales_week:  {sum: purchase.total, by: store_id, window: calendar_week}
)yaml",
                                  options);
  auto expectSliding = [&](const std::string& name, int64_t size, int64_t step) {
    const WindowSpec& w = aggregate(file, name).window;
    EXPECT_EQ(w.kind, WindowSpec::Kind::kSliding) << name;
    EXPECT_EQ(w.size_ms, size) << name;
    EXPECT_EQ(w.step_ms, step) << name;
  };
  // Default step: size/60, at least 1s, dividing the size.
  expectSliding("views_10m", 10 * kMinute, 10 * kSecond);
  expectSliding("views_90s", 90 * kSecond, kSecond);
  expectSliding("spend_90d", 90 * kDay, 36 * kHour);
  expectSliding("spend_7d", 7 * kDay, 168 * kMinute);
  expectSliding("exact_1m", kMinute, 1);
  expectSliding("hourly_1d", kDay, kHour);
  expectSliding("compound", 90 * kMinute, 90 * kSecond);

  const WindowSpec& day = aggregate(file, "sales_day").window;
  EXPECT_EQ(day.kind, WindowSpec::Kind::kCalendarDay);
  EXPECT_EQ(day.zone, options.default_zone);
  EXPECT_EQ(day.step_ms, 0);
  const WindowSpec& week = aggregate(file, "sales_week").window;
  EXPECT_EQ(week.kind, WindowSpec::Kind::kCalendarWeek);
  EXPECT_EQ(week.zone, options.default_zone);
}

TEST(ParseRuleFileTest, LatenessDefaultsFromTheOptions) {
  RuleFileOptions options;
  options.default_lateness_ms = 5 * kMinute;
  const RuleFile file = parseGood(R"yaml(
aggregates:
  views_10m: {count: click, by: customer_id, window: 10m}
  spend_90d: {sum: purchase.total, by: customer_id, window: 90d, lateness: 2h}
)yaml",
                                  options);
  EXPECT_EQ(aggregate(file, "views_10m").allowed_lateness_ms, 5 * kMinute);
  EXPECT_EQ(aggregate(file, "spend_90d").allowed_lateness_ms, 2 * kHour);

  EXPECT_EQ(RuleFileOptions{}.default_lateness_ms, kHour);  // the documented default
  const RuleFile defaulted = parseGood("aggregates:\n  v: {count: click, by: customer_id, window: 10m}\n");
  EXPECT_EQ(aggregate(defaulted, "v").allowed_lateness_ms, kHour);
}

TEST(ParseRuleFileTest, RecordsWhereEachAggregateIsDeclared) {
  const RuleFile file = parseGood(R"yaml(
# aggregates for the spring campaign
aggregates:
  views_10m: {count: click, by: customer_id, window: 10m}

  spend_90d:
    sum: purchase.total
    by: customer_id
    window: 90d
)yaml");
  ASSERT_EQ(file.aggregates.size(), 2u);
  EXPECT_EQ(file.aggregates[0].second.file, "rules.yaml");
  EXPECT_EQ(located(file.aggregates[0].second), (Located{3, 3}));
  EXPECT_EQ(located(file.aggregates[1].second), (Located{5, 3}));
}

// ---------------------------------------------------------------- rules

TEST(ParseRuleFileTest, ReadsAnEventTriggeredRule) {
  const RuleFile file = parseGood(R"yaml(
aggregates:
  views_10m: {count: [click, scan], by: [customer_id, sku], window: 10m}
  spend_90d: {sum: purchase.total, by: customer_id, window: 90d}
rules:
  - id: high-value-lead
    description: A big spender keeps looking at the same product
    on: [click, scan]
    when: agg.spend_90d >= 5000.0 && agg.views_10m >= 2
    cooldown: {key: [customer_id, sku], for: 1h}
    priority: 10
    enabled: false
    mode: shadow
    alert:
      to: guide
      severity: high
      title: "{{customer.name}} ({{customer.tier}}) is looking at {{event.sku}}"
      recommend: 3
)yaml");
  ASSERT_EQ(file.rules.size(), 1u);
  const RuleSpec& r = file.rules[0];
  EXPECT_EQ(r.id, "high-value-lead");
  EXPECT_EQ(r.description, "A big spender keeps looking at the same product");
  EXPECT_EQ(located(r.where), (Located{5, 5}));
  EXPECT_EQ(r.on, (std::vector<EventType>{EventType::kClick, EventType::kScan}));
  EXPECT_FALSE(r.schedule.has_value());
  EXPECT_EQ(r.when.text, "agg.spend_90d >= 5000.0 && agg.views_10m >= 2");
  EXPECT_EQ(located(r.when.where), (Located{8, 11}));
  EXPECT_EQ(r.when.style, Expression::Style::kPlain);
  EXPECT_EQ(r.cooldown.key, (std::vector<std::string>{"customer_id", "sku"}));
  EXPECT_EQ(r.cooldown.for_ms, kHour);
  EXPECT_EQ(r.priority, 10);
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(r.mode, RuleMode::kShadow);
  ASSERT_TRUE(r.alert.has_value());
  EXPECT_EQ(r.alert->to, "guide");
  EXPECT_EQ(r.alert->severity, "high");
  EXPECT_EQ(r.alert->recommend, 3);
  EXPECT_FALSE(r.block || r.tag || r.emit);
}

TEST(ParseRuleFileTest, RuleDefaults) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: oos_block
    on: inventory
    block: {sku: event.sku, store: event.store_id}
)yaml");
  ASSERT_EQ(file.rules.size(), 1u);
  const RuleSpec& r = file.rules[0];
  EXPECT_EQ(r.on, std::vector<EventType>{EventType::kInventory});  // a single name, not a list
  EXPECT_EQ(r.description, "");
  EXPECT_EQ(r.when.text, "");  // no condition: always
  EXPECT_TRUE(r.cooldown.key.empty());
  EXPECT_EQ(r.cooldown.for_ms, 0);  // no cooldown
  EXPECT_EQ(r.priority, 0);
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.mode, RuleMode::kLive);
}

TEST(ParseRuleFileTest, ReadsPriorityEnabledAndModeValues) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - {id: a, on: click, priority: -1000, enabled: true, mode: live, tag: {name: t, value: "1"}}
  - {id: b, on: click, priority: 1000, enabled: false, mode: shadow, tag: {name: t, value: "2"}}
)yaml");
  ASSERT_EQ(file.rules.size(), 2u);
  EXPECT_EQ(file.rules[0].priority, -1000);
  EXPECT_TRUE(file.rules[0].enabled);
  EXPECT_EQ(file.rules[0].mode, RuleMode::kLive);
  EXPECT_EQ(file.rules[1].priority, 1000);
  EXPECT_FALSE(file.rules[1].enabled);
  EXPECT_EQ(file.rules[1].mode, RuleMode::kShadow);
}

TEST(ParseRuleFileTest, ReadsScheduledRules) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: sales-below-target
    every: 1h
    for_each: store
    when: now.hour >= 15
    alert: {to: store_manager, severity: warning, title: "{{store.name}} is behind today"}
  - id: closing-report
    at: "21:30"
    for_each: store
    alert: {to: store_manager, title: "Closing report for {{store.name}}"}
  - id: early-check
    at: 07:05
    for_each: store
    alert: {to: store_manager, title: "Morning {{store.name}}"}
)yaml");
  ASSERT_EQ(file.rules.size(), 3u);
  const RuleSpec& every = file.rules[0];
  EXPECT_TRUE(every.on.empty());
  ASSERT_TRUE(every.schedule.has_value());
  EXPECT_EQ(every.schedule->every_ms, kHour);
  EXPECT_EQ(every.schedule->minute_of_day, -1);
  EXPECT_EQ(every.schedule->for_each, Schedule::ForEach::kStore);

  const RuleSpec& at = file.rules[1];
  ASSERT_TRUE(at.schedule.has_value());
  EXPECT_EQ(at.schedule->every_ms, 0);
  EXPECT_EQ(at.schedule->minute_of_day, 21 * 60 + 30);

  ASSERT_TRUE(file.rules[2].schedule.has_value());
  EXPECT_EQ(file.rules[2].schedule->minute_of_day, 7 * 60 + 5);  // unquoted works too
}

TEST(ParseRuleFileTest, ReadsCooldownScalarAndMappingForms) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: scalar
    on: click
    cooldown: 30m
    tag: {name: seen, value: "true"}
  - id: mapping-without-key
    on: click
    cooldown: {for: 2h}
    tag: {name: seen, value: "true"}
  - id: mapping-one-key
    on: [click, scan]
    cooldown: {key: sku, for: 1d}
    tag: {name: seen, value: "true"}
  - id: block-mapping
    on: purchase
    cooldown:
      key: [customer_id, store_id]
      for: 90s
    tag: {name: bought, value: "true"}
)yaml");
  ASSERT_EQ(file.rules.size(), 4u);
  EXPECT_TRUE(file.rules[0].cooldown.key.empty());
  EXPECT_EQ(file.rules[0].cooldown.for_ms, 30 * kMinute);
  EXPECT_TRUE(file.rules[1].cooldown.key.empty());
  EXPECT_EQ(file.rules[1].cooldown.for_ms, 2 * kHour);
  EXPECT_EQ(file.rules[2].cooldown.key, std::vector<std::string>{"sku"});
  EXPECT_EQ(file.rules[2].cooldown.for_ms, kDay);
  EXPECT_EQ(file.rules[3].cooldown.key, (std::vector<std::string>{"customer_id", "store_id"}));
  EXPECT_EQ(file.rules[3].cooldown.for_ms, 90 * kSecond);
}

// ---------------------------------------------------------------- actions

TEST(ParseRuleFileTest, ReadsAlertAction) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: vip-scan
    on: scan
    alert:
      to: vip-desk
      title: VIP {{customer.name}}
      body: "{{customer.name}} scanned {{event.sku}} in {{event.store_id}}"
      recommend: 0
      facts:
        tier: customer.tier
        price: event.price
        aisle: "'A' + string(3)"
  - id: defaults
    on: scan
    alert: {to: guide, title: Hello}
)yaml");
  ASSERT_EQ(file.rules.size(), 2u);
  const AlertAction& a = *file.rules[0].alert;
  EXPECT_EQ(a.to, "vip-desk");  // a channel name
  EXPECT_EQ(a.severity, "info");  // the default
  EXPECT_EQ(shape(a.title), "L[VIP ]E[customer.name]");
  ASSERT_TRUE(a.body.has_value());
  EXPECT_EQ(shape(*a.body), "E[customer.name]L[ scanned ]E[event.sku]L[ in ]E[event.store_id]");
  EXPECT_EQ(a.recommend, 0);
  ASSERT_EQ(a.facts.size(), 3u);  // in file order
  EXPECT_EQ(a.facts[0].first, "tier");
  EXPECT_EQ(a.facts[0].second.text, "customer.tier");
  EXPECT_EQ(located(a.facts[0].second.where), (Located{10, 15}));
  EXPECT_EQ(a.facts[1].first, "price");
  EXPECT_EQ(a.facts[1].second.text, "event.price");
  EXPECT_EQ(a.facts[2].first, "aisle");
  EXPECT_EQ(a.facts[2].second.text, "'A' + string(3)");
  EXPECT_EQ(a.facts[2].second.style, Expression::Style::kQuoted);

  const AlertAction& d = *file.rules[1].alert;
  EXPECT_EQ(d.severity, "info");
  EXPECT_FALSE(d.body.has_value());
  EXPECT_EQ(d.recommend, 0);
  EXPECT_TRUE(d.facts.empty());
  EXPECT_EQ(shape(d.title), "L[Hello]");
}

TEST(ParseRuleFileTest, ReadsEverySeverity) {
  for (const std::string severity : {"info", "low", "warning", "high", "critical"}) {
    const RuleFile file =
        parseGood("rules:\n  - {id: r, on: click, alert: {to: guide, severity: " + severity + ", title: t}}\n");
    ASSERT_EQ(file.rules.size(), 1u);
    EXPECT_EQ(file.rules[0].alert->severity, severity);
  }
}

TEST(ParseRuleFileTest, ReadsBlockTagAndEmitActions) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: oos-block
    on: [inventory]
    when: event.available <= 0
    block: {sku: event.sku, store: event.store_id}
  - id: tag-big-spender
    on: purchase
    tag: {name: big_spender, value: event.total >= 1000.0}
  - id: export-purchases
    on: purchase
    emit:
      topic: crm.purchases
      record:
        customer: event.customer_id
        total: event.total
        at: event.ts
  - id: all-four
    on: purchase
    alert: {to: guide, title: t}
    block: {sku: '"s1"', store: '"st1"'}
    tag: {name: t, value: "true"}
    emit: {topic: x, record: {a: "1"}}
)yaml");
  ASSERT_EQ(file.rules.size(), 4u);
  const BlockAction& b = *file.rules[0].block;
  EXPECT_EQ(b.sku.text, "event.sku");
  EXPECT_EQ(located(b.sku.where), (Located{5, 18}));
  EXPECT_EQ(b.store.text, "event.store_id");
  EXPECT_EQ(located(b.store.where), (Located{5, 36}));

  const TagAction& t = *file.rules[1].tag;
  EXPECT_EQ(t.name, "big_spender");
  EXPECT_EQ(t.value.text, "event.total >= 1000.0");

  const EmitAction& e = *file.rules[2].emit;
  EXPECT_EQ(e.topic, "crm.purchases");
  ASSERT_EQ(e.fields.size(), 3u);  // in file order
  EXPECT_EQ(e.fields[0].first, "customer");
  EXPECT_EQ(e.fields[0].second.text, "event.customer_id");
  EXPECT_EQ(located(e.fields[0].second.where), (Located{14, 19}));
  EXPECT_EQ(e.fields[1].first, "total");
  EXPECT_EQ(e.fields[2].first, "at");
  EXPECT_EQ(e.fields[2].second.text, "event.ts");

  const RuleSpec& all = file.rules[3];
  EXPECT_TRUE(all.alert && all.block && all.tag && all.emit);
  EXPECT_EQ(all.block->sku.text, "\"s1\"");
}

// ---------------------------------------------------------------- templates

TEST(ParseRuleFileTest, SplitsTemplatesIntoLiteralsAndExpressions) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: r
    on: click
    alert:
      to: guide
      title: "{{customer.name}} ({{customer.tier}}) is looking at {{event.sku}}"
      body: "no expressions at all"
  - id: s
    on: click
    alert:
      to: guide
      title: "{{ percent(agg.x / 2.0) }}% {{a}}{{b}} end"
      body: "a } and a { are literal, so is }}"
)yaml");
  ASSERT_EQ(file.rules.size(), 2u);
  EXPECT_EQ(shape(file.rules[0].alert->title),
            "E[customer.name]L[ (]E[customer.tier]L[) is looking at ]E[event.sku]");
  EXPECT_EQ(shape(*file.rules[0].alert->body), "L[no expressions at all]");
  // The expression text is kept as written, spaces included; adjacent parts stay apart.
  EXPECT_EQ(shape(file.rules[1].alert->title), "E[ percent(agg.x / 2.0) ]L[% ]E[a]E[b]L[ end]");
  EXPECT_EQ(shape(*file.rules[1].alert->body), "L[a } and a { are literal, so is }}]");
  for (const Template::Part& p : file.rules[0].alert->title.parts) {
    if (p.is_expression) {
      EXPECT_EQ(p.expression.style, Expression::Style::kPlain);  // its location already points into the text
    }
  }
}

std::vector<Located> expressionLocations(const Template& t) {
  std::vector<Located> out;
  for (const Template::Part& p : t.parts) {
    if (p.is_expression) out.push_back(located(p.expression.where));
  }
  return out;
}

TEST(ParseRuleFileTest, LocatesTemplateExpressionsInPlainScalars) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: r
    on: click
    alert:
      to: guide
      title: Hi {{customer.name}}, see {{ event.sku }}
)yaml");
  const Template& title = file.rules[0].alert->title;
  EXPECT_EQ(located(title.where), (Located{6, 14}));
  //       title: Hi {{customer.name}}, see {{ event.sku }}
  //              ^14   ^19                   ^42
  EXPECT_EQ(expressionLocations(title), (std::vector<Located>{{6, 19}, {6, 42}}));
}

TEST(ParseRuleFileTest, LocatesTemplateExpressionsInQuotedScalars) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: r
    on: click
    alert:
      to: guide
      title: "{{customer.name}} looks at {{event.sku}}"
      body: '{{customer.tier}} customer'
  - {id: s, on: click, alert: {to: guide, title: "Hi {{customer.name}}"}}
)yaml");
  //       title: "{{customer.name}} looks at {{event.sku}}"
  //              ^14^17                       ^44
  EXPECT_EQ(expressionLocations(file.rules[0].alert->title), (std::vector<Located>{{6, 17}, {6, 44}}));
  EXPECT_EQ(expressionLocations(*file.rules[0].alert->body), (std::vector<Located>{{7, 16}}));
  //   - {id: s, on: click, alert: {to: guide, title: "Hi {{customer.name}}"}}
  //                                                  ^50   ^56
  EXPECT_EQ(expressionLocations(file.rules[1].alert->title), (std::vector<Located>{{8, 56}}));
}

TEST(ParseRuleFileTest, LocatesTemplateExpressionsInBlockScalarsOnTheirLine) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: r
    on: click
    alert:
      to: guide
      title: t
      body: |
        {{customer.name}} looks at {{event.sku}}
)yaml");
  const Template& body = *file.rules[0].alert->body;
  EXPECT_EQ(shape(body), "E[customer.name]L[ looks at ]E[event.sku]L[\n]");
  for (const Located& l : expressionLocations(body)) EXPECT_EQ(l.line, 8);  // the text starts after the "|"
}

// Each part of a block scalar on its own line, the block's indentation
// counted (bad/template_unclosed_on_second_body_line.yaml is the error case).
TEST(ParseRuleFileTest, LocatesTemplateExpressionsInBlockScalarsExactly) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: r
    on: click
    alert:
      to: guide
      title: t
      body: |
        {{customer.name}} looks at
        {{event.sku}}
)yaml");
  EXPECT_EQ(expressionLocations(*file.rules[0].alert->body), (std::vector<Located>{{8, 11}, {9, 11}}));
}

TEST(ParseRuleFileTest, LocatesWhenExpressionsOfEachStyle) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: plain
    on: click
    when: customer.tier == "vip"
    tag: {name: t, value: "true"}
  - id: quoted
    on: click
    when: "customer.tier == 'vip'"
    tag: {name: t, value: "true"}
  - id: block
    on: click
    when: |
      customer.tier == "vip" &&
        event.price > 100.0
    tag: {name: t, value: "true"}
  - id: folded
    on: click
    when: >
      customer.tier == "vip" &&
      event.price > 100.0
    tag: {name: t, value: "true"}
)yaml");
  ASSERT_EQ(file.rules.size(), 4u);
  const Expression& plain = file.rules[0].when;
  EXPECT_EQ(plain.style, Expression::Style::kPlain);
  EXPECT_EQ(located(plain.where), (Located{4, 11}));
  EXPECT_EQ(located(plain.locate(1, 15)), (Located{4, 25}));  // the "==" of the expression

  const Expression& quoted = file.rules[1].when;
  EXPECT_EQ(quoted.style, Expression::Style::kQuoted);
  EXPECT_EQ(quoted.text, "customer.tier == 'vip'");
  EXPECT_EQ(located(quoted.where), (Located{8, 11}));  // the quote
  EXPECT_EQ(located(quoted.locate(1, 1)), (Located{8, 12}));
  EXPECT_EQ(located(quoted.locate(1, 15)), (Located{8, 26}));

  const Expression& block = file.rules[2].when;
  EXPECT_EQ(block.style, Expression::Style::kBlock);
  EXPECT_EQ(block.text, "customer.tier == \"vip\" &&\n  event.price > 100.0\n");
  EXPECT_EQ(located(block.where), (Located{12, 11}));  // the "|"
  EXPECT_EQ(located(block.locate(1, 1)), (Located{13, 7}));
  EXPECT_EQ(located(block.locate(2, 3)), (Located{14, 9}));  // the "event" after two more spaces

  // Folding joins the lines with a space; each place maps back to its line.
  const Expression& folded = file.rules[3].when;
  EXPECT_EQ(folded.style, Expression::Style::kBlock);
  EXPECT_EQ(folded.text, "customer.tier == \"vip\" && event.price > 100.0\n");
  EXPECT_EQ(located(folded.locate(1, 15)), (Located{19, 21}));  // the "=="
  EXPECT_EQ(located(folded.locate(1, 27)), (Located{20, 7}));   // the "event"
}

// ---------------------------------------------------------------- tests

TEST(ParseRuleFileTest, ReadsTestsWithTypedEvents) {
  const RuleFile file = parseGood(R"yaml(
rules:
  - id: high-value-lead
    on: [click]
    tag: {name: t, value: "true"}
tests:
  - name: two views by a VIP alert the guide once
    given:
      - {type: click, customer_id: c1, sku: s9, price: 129.5, ts: "2024-05-01T10:00:00Z"}
      - type: purchase
        customer_id: "123"
        order_id: 0042
        total: 300
        paid: true
        coupon: null
        note: 'true'
        items: [{sku: s9, qty: 2}]
    until: "2024-05-01T12:00:00+08:00"
    expect:
      - {rule: high-value-lead, customer_id: c1}
      - rule: high-value-lead
        sku: s9
  - name: nothing fires
    given: []
    expect: []
)yaml");
  ASSERT_EQ(file.tests.size(), 2u);
  const RuleTestCase& t = file.tests[0];
  EXPECT_EQ(t.name, "two views by a VIP alert the guide once");
  EXPECT_EQ(located(t.where), (Located{6, 5}));
  ASSERT_EQ(t.given.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(t.given[0]), nlohmann::json::parse(R"({"type": "click", "customer_id": "c1",
      "sku": "s9", "price": 129.5, "ts": "2024-05-01T10:00:00Z"})"));
  const nlohmann::json purchase = nlohmann::json::parse(t.given[1]);
  EXPECT_EQ(purchase, nlohmann::json::parse(R"({"type": "purchase", "customer_id": "123", "order_id": 42,
      "total": 300, "paid": true, "coupon": null, "note": "true", "items": [{"sku": "s9", "qty": 2}]})"));
  EXPECT_TRUE(purchase["customer_id"].is_string());  // quoted: text
  EXPECT_TRUE(purchase["total"].is_number_integer());
  EXPECT_TRUE(purchase["paid"].is_boolean());
  EXPECT_TRUE(purchase["note"].is_string());
  EXPECT_TRUE(nlohmann::json::parse(t.given[0])["price"].is_number_float());
  ASSERT_TRUE(t.run_until_ms.has_value());
  EXPECT_EQ(*t.run_until_ms, absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2024, 5, 1, 4, 0, 0), absl::UTCTimeZone())));
  ASSERT_EQ(t.expect.size(), 2u);
  EXPECT_EQ(t.expect[0], (std::map<std::string, std::string>{{"rule", "high-value-lead"}, {"customer_id", "c1"}}));
  EXPECT_EQ(t.expect[1], (std::map<std::string, std::string>{{"rule", "high-value-lead"}, {"sku", "s9"}}));

  const RuleTestCase& none = file.tests[1];
  EXPECT_TRUE(none.given.empty());
  EXPECT_TRUE(none.expect.empty());
  EXPECT_FALSE(none.run_until_ms.has_value());
}

// ---------------------------------------------------------------- files

TEST(ParseRuleFileTest, AnEmptyFileDeclaresNothing) {
  for (const std::string text : {"", "\n", "# nothing here yet\n", "---\n"}) {
    const RuleFile file = parseGood(text);
    EXPECT_EQ(file.path, "rules.yaml");
    EXPECT_TRUE(file.aggregates.empty());
    EXPECT_TRUE(file.rules.empty());
    EXPECT_TRUE(file.tests.empty());
  }
}

TEST(ParseRuleFileTest, ReadsTheSpecExample) {
  const RuleFile file = parseGood(R"yaml(
aggregates:
  views_10m:       {count: [click, scan], by: [customer_id, sku], window: 10m}
  spend_90d:       {sum: purchase.total, by: customer_id, window: 90d}
  store_sales_day: {sum: purchase.total, by: store_id, window: calendar_day}

rules:
  - id: high-value-lead
    description: A big spender keeps looking at the same product
    on: [click, scan]
    when: agg.spend_90d >= 5000.0 && agg.views_10m >= 2
    cooldown: {key: [customer_id, sku], for: 1h}
    alert:
      to: guide                # the customer's guide; or store_manager, or a channel name
      severity: high
      title: "{{customer.name}} ({{customer.tier}}) is looking at {{event.sku}}"
      recommend: 3             # attach 3 in-stock recommendations

  - id: oos-block
    on: [inventory]
    when: event.available <= 0
    block: {sku: event.sku, store: event.store_id}   # lifted when available > 0 again

  - id: sales-below-target
    every: 1h                  # scheduled rule, runs even when no event arrives
    for_each: store
    when: now.hour >= 15 && agg.store_sales_day < 0.7 * store.daily_target
    alert: {to: store_manager, severity: warning,
            title: "{{store.name}} at {{percent(agg.store_sales_day / store.daily_target)}} of today's target"}

tests:
  - name: two views by a VIP alert the guide once
    given: []
    expect: [{rule: high-value-lead, customer_id: c1}]
)yaml");
  EXPECT_EQ(file.aggregates.size(), 3u);
  EXPECT_EQ(file.rules.size(), 3u);
  EXPECT_EQ(file.tests.size(), 1u);
  EXPECT_EQ(shape(file.rules[2].alert->title),
            "E[store.name]L[ at ]E[percent(agg.store_sales_day / store.daily_target)]L[ of today's target]");
}

TEST(DiagnosticTest, FormatsAsFileLineColumnMessage) {
  EXPECT_EQ((Diagnostic{{"rules/a.yaml", 3, 7}, "bad"}).toString(), "rules/a.yaml:3:7: bad");
  EXPECT_EQ((Diagnostic{{"rules/a.yaml", 0, 0}, "cannot be read"}).toString(), "rules/a.yaml: cannot be read");
}

// ---------------------------------------------------------------- directories

// A fresh directory under the system's temporary directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("storepulse-ruleset-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  fs::path path_;
};

constexpr char kRuleA[] = "rules:\n  - {id: a, on: click, tag: {name: t, value: \"1\"}}\n";
constexpr char kRuleB[] = "rules:\n  - {id: b, on: click, tag: {name: t, value: \"1\"}}\n";
constexpr char kRuleC[] = "rules:\n  - {id: c, on: click, tag: {name: t, value: \"1\"}}\n";

std::vector<std::string> ruleIds(const RuleSet& set) {
  std::vector<std::string> ids;
  for (const RuleSpec* r : set.rules) ids.push_back(r->id);
  return ids;
}

std::vector<std::string> fileNames(const RuleSet& set) {
  std::vector<std::string> names;
  for (const RuleFile& f : set.files) names.push_back(fs::path(f.path).filename().string());
  return names;
}

TEST(LoadRuleDirectoryTest, LoadsYamlAndYmlFilesInNameOrder) {
  TempDir dir;
  dir.write("20-b.yaml", kRuleB);
  dir.write("10-c.yml", kRuleC);
  dir.write("30-a.yaml", kRuleA);
  const LoadResult result = loadRuleDirectory(dir.path().string(), RuleFileOptions{});
  ASSERT_TRUE(result.ok()) << describe(result.diagnostics);
  EXPECT_EQ(fileNames(*result.rules), (std::vector<std::string>{"10-c.yml", "20-b.yaml", "30-a.yaml"}));
  EXPECT_EQ(ruleIds(*result.rules), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(result.rules->files[0].path, (dir.path() / "10-c.yml").string());
}

TEST(LoadRuleDirectoryTest, IgnoresOtherFilesAndSubdirectories) {
  TempDir dir;
  dir.write("rules.yaml", kRuleA);
  dir.write("README.md", "# not rules: {{\n");
  dir.write("rules.yaml.bak", "not: [valid\n");
  dir.write("old/rules.yaml", kRuleA);  // would clash with rule a if it were read
  fs::create_directories(dir.path() / "drafts.yaml");  // a directory named like a rule file
  const LoadResult result = loadRuleDirectory(dir.path().string(), RuleFileOptions{});
  ASSERT_TRUE(result.ok()) << describe(result.diagnostics);
  EXPECT_EQ(fileNames(*result.rules), std::vector<std::string>{"rules.yaml"});
}

TEST(LoadRuleDirectoryTest, AnEmptyDirectoryIsAnEmptySet) {
  TempDir dir;
  const LoadResult result = loadRuleDirectory(dir.path().string(), RuleFileOptions{});
  ASSERT_TRUE(result.ok()) << describe(result.diagnostics);
  EXPECT_TRUE(result.rules->files.empty());
  EXPECT_TRUE(result.rules->rules.empty());
  EXPECT_TRUE(result.rules->aggregates.empty());
}

TEST(LoadRuleDirectoryTest, ReportsAMissingDirectory) {
  TempDir dir;
  const std::string missing = (dir.path() / "no-such-dir").string();
  const LoadResult result = loadRuleDirectory(missing, RuleFileOptions{});
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].where.file, missing);
  EXPECT_EQ(result.diagnostics[0].where.line, 0);
  EXPECT_NE(result.diagnostics[0].message.find("cannot list the rules directory"), std::string::npos)
      << result.diagnostics[0].message;
}

TEST(LoadRuleDirectoryTest, ReportsAFileGivenAsTheDirectory) {
  TempDir dir;
  const std::string file = dir.write("rules.yaml", kRuleA);
  const LoadResult result = loadRuleDirectory(file, RuleFileOptions{});
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_NE(result.diagnostics[0].message.find("cannot list the rules directory"), std::string::npos);
}

TEST(LoadRuleFilesTest, ReportsAFileThatCannotBeReadAndGoesOn) {
  TempDir dir;
  const std::string good = dir.write("a.yaml", kRuleA);
  const std::string missing = (dir.path() / "gone.yaml").string();
  const std::string broken = dir.write("c.yaml", "rules:\n  - {id: c, on: clik, tag: {name: t, value: \"1\"}}\n");
  const LoadResult result = loadRuleFiles({good, missing, broken}, RuleFileOptions{});
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 2u) << describe(result.diagnostics);
  // Sorted by file, line, column: "c.yaml" before "gone.yaml".
  EXPECT_EQ(result.diagnostics[0].toString(),
            broken + ":2:17: rule c.on: unknown event type 'clik' (did you mean 'click'?)");
  EXPECT_EQ(result.diagnostics[1].toString(), missing + ": cannot be read");
}

TEST(LoadRuleDirectoryTest, ReportsAnAggregateDeclaredInTwoFiles) {
  TempDir dir;
  const std::string first = dir.write("a.yaml", "aggregates:\n  views_10m: {count: click, by: customer_id, window: 10m}\n");
  const std::string second = dir.write(
      "b.yaml", "# campaign\naggregates:\n  views_10m: {count: [click, scan], by: customer_id, window: 10m}\n");
  const LoadResult result = loadRuleDirectory(dir.path().string(), RuleFileOptions{});
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u) << describe(result.diagnostics);
  EXPECT_EQ(result.diagnostics[0].toString(),
            second + ":3:3: aggregate 'views_10m' is already declared at " + first + ":2:3");
}

TEST(LoadRuleDirectoryTest, ReportsARuleIdUsedInTwoFiles) {
  TempDir dir;
  const std::string first = dir.write("a.yaml", kRuleA);
  const std::string second = dir.write("b.yml", kRuleA);
  const LoadResult result = loadRuleDirectory(dir.path().string(), RuleFileOptions{});
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u) << describe(result.diagnostics);
  EXPECT_EQ(result.diagnostics[0].toString(), second + ":2:5: rule id 'a' is already declared at " + first + ":2:5");
}

TEST(LoadRuleDirectoryTest, CollectsAggregatesAndRulesAcrossFilesInOrder) {
  TempDir dir;
  dir.write("1-aggregates.yaml",
            "aggregates:\n  views_10m: {count: click, by: customer_id, window: 10m}\n"
            "  spend_90d: {sum: purchase.total, by: customer_id, window: 90d}\n");
  dir.write("2-rules.yaml", std::string(kRuleB) + "aggregates:\n  scans_1h: {count: scan, by: store_id, window: 1h}\n");
  dir.write("3-more.yaml", kRuleA);
  const LoadResult result = loadRuleDirectory(dir.path().string(), RuleFileOptions{});
  ASSERT_TRUE(result.ok()) << describe(result.diagnostics);
  std::vector<std::string> aggregates;
  for (const AggregateSpec* a : result.rules->aggregates) aggregates.push_back(a->name);
  EXPECT_EQ(aggregates, (std::vector<std::string>{"views_10m", "spend_90d", "scans_1h"}));
  EXPECT_EQ(ruleIds(*result.rules), (std::vector<std::string>{"b", "a"}));
}

}  // namespace
}  // namespace storepulse::rules
