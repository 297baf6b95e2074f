// Imports the real files in ../shared/data and checks invariants against
// counts taken by a separate, deliberately naive pass over the raw text.

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "connectors/importers/click_importers.h"
#include "connectors/importers/online_retail_importer.h"

namespace storepulse::importers {
namespace {

const std::string kDataDir = SP_DATA_DIR;
const std::string kOnlineRetail = kDataDir + "/online_retail_2010-12_2011-01.csv.gz";

// Raw lines via zlib's gzgets, independent of GzipLineReader.
std::vector<std::string> rawLines(const std::string& path) {
  std::vector<std::string> lines;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return lines;
  char buf[4096];
  std::string line;
  while (gzgets(f, buf, sizeof buf) != nullptr) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      lines.push_back(line);
      line.clear();
    }
  }
  if (!line.empty()) lines.push_back(line);
  gzclose(f);
  return lines;
}

// Only Description may hold commas, so the two leftmost and five rightmost
// fields can be cut without any quoting logic.
struct RawLine {
  std::string invoice, code, qty, price, customer;
};

RawLine cutRaw(const std::string& line) {
  RawLine r;
  const auto c1 = line.find(',');
  const auto c2 = line.find(',', c1 + 1);
  r.invoice = line.substr(0, c1);
  r.code = line.substr(c1 + 1, c2 - c1 - 1);
  std::vector<std::string> right;
  std::size_t end = line.size();
  for (int i = 0; i < 5; ++i) {
    const auto comma = line.rfind(',', end - 1);
    right.push_back(line.substr(comma + 1, end - comma - 1));
    end = comma;
  }
  // right = Country, CustomerID, UnitPrice, InvoiceDate, Quantity
  r.customer = right[1];
  r.price = right[2];
  r.qty = right[4];
  return r;
}

std::string importAll(const OnlineRetailImporter& importer, ImportReport& report) {
  std::string out;
  auto result = importer.run(kOnlineRetail, [&](std::string_view line) {
    out.append(line);
    out.push_back('\n');
  });
  EXPECT_TRUE(result.isOk()) << result.status().toString();
  if (result.isOk()) report = *result;
  return out;
}

TEST(RealDataTest, OnlineRetailMatchesIndependentCountsAndIsDeterministic) {
  const auto raw = rawLines(kOnlineRetail);
  ASSERT_EQ(raw.size(), 73'533u) << "missing or changed " << kOnlineRetail;

  std::set<std::string> cancelled, guests, sales_with_customer, customers_with_items;
  std::set<std::string> invoices_with_items;
  double expected_spend = 0;
  for (std::size_t i = 1; i < raw.size(); ++i) {
    const RawLine r = cutRaw(raw[i]);
    if (r.invoice[0] == 'C') {
      cancelled.insert(r.invoice);
    } else if (r.customer.empty()) {
      guests.insert(r.invoice);
    } else {
      sales_with_customer.insert(r.invoice);
      const bool product = r.code.size() >= 5 && r.code.find_first_not_of("0123456789") >= 5;
      const long qty = std::strtol(r.qty.c_str(), nullptr, 10);
      const double price = std::strtod(r.price.c_str(), nullptr);
      if (product && qty > 0 && price > 0) {
        invoices_with_items.insert(r.invoice);
        customers_with_items.insert(r.customer);
        expected_spend += static_cast<double>(qty) * price;
      }
    }
  }

  const OnlineRetailImporter importer;
  ImportReport report;
  const std::string out = importAll(importer, report);
  SCOPED_TRACE(report.toString());

  EXPECT_EQ(report.lines_read, 73'532u);
  EXPECT_EQ(report.count(DropKind::kMalformedLine), 0u);
  EXPECT_EQ(report.count(DropKind::kSplitInvoice), 0u);
  EXPECT_EQ(report.count(DropKind::kCancelledInvoice), cancelled.size());
  EXPECT_EQ(report.count(DropKind::kGuestInvoice), guests.size());
  EXPECT_EQ(report.purchases + report.count(DropKind::kEmptyInvoice), sales_with_customer.size());
  EXPECT_EQ(report.purchases, invoices_with_items.size());
  EXPECT_EQ(report.customers, customers_with_items.size());
  EXPECT_EQ(sales_with_customer.size(), 2'238u);  // documented in README.md

  // Every line parses; totals add up to the independent spend.
  double spend = 0;
  std::size_t lines = 0;
  std::set<std::string> order_ids;
  std::size_t pos = 0;
  while (pos < out.size()) {
    const auto nl = out.find('\n', pos);
    auto j = nlohmann::json::parse(out.substr(pos, nl - pos));
    pos = nl + 1;
    ++lines;
    if (j["type"] == "purchase") {
      EXPECT_TRUE(order_ids.insert(j["order_id"].get<std::string>()).second);
      EXPECT_GT(j["total"].get<double>(), 0);
      EXPECT_FALSE(j["items"].empty());
      spend += j["total"].get<double>();
    }
  }
  EXPECT_EQ(lines, report.eventsWritten());
  EXPECT_NEAR(spend, expected_spend, 0.005 * static_cast<double>(report.purchases));

  ImportReport again;
  EXPECT_EQ(importAll(importer, again), out) << "same input must give the same bytes";
}

template <typename Importer>
void expectCleanSortedClicks(const std::string& file, std::size_t clicks, std::size_t sessions) {
  std::vector<std::int64_t> ts;
  std::set<std::string> session_ids;
  auto report = Importer().run(kDataDir + "/" + file, [&](std::string_view line) {
    auto j = nlohmann::json::parse(line);
    ts.push_back(j["ts"].get<std::int64_t>());
    session_ids.insert(j["session_id"].get<std::string>());
  });
  ASSERT_TRUE(report.isOk()) << report.status().toString();
  EXPECT_EQ(report->lines_read, clicks);
  EXPECT_EQ(report->clicks, clicks);
  EXPECT_EQ(report->count(DropKind::kMalformedLine), 0u) << report->toString();
  EXPECT_EQ(session_ids.size(), sessions);
  EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
}

TEST(RealDataTest, YoochooseSampleImportsEveryClickInTsOrder) {
  expectCleanSortedClicks<YoochooseImporter>("yoochoose_clicks_sample.tsv.gz", 70'278, 17'794);
}

TEST(RealDataTest, DigineticaSampleImportsEveryViewInTsOrder) {
  // The data README says 12,390 views, as `wc -l` does; the file's last line
  // has no trailing newline, so there are 12,391.
  expectCleanSortedClicks<DigineticaImporter>("diginetica_views_sample.csv.gz", 12'391, 2'986);
}

}  // namespace
}  // namespace storepulse::importers
