#include "connectors/importers/click_importers.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace storepulse::importers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kYoochoose = std::string(SP_FIXTURES_DIR) + "/yoochoose_clicks.tsv";
const std::string kDiginetica = std::string(SP_FIXTURES_DIR) + "/diginetica_views.csv";

template <typename Importer>
std::pair<ImportReport, std::vector<std::string>> runImporter(const std::string& path,
                                                              ClickImportOptions options = {}) {
  std::vector<std::string> lines;
  auto report =
      Importer(options).run(path, [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_TRUE(report.isOk()) << report.status().toString();
  return {report.isOk() ? *report : ImportReport{}, lines};
}

TEST(YoochooseImporterTest, EmitsClickEventsSortedByTsWithTiesInFileOrder) {
  auto [report, lines] = runImporter<YoochooseImporter>(kYoochoose);
  EXPECT_THAT(
      lines,
      ElementsAre(
          R"({"type":"click","customer_id":"s6","session_id":"6","sku":"214701242","ts":1396300000500,"channel":"web"})",
          R"({"type":"click","customer_id":"s9","session_id":"9","sku":"214701242","ts":1396300000500,"channel":"web"})",
          R"({"type":"click","customer_id":"s6","session_id":"6","sku":"214826623","ts":1396346400123,"channel":"web"})",
          R"({"type":"click","customer_id":"s3","session_id":"3","sku":"214716935","ts":1396437466940,"channel":"web"})",
          R"({"type":"click","customer_id":"s3","session_id":"3","sku":"214832672","ts":1396438212318,"channel":"web"})"));
  EXPECT_EQ(report.clicks, 5u);
  EXPECT_EQ(report.lines_read, 7u);  // header excluded
}

TEST(YoochooseImporterTest, CountsMalformedLinesWithoutStopping) {
  auto [report, lines] = runImporter<YoochooseImporter>(kYoochoose);
  EXPECT_EQ(report.count(DropKind::kMalformedLine), 2u);
  ASSERT_EQ(report.malformed_examples.size(), 2u);
  EXPECT_THAT(report.malformed_examples[0], HasSubstr("yoochoose_clicks.tsv:6: expected 3 fields"));
  EXPECT_THAT(report.malformed_examples[1], HasSubstr(":7: bad Time"));
}

TEST(YoochooseImporterTest, KeepsFileOrderWhenSortingIsOff) {
  auto [report, lines] =
      runImporter<YoochooseImporter>(kYoochoose, ClickImportOptions{.sort_by_ts = false});
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr(R"("ts":1396437466940)"));
  EXPECT_THAT(lines[4], HasSubstr(R"("customer_id":"s9")"));
}

TEST(DigineticaImporterTest, UsesUserIdOrFallsBackToSessionAndAddsTimeframeToDate) {
  auto [report, lines] = runImporter<DigineticaImporter>(kDiginetica);
  EXPECT_THAT(
      lines,
      ElementsAre(
          R"({"type":"click","customer_id":"d50","session_id":"50","sku":"200","ts":1451606400000,"channel":"web"})",
          R"({"type":"click","customer_id":"2","session_id":"48","sku":"24764","ts":1460160008863,"channel":"web"})",
          R"({"type":"click","customer_id":"d1","session_id":"1","sku":"81766","ts":1462752526309,"channel":"web"})",
          R"({"type":"click","customer_id":"d1","session_id":"1","sku":"31331","ts":1462753031018,"channel":"web"})"));
}

TEST(DigineticaImporterTest, CountsBadTimeframeAndImpossibleDateAsMalformed) {
  auto [report, lines] = runImporter<DigineticaImporter>(kDiginetica);
  EXPECT_EQ(report.lines_read, 6u);
  EXPECT_EQ(report.clicks, 4u);
  EXPECT_EQ(report.count(DropKind::kMalformedLine), 2u);
  ASSERT_EQ(report.malformed_examples.size(), 2u);
  EXPECT_THAT(report.malformed_examples[0], HasSubstr(":5: bad timeframe"));
  EXPECT_THAT(report.malformed_examples[1], HasSubstr(":6: bad eventdate"));
}

TEST(DigineticaImporterTest, FailsOnMissingFile) {
  auto report = DigineticaImporter().run("/nonexistent/views.csv", [](std::string_view) {});
  ASSERT_FALSE(report.isOk());
  EXPECT_EQ(report.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace storepulse::importers
