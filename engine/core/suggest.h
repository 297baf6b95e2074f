#pragma once
// "did you mean ...?" for misspelt names in config and rule files.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace storepulse {

// The candidate closest to `wanted` by edit distance, if it is at most
// `max_distance` edits away (the first such candidate on a tie).
std::optional<std::string> closestName(std::string_view wanted, const std::vector<std::string_view>& candidates,
                                       size_t max_distance = 2);

}  // namespace storepulse
