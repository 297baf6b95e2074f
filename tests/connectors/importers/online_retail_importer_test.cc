#include "connectors/importers/online_retail_importer.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace storepulse::importers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const std::string kDirty = std::string(SP_FIXTURES_DIR) + "/online_retail_dirty.csv";

struct Output {
  ImportReport report;
  std::vector<std::string> lines;
};

Output runImporter(const std::string& path, OnlineRetailOptions options = {}) {
  Output out;
  auto report = OnlineRetailImporter(options).run(
      path, [&](std::string_view line) { out.lines.emplace_back(line); });
  EXPECT_TRUE(report.isOk()) << report.status().toString();
  if (report.isOk()) out.report = *report;
  return out;
}

std::vector<std::string> orderIds(const std::vector<std::string>& lines) {
  std::vector<std::string> ids;
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "purchase") ids.push_back(j["order_id"]);
  }
  return ids;
}

TEST(OnlineRetailImporterTest, EmitsOnePurchasePerInvoiceWithSpecFields) {
  Output out = runImporter(kDirty);
  ASSERT_GE(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[0],
            R"({"type":"customer","customer_id":"17850","ts":"2010-12-01T08:26:00Z",)"
            R"("home_store":"united-kingdom"})");
  // Quoted descriptions with commas and "" do not shift the columns; prices
  // and the total print without float noise.
  EXPECT_EQ(out.lines[1],
            R"({"type":"purchase","order_id":"536365","customer_id":"17850",)"
            R"("ts":"2010-12-01T08:26:00Z","store_id":"united-kingdom","channel":"online",)"
            R"("items":[{"sku":"85123A","qty":6,"price":2.55},{"sku":"22041","qty":2,"price":2.1},)"
            R"({"sku":"82567","qty":1,"price":2.1}],"total":21.6})");
  EXPECT_THAT(orderIds(out.lines), ElementsAre("536365", "536520", "536522", "536600"));
  EXPECT_EQ(out.report.purchases, 4u);
  EXPECT_EQ(out.report.lines_read, 21u);
}

TEST(OnlineRetailImporterTest, SkipsCancellationsAndCountsThem) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kCancelledInvoice), 2u);
  for (const auto& id : orderIds(out.lines)) EXPECT_NE(id.front(), 'C');
}

TEST(OnlineRetailImporterTest, SkipsAdjustmentInvoicesAndCountsThem) {
  EXPECT_EQ(runImporter(kDirty).report.count(DropKind::kAdjustmentInvoice), 1u);
}

TEST(OnlineRetailImporterTest, SkipsGuestOrdersAndCountsThem) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kGuestInvoice), 2u);
  for (const auto& line : out.lines) {
    EXPECT_FALSE(nlohmann::json::parse(line)["customer_id"].get<std::string>().empty());
  }
}

TEST(OnlineRetailImporterTest, DropsNonProductLinesFromInvoiceAndCountsByCode) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kNonProductLine), 3u);
  EXPECT_THAT(out.report.non_product_codes, ElementsAre(Pair("M", 1u), Pair("POST", 2u)));
  EXPECT_THAT(out.lines[1], ::testing::Not(HasSubstr("POST")));
}

TEST(OnlineRetailImporterTest, DropsZeroPriceAndNegativeQuantityLines) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kNonPositivePriceLine), 1u);
  EXPECT_EQ(out.report.count(DropKind::kNonPositiveQtyLine), 1u);
  auto eire = nlohmann::json::parse(out.lines[3]);
  ASSERT_EQ(eire["order_id"], "536520");
  EXPECT_EQ(eire["items"].size(), 1u);
  EXPECT_EQ(eire["total"], 12.75);
}

TEST(OnlineRetailImporterTest, SkipsInvoiceWithNoItemsLeftAndCountsIt) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kEmptyInvoice), 1u);
  EXPECT_THAT(orderIds(out.lines), ::testing::Not(::testing::Contains("536521")));
}

TEST(OnlineRetailImporterTest, CountsMalformedLinesWithoutStopping) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kMalformedLine), 4u);
  ASSERT_EQ(out.report.malformed_examples.size(), 4u);
  EXPECT_THAT(out.report.malformed_examples[0], HasSubstr("online_retail_dirty.csv:12: bad Quantity"));
  EXPECT_THAT(out.report.malformed_examples[1], HasSubstr(":13: unterminated quote"));
  EXPECT_THAT(out.report.malformed_examples[2], HasSubstr(":14: expected 8 fields, got 7"));
  EXPECT_THAT(out.report.malformed_examples[3], HasSubstr(":15: bad InvoiceDate"));
}

