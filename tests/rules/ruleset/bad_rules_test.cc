// The corpus of broken rule files (bad/): each file, or each directory under
// bad/pairs/ loaded as one set, states the diagnostics the loader must report
// in its leading comments:
//
//   # expect: LINE:COL: TEXT
//
// The loader must report exactly these: for each expect line one diagnostic
// in that file at that line and column whose message contains TEXT ("..."
// in TEXT stands for any text, e.g. an absolute path), and nothing else.
//
// bad/cel/ holds mistakes only the CEL compile step finds (type errors,
// unknown names, syntax errors in expressions); it runs when
// SP_BAD_RULES_WITH_CEL is 1. bad/pending/ holds mistakes the loader does not
// report right yet (see the comments in each file); it runs when
// SP_BAD_RULES_WITH_PENDING is 1.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "rules/ruleset/ruleset.h"

#ifndef SP_RULES_TESTDATA
#error "SP_RULES_TESTDATA must name tests/rules/ruleset"
#endif
#ifndef SP_BAD_RULES_WITH_CEL
#define SP_BAD_RULES_WITH_CEL 0
#endif
#ifndef SP_BAD_RULES_WITH_PENDING
#define SP_BAD_RULES_WITH_PENDING 0
#endif

namespace storepulse::rules {
namespace {

namespace fs = std::filesystem;

const fs::path kBadDir = fs::path(SP_RULES_TESTDATA) / "bad";

struct Expectation {
  fs::path file;
  int line = 0;
  int column = 0;
  std::string text;
};

// One test: a single file, or a directory loaded as a set.
struct BadCase {
  std::string name;  // the test's name: the path under bad/, '_' for anything else than letters and digits
  fs::path path;
  bool directory = false;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.path.string(); }

bool isRuleFile(const fs::path& p) {
  return fs::is_regular_file(p) && (p.extension() == ".yaml" || p.extension() == ".yml");
}

std::vector<fs::path> sortedEntries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string testName(const fs::path& path) {
  std::string name = fs::relative(path, kBadDir).replace_extension().generic_string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// The rule files a case loads.
std::vector<fs::path> filesOf(const BadCase& c) {
  if (!c.directory) return {c.path};
  std::vector<fs::path> files;
  for (const fs::path& p : sortedEntries(c.path)) {
    if (isRuleFile(p)) files.push_back(p);
  }
  return files;
}

std::vector<BadCase> corpus() {
  std::vector<BadCase> cases;
  auto addFiles = [&](const fs::path& dir) {
    for (const fs::path& p : sortedEntries(dir)) {
      if (isRuleFile(p)) cases.push_back({testName(p), p, false});
    }
  };
  addFiles(kBadDir);
  for (const fs::path& p : sortedEntries(kBadDir / "pairs")) {
    if (fs::is_directory(p)) cases.push_back({testName(p), p, true});
  }
  if (SP_BAD_RULES_WITH_CEL) addFiles(kBadDir / "cel");
  if (SP_BAD_RULES_WITH_PENDING) addFiles(kBadDir / "pending");
  return cases;
}

std::vector<Expectation> expectationsIn(const fs::path& file) {
  static const std::regex kExpect(R"(^#\s*expect:\s*(\d+):(\d+):\s?(.*)$)");
  std::vector<Expectation> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, kExpect)) continue;
    std::string text = m[3].str();
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    out.push_back(Expectation{file, std::stoi(m[1].str()), std::stoi(m[2].str()), text});
  }
  return out;
}

