#pragma once
// What the pipeline and rule engine tests share: quiet logs and the default
// topic names they bind.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

namespace storepulse::fakes {

// The pipeline logs every assignment and rejection; the tests provoke
// hundreds. Errors still show.
class QuietLogs : public ::testing::Environment {
 public:
  void SetUp() override { spdlog::set_level(spdlog::level::err); }
};
// Inline: registered once per test binary, however many files include this.
[[maybe_unused]] inline ::testing::Environment* const kQuietLogs =
    ::testing::AddGlobalTestEnvironment(new QuietLogs);

inline const std::string kClicks = "retail.clicks";
inline const std::string kScans = "retail.scans";
inline const std::string kPurchases = "retail.purchases";
inline const std::string kInventory = "retail.inventory";
inline const std::string kCustomers = "retail.customers";
inline const std::string kStores = "retail.stores";

}  // namespace storepulse::fakes
