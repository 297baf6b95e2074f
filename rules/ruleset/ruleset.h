#pragma once
// A rules directory loaded as one set: every `*.yaml` file read, checked
// across files (rule ids and aggregate names are global), and every
// expression compiled with CEL's type checker against the declared
// aggregates. `storepulse rules check`, `rules test`, backtests and the live
// engine all load rules through here, so they agree on what a rule means.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/cel/program.h"
#include "rules/ruleset/bindings.h"
#include "rules/ruleset/rule_file.h"

namespace storepulse::rules {

struct RuleSet {
  std::vector<RuleFile> files;  // in file name order
  // Every aggregate and rule across the files, in file order.
  std::vector<const AggregateSpec*> aggregates;
  std::vector<const RuleSpec*> rules;
};

// "{{customer.name}} looks at {{event.sku}}", compiled.
struct CompiledTemplate {
  struct Part {
    std::string literal;
    std::optional<cel::Program> expression;  // set for {{...}} parts
  };
  std::vector<Part> parts;
};

struct CompiledRule {
  const RuleSpec* spec = nullptr;
  // `when`, as the conjuncts it holds (`a && b`: a and b), indexes into
  // CompiledRuleSet::conjuncts, those more rules share first; none: always.
  std::vector<int> when;
  std::optional<cel::Program> segment;  // for_each: customer-segment: who the rule runs for
  std::optional<CompiledTemplate> title;
  std::optional<CompiledTemplate> body;
  std::vector<std::pair<std::string, cel::Program>> facts;
  std::optional<cel::Program> block_sku;
  std::optional<cel::Program> block_store;
  std::optional<cel::Program> tag_value;
  std::vector<std::pair<std::string, cel::Program>> emit_fields;
  // `after`: the linked events, counted by an aggregate of the rule's own
  // (no expression can read it) over `within` in 1 ms steps, keyed by the
  // `match` fields, customer_id first.
  std::unique_ptr<AggregateSpec> after_count;
};

struct CompiledRuleSet : RuleSet {
  std::unique_ptr<RuleEnv> env;
  // Some expression reads store.out_of_stock_best_sellers: the engine then
  // keeps each store's units sold by product (RuleEngine).
  bool reads_best_sellers = false;
  std::vector<CompiledRule> compiled;  // highest priority first, then file order
  // Every distinct conjunct of the rules' conditions, once: an event
  // evaluates each at most once, however many rules share it.
  std::vector<cel::Program> conjuncts;
  // By conjunct: set for those that compare an expression with a number
  // literal (see cel::Conjunct::Threshold), the expression an index into
  // `operands`, where each distinct one is once: rules that test one value
  // against many thresholds evaluate it once.
  struct Threshold {
    int operand = 0;
    cel::Comparison op = cel::Comparison::kEqual;
    cel::Value constant;
  };
  std::vector<std::optional<Threshold>> thresholds;
  std::vector<cel::Program> operands;
  std::array<std::vector<const CompiledRule*>, kEventTypeCount> by_event_type;
  std::vector<const CompiledRule*> scheduled;
  // Rules with `absent`, by the event types that end their waits.
  std::array<std::vector<const CompiledRule*>, kEventTypeCount> ending_waits;
  // Aggregates (indexes into env->aggregates) each event type folds into.
  std::array<std::vector<int>, kEventTypeCount> aggregates_by_event_type;
  std::vector<uint64_t> aggregate_definitions;  // definitionFingerprint(), by index
  std::string version;  // a hash of the files' contents: what GET /v1/rules shows
};

struct LoadResult {
  std::shared_ptr<const CompiledRuleSet> rules;  // set only when there is no error
  std::vector<Diagnostic> diagnostics;           // every error, sorted by file, line, column
  bool ok() const { return rules != nullptr; }
};

// Loads the `*.yaml` and `*.yml` files directly in `dir`.
LoadResult loadRuleDirectory(const std::string& dir, const RuleFileOptions& options);
// Loads the given files as one set (tests and tools).
LoadResult loadRuleFiles(const std::vector<std::string>& paths, const RuleFileOptions& options);

}  // namespace storepulse::rules