TEST(OnlineRetailImporterTest, RefusesInvoiceNumberThatReappearsLater) {
  Output out = runImporter(kDirty);
  EXPECT_EQ(out.report.count(DropKind::kSplitInvoice), 1u);
  EXPECT_EQ(std::count(out.lines.begin(), out.lines.end(), out.lines[1]), 1);
}

TEST(OnlineRetailImporterTest, StripsDotZeroFromCustomerIdAndSlugsCountry) {
  Output out = runImporter(kDirty);
  auto eire = nlohmann::json::parse(out.lines[3]);
  EXPECT_EQ(eire["customer_id"], "14729");
  EXPECT_EQ(eire["store_id"], "eire");
  EXPECT_EQ(countrySlug("United Kingdom"), "united-kingdom");
  EXPECT_EQ(countrySlug("  Channel  Islands "), "channel-islands");
  EXPECT_EQ(countrySlug("RSA"), "rsa");
}

TEST(OnlineRetailImporterTest, ReadsUsDateFormatAndRoundsTotalToCents) {
  Output out = runImporter(kDirty);
  auto germany = nlohmann::json::parse(out.lines[5]);
  ASSERT_EQ(germany["order_id"], "536522");
  EXPECT_EQ(germany["ts"], "2010-12-01T12:55:00Z");
  EXPECT_EQ(germany["total"], 39.6);
  EXPECT_THAT(out.lines[5], HasSubstr(R"("total":39.6})"));
}

TEST(OnlineRetailImporterTest, EmitsCustomerEventOnlyOnFirstPurchase) {
  Output out = runImporter(kDirty);
  std::vector<std::string> customers;
  for (const auto& line : out.lines) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "customer") customers.push_back(j["customer_id"]);
  }
  // 12662's first invoice had no items left, so it is first seen on 536522.
  EXPECT_THAT(customers, ElementsAre("17850", "14729", "12662"));
  EXPECT_EQ(out.report.customers, 3u);
  EXPECT_EQ(out.lines.size(), 7u);
}

TEST(OnlineRetailImporterTest, CustomerEventsCanBeTurnedOff) {
  Output out = runImporter(kDirty, OnlineRetailOptions{.emit_customers = false});
  EXPECT_EQ(out.report.customers, 0u);
  EXPECT_EQ(out.lines.size(), 4u);
}

TEST(OnlineRetailImporterTest, ReportListsEveryKind) {
  const std::string text = runImporter(kDirty).report.toString();
  EXPECT_THAT(text, HasSubstr("cancelled_invoices: 2\n"));
  EXPECT_THAT(text, HasSubstr("guest_invoices: 2\n"));
  EXPECT_THAT(text, HasSubstr("non_product_code POST: 2\n"));
  EXPECT_THAT(text, HasSubstr("events_written: 7 (purchases 4, customers 3, clicks 0)"));
}

TEST(OnlineRetailImporterTest, FailsOnFileWithoutHeader) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "online_retail_no_header.csv").string();
  std::ofstream(path) << "536365,85123A,X,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n";
  auto report = OnlineRetailImporter().run(path, [](std::string_view) {});
  ASSERT_FALSE(report.isOk());
  EXPECT_EQ(report.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("expected header"));
}

TEST(OnlineRetailImporterTest, FailsOnMissingFileWithNotFound) {
  auto report = OnlineRetailImporter().run("/nonexistent/retail.csv.gz", [](std::string_view) {});
  ASSERT_FALSE(report.isOk());
  EXPECT_EQ(report.status().code(), ErrorCode::kNotFound);
}

TEST(OnlineRetailImporterTest, RecognisesProductStockCodes) {
  EXPECT_TRUE(isProductStockCode("85123A"));
  EXPECT_TRUE(isProductStockCode("22041"));
  EXPECT_TRUE(isProductStockCode("15056BL"));
  for (const char* code : {"POST", "M", "m", "DOT", "D", "C2", "S", "B", "BANK CHARGES",
                           "AMAZONFEE", "CRUK", "PADS", "DCGS0003", "gift_0001_20", "1234"}) {
    EXPECT_FALSE(isProductStockCode(code)) << code;
  }
}

}  // namespace
}  // namespace storepulse::importers
