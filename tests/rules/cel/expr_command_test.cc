// `storepulse expr eval` as a user runs it: the real binary prints the line
// evalToJsonLine gives (which the conformance table checks case by case)
// and exits 0 whatever the outcome.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "rules/cel/expr_eval.h"

namespace storepulse::cel {
namespace {

struct CommandRun {
  std::string out;
  int status;
};

std::string quoted(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandRun storepulse(const std::string& expr, const std::string& vars) {
  std::string command = std::string(SP_STOREPULSE_BIN) + " expr eval";
  if (!vars.empty()) command += " --vars " + quoted(vars);
  command += " -- " + quoted(expr) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  CommandRun run{"", -1};
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) run.out.append(buffer.data(), n);
  run.status = WEXITSTATUS(pclose(pipe));
  return run;
}

TEST(ExprEvalCommand, PrintsOneTypedLineAndExitsZeroForValuesAndErrorsAlike) {
  const std::pair<std::string, std::string> cases[] = {
      {"1 + 2 * 3", ""},
      {"-9223372036854775808", ""},
      {"9223372036854775807 + 1", ""},
      {"x * 2", R"({"x": 21})"},
      {"tags.exists(t, t == 'vip')", R"({"tags": ["new", "vip"]})"},
      {"'héllo'.size()", ""},
      {"duration('1h30m') + duration('90s')", ""},
      {"timestamp('2024-03-01T10:00:00Z').getHours('Asia/Shanghai')", ""},
      {"{'a': 1, 'b': [true, null]}", ""},
      {"b'\\xff\\x00'", ""},
      {"1 / 0", ""},
      {"1 + 1.0", ""},
      {"nope + 1", ""},
      {"(1 + ", ""},
      {"x", "not json"},
  };
  for (const auto& [expr, vars] : cases) {
    const CommandRun run = storepulse(expr, vars);
    EXPECT_EQ(run.status, 0) << expr;
    EXPECT_EQ(run.out, evalToJsonLine(expr, vars) + "\n") << expr;
  }
}

}  // namespace
}  // namespace storepulse::cel
