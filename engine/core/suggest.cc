#include "engine/core/suggest.h"

#include <algorithm>

namespace storepulse {
namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<std::string> closestName(std::string_view wanted, const std::vector<std::string_view>& candidates,
                                       size_t max_distance) {
  std::optional<std::string> best;
  size_t best_distance = max_distance + 1;
  for (std::string_view c : candidates) {
    const size_t d = editDistance(wanted, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

}  // namespace storepulse
