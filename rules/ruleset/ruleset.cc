#include "rules/ruleset/ruleset.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "engine/core/stable_hash.h"

namespace storepulse::rules {
namespace {

void sortDiagnostics(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
  });
}

// Names that must be unique across the whole set, with where each was first seen.
void checkUnique(const std::string& kind, const std::string& name, const SourceLocation& where,
                 std::map<std::string, SourceLocation>& seen, std::vector<Diagnostic>& diagnostics) {
  auto [it, inserted] = seen.emplace(name, where);
  if (inserted) return;
  diagnostics.push_back(Diagnostic{where, fmt::format("{} '{}' is already declared at {}:{}:{}", kind, name,
                                                      it->second.file, it->second.line, it->second.column)});
}

// Compiles the expressions of every rule against one environment, turning
// CEL's expression-relative diagnostics into file positions.
class Compiler {
 public:
  Compiler(CompiledRuleSet& set, std::vector<Diagnostic>& diagnostics) : set_(set), diagnostics_(diagnostics) {}

  void run() {
    auto env = makeRuleEnv(set_.aggregates);
    if (!env.isOk()) {
      diagnostics_.push_back(Diagnostic{SourceLocation{"rules", 0, 0}, env.status().message()});
      return;
    }
    set_.env = std::move(*env);
    for (const RuleSpec* spec : set_.rules) set_.compiled.push_back(rule(*spec));
    std::stable_sort(set_.compiled.begin(), set_.compiled.end(), [](const CompiledRule& a, const CompiledRule& b) {
      return a.spec->priority > b.spec->priority;
    });
    orderConjuncts();
    for (const CompiledRule& r : set_.compiled) {
      if (!r.spec->enabled) continue;
      if (r.spec->schedule) set_.scheduled.push_back(&r);
      for (EventType type : r.spec->on) set_.by_event_type[static_cast<size_t>(type)].push_back(&r);
      if (!r.spec->absent) continue;
      for (EventType type : r.spec->absent->on) set_.ending_waits[static_cast<size_t>(type)].push_back(&r);
    }
    for (size_t i = 0; i < set_.aggregates.size(); ++i) {
      set_.aggregate_definitions.push_back(set_.aggregates[i]->definitionFingerprint());
      for (EventType type : set_.aggregates[i]->on) {
        set_.aggregates_by_event_type[static_cast<size_t>(type)].push_back(static_cast<int>(i));
      }
    }
  }

 private:
  // What the engine must keep for the set's expressions to read.
  void noteReads(const Expression& e) {
    if (e.text.find("out_of_stock_best_sellers") != std::string::npos) set_.reads_best_sellers = true;
  }

  std::optional<cel::Program> compile(const Expression& e, std::string_view what, bool must_be_bool = false) {
    noteReads(e);
    cel::CompileResult result = cel::Program::compile(e.text, set_.env->env);
    for (const cel::Diagnostic& d : result.diagnostics) {
      diagnostics_.push_back(
          Diagnostic{e.locate(d.line, d.column), fmt::format("{}: {}", what, explain(d.message, e.text))});
    }
    if (!result.ok()) return std::nullopt;
    const cel::Type& type = result.program->resultType();
    if (must_be_bool && type.kind() != cel::TypeKind::kBool && !type.isDynOrError()) {
      diagnostics_.push_back(Diagnostic{e.where, fmt::format("{} must be a bool expression, it is {}", what,
                                                             type.toString())});
      return std::nullopt;
    }
    return std::move(result.program);
  }

  // CEL says "undefined field 'spend_9d'" of the aggregates object; a rule
  // author thinks of it as an aggregate that was never declared.
  static std::string explain(const std::string& message, const std::string& text) {
    const std::string prefix = "undefined field '";
    if (message.rfind(prefix, 0) != 0) return message;
    const std::string field = message.substr(prefix.size(), message.find('\'', prefix.size()) - prefix.size());
    if (text.find("agg." + field) == std::string::npos) return message;
    return fmt::format("unknown aggregate '{}' (declare it under 'aggregates:')", field);
  }