std::vector<Expectation> expectationsOf(const BadCase& c) {
  std::vector<Expectation> out;
  for (const fs::path& f : filesOf(c)) {
    auto more = expectationsIn(f);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

// `text` with "..." standing for any run of characters.
bool containsPattern(const std::string& message, const std::string& text) {
  size_t from = 0;
  size_t start = 0;
  while (true) {
    const size_t gap = text.find("...", start);
    const std::string piece = text.substr(start, gap == std::string::npos ? std::string::npos : gap - start);
    const size_t at = message.find(piece, from);
    if (at == std::string::npos) return false;
    from = at + piece.size();
    if (gap == std::string::npos) return true;
    start = gap + 3;
  }
}

bool sameFile(const std::string& reported, const fs::path& expected) {
  std::error_code ec;
  return fs::equivalent(fs::path(reported), expected, ec) ||
         fs::path(reported).lexically_normal() == expected.lexically_normal();
}

bool matches(const Diagnostic& d, const Expectation& e) {
  return d.where.line == e.line && d.where.column == e.column && sameFile(d.where.file, e.file) &&
         containsPattern(d.message, e.text);
}

std::string describe(const Expectation& e) {
  return e.file.filename().string() + ":" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.text;
}

std::string describe(const Diagnostic& d) {
  Diagnostic shown = d;
  shown.where.file = fs::path(d.where.file).filename().string();
  return shown.toString();
}

class BadRuleFileTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadRuleFileTest, ReportsExactlyTheExpectedDiagnostics) {
  const BadCase& c = GetParam();
  const std::vector<Expectation> expected = expectationsOf(c);
  const LoadResult result =
      c.directory ? loadRuleDirectory(c.path.string(), RuleFileOptions{}) : loadRuleFiles({c.path.string()}, RuleFileOptions{});

  EXPECT_FALSE(result.ok()) << c.path << " loaded without error";
  std::vector<bool> used(result.diagnostics.size(), false);
  std::vector<Expectation> missing;
  for (const Expectation& e : expected) {
    bool found = false;
    for (size_t i = 0; i < result.diagnostics.size() && !found; ++i) {
      if (!used[i] && matches(result.diagnostics[i], e)) used[i] = found = true;
    }
    if (!found) missing.push_back(e);
  }
  std::vector<Diagnostic> unexpected;
  for (size_t i = 0; i < result.diagnostics.size(); ++i) {
    if (!used[i]) unexpected.push_back(result.diagnostics[i]);
  }
  if (missing.empty() && unexpected.empty()) return;

  std::ostringstream report;
  report << c.path.string() << ": the diagnostics differ from the '# expect:' lines\n";
  report << "expected (" << expected.size() << "):\n";
  for (const Expectation& e : expected) report << "  " << describe(e) << "\n";
  report << "reported (" << result.diagnostics.size() << "):\n";
  for (const Diagnostic& d : result.diagnostics) report << "  " << describe(d) << "\n";
  if (!missing.empty()) {
    report << "expected but not reported:\n";
    for (const Expectation& e : missing) report << "  " << describe(e) << "\n";
  }
  if (!unexpected.empty()) {
    report << "reported but not expected:\n";
    for (const Diagnostic& d : unexpected) report << "  " << describe(d) << "\n";
  }
  ADD_FAILURE() << report.str();
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadRuleFileTest, testing::ValuesIn(corpus()),
                         [](const testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(BadRuleCorpusTest, HasAtLeastThirtyCasesEachWithExpectations) {
  const std::vector<BadCase> cases = corpus();
  EXPECT_GE(cases.size(), 30u) << "the corpus in " << kBadDir << " is too small";
  for (const BadCase& c : cases) {
    EXPECT_FALSE(expectationsOf(c).empty()) << c.path << " has no '# expect: LINE:COL: TEXT' line";
    if (c.directory) {
      EXPECT_GE(filesOf(c).size(), 2u) << c.path << " should hold the two files loaded as one set";
    }
  }
}

TEST(BadRuleCorpusTest, EveryCorpusFileStatesItsDiagnosticsOrBelongsToAPair) {
  // Every file directly in bad/, cel/ and pending/ is a case of its own and
  // states what it expects (a file in pairs/ may expect nothing: the error
  // of a duplicate is reported in the other file).
  for (const fs::path& dir : {kBadDir, kBadDir / "cel", kBadDir / "pending"}) {
    for (const fs::path& p : sortedEntries(dir)) {
      if (!fs::is_regular_file(p)) continue;
      EXPECT_TRUE(isRuleFile(p)) << p << " is neither .yaml nor .yml, so no test loads it";
      if (isRuleFile(p)) {
        EXPECT_FALSE(expectationsIn(p).empty()) << p << " has no '# expect:' line";
      }
    }
  }
}

TEST(BadRuleCorpusTest, NamesAreUnique) {
  std::vector<std::string> names;
  for (const BadCase& c : corpus()) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace storepulse::rules