  std::optional<CompiledTemplate> compileTemplate(const Template& t, std::string_view what) {
    CompiledTemplate out;
    bool ok = true;
    for (const Template::Part& part : t.parts) {
      if (!part.is_expression) {
        out.parts.push_back({part.literal, std::nullopt});
        continue;
      }
      auto program = compile(part.expression, what);
      ok = ok && program.has_value();
      out.parts.push_back({"", std::move(program)});
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::vector<std::pair<std::string, cel::Program>> compileNamed(
      const std::vector<std::pair<std::string, Expression>>& named, const std::string& what) {
    std::vector<std::pair<std::string, cel::Program>> out;
    for (const auto& [name, e] : named) {
      if (auto program = compile(e, what + "." + name)) out.emplace_back(name, std::move(*program));
    }
    return out;
  }

  static std::unique_ptr<AggregateSpec> afterCount(const RuleSpec& spec) {
    const LinkedEvents& after = *spec.after;
    auto a = std::make_unique<AggregateSpec>();
    a->name = "after:" + spec.id;  // not a CEL name: no expression reads it
    a->function = AggregateFunction::kCount;
    a->on = after.on;
    a->by = {"customer_id"};  // the customer's record holds the count
    for (const std::string& field : after.match) {
      if (field != "customer_id") a->by.push_back(field);
    }
    // 1 ms steps: a linked event counts exactly while it is at most
    // `within` old, whatever the times.
    a->window.kind = WindowSpec::Kind::kSliding;
    a->window.size_ms = after.within_ms + 1;
    a->window.step_ms = 1;
    a->allowed_lateness_ms = after.lateness_ms;
    return a;
  }

  CompiledRule rule(const RuleSpec& spec) {
    CompiledRule r;
    r.spec = &spec;
    const std::string what = "rule " + spec.id;
    if (spec.after) r.after_count = afterCount(spec);
    if (!spec.when.text.empty() && compile(spec.when, what + ".when", /*must_be_bool=*/true)) {
      r.when = conjuncts(spec.when, what + ".when");
    }
    if (spec.schedule && spec.schedule->for_each == Schedule::ForEach::kCustomerSegment &&
        !spec.schedule->segment.text.empty()) {
      r.segment = compile(spec.schedule->segment, what + ".segment", /*must_be_bool=*/true);
    }
    if (spec.alert) {
      r.title = compileTemplate(spec.alert->title, what + ".alert.title");
      if (spec.alert->body) r.body = compileTemplate(*spec.alert->body, what + ".alert.body");
      r.facts = compileNamed(spec.alert->facts, what + ".alert.facts");
    }
    if (spec.block) {
      r.block_sku = compile(spec.block->sku, what + ".block.sku");
      r.block_store = compile(spec.block->store, what + ".block.store");
    }
    if (spec.tag) r.tag_value = compile(spec.tag->value, what + ".tag.value");
    if (spec.emit) r.emit_fields = compileNamed(spec.emit->fields, what + ".emit.record");
    return r;
  }

  // `text` compiles: its conjuncts, each added to the set once.
  std::vector<int> conjuncts(const Expression& e, std::string_view what) {
    noteReads(e);
    auto parts = cel::Program::compileConjuncts(e.text, set_.env->env);
    std::vector<int> ids;
    if (!parts.isOk()) {
      diagnostics_.push_back(Diagnostic{e.where, fmt::format("{}: {}", what, parts.status().message())});
      return ids;
    }
    for (cel::Conjunct& part : *parts) {
      auto [it, added] = conjunct_ids_.emplace(std::move(part.canonical), static_cast<int>(set_.conjuncts.size()));
      ids.push_back(it->second);
      if (!added) continue;
      set_.conjuncts.push_back(std::move(part.program));
      std::optional<CompiledRuleSet::Threshold> threshold;
      if (part.threshold) {
        auto [op, new_operand] = operand_ids_.emplace(std::move(part.threshold->operand_canonical),
                                                      static_cast<int>(set_.operands.size()));
        if (new_operand) set_.operands.push_back(std::move(part.threshold->operand));
        threshold = CompiledRuleSet::Threshold{op->second, part.threshold->op, std::move(part.threshold->constant)};
      }
      set_.thresholds.push_back(std::move(threshold));
    }
    return ids;
  }

  // Shared conjuncts first: when one is false it rules out every rule that
  // has it, at the cost of one evaluation. Then thresholds, whose operand
  // is evaluated once for all of them, before the rest (a regex, say). The
  // order does not change what a condition gives (see
  // Program::compileConjuncts).
  void orderConjuncts() {
    std::vector<int> uses(set_.conjuncts.size(), 0);
    for (const CompiledRule& r : set_.compiled) {
      for (int id : r.when) ++uses[id];
    }
    auto cheaper = [&](int a, int b) {
      if (uses[a] != uses[b]) return uses[a] > uses[b];
      return set_.thresholds[a].has_value() && !set_.thresholds[b].has_value();
    };
    for (CompiledRule& r : set_.compiled) std::stable_sort(r.when.begin(), r.when.end(), cheaper);
  }

  CompiledRuleSet& set_;
  std::vector<Diagnostic>& diagnostics_;
  std::map<std::string, int> conjunct_ids_;
  std::map<std::string, int> operand_ids_;
};

// A short, stable fingerprint of the files' contents.
std::string versionOf(const std::vector<std::string>& contents) {
  StableHash h;
  for (const std::string& text : contents) h.addPart(text);
  return fmt::format("{:016x}", h.value());
}

}  // namespace

LoadResult loadRuleFiles(const std::vector<std::string>& paths, const RuleFileOptions& options) {
  LoadResult result;
  auto set = std::make_shared<CompiledRuleSet>();
  std::vector<std::string> contents;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      result.diagnostics.push_back(Diagnostic{SourceLocation{path, 0, 0}, "cannot be read"});
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    contents.push_back(text.str());
    set->files.push_back(parseRuleFile(path, contents.back(), options, result.diagnostics));
  }
  std::map<std::string, SourceLocation> rule_ids;
  std::map<std::string, SourceLocation> aggregate_names;
  for (const RuleFile& file : set->files) {
    for (const auto& [spec, where] : file.aggregates) {
      checkUnique("aggregate", spec.name, where, aggregate_names, result.diagnostics);
      set->aggregates.push_back(&spec);
    }
    for (const RuleSpec& rule : file.rules) {
      if (!rule.id.empty()) checkUnique("rule id", rule.id, rule.where, rule_ids, result.diagnostics);
      set->rules.push_back(&rule);
    }
  }
  // Expressions are compiled only over a structurally sound set: a broken
  // aggregate would otherwise show up again as unknown in every rule using it.
  if (result.diagnostics.empty()) Compiler(*set, result.diagnostics).run();
  set->version = versionOf(contents);
  sortDiagnostics(result.diagnostics);
  if (result.diagnostics.empty()) result.rules = std::move(set);
  return result;
}

LoadResult loadRuleDirectory(const std::string& dir, const RuleFileOptions& options) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) paths.push_back(entry.path().string());
  }
  if (ec) {
    LoadResult failed;
    failed.diagnostics.push_back(Diagnostic{SourceLocation{dir, 0, 0}, "cannot list the rules directory: " + ec.message()});
    return failed;
  }
  std::sort(paths.begin(), paths.end());
  return loadRuleFiles(paths, options);
}

}  // namespace storepulse::rules
