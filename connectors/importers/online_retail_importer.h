#pragma once
// Turns the UCI "Online Retail" CSV (plain or .gz) into Storepulse events:
// one `purchase` per invoice and, optionally, one `customer` per customer
// when first seen. Dirty data is skipped and counted, never fatal; README.md
// lists every kind and why.

#include <string>
#include <string_view>

#include "connectors/importers/import_report.h"
#include "engine/core/status.h"

namespace storepulse::importers {

struct OnlineRetailOptions {
  // A `customer` event before a customer's first purchase gives rules a
  // home_store and first-seen time; off when profiles come from elsewhere.
  bool emit_customers = true;
};

class OnlineRetailImporter {
 public:
  explicit OnlineRetailImporter(OnlineRetailOptions options = {}) : options_(options) {}

  // Reads `path` (header line required) and passes each event to `sink` in
  // file order. Fails only when the file cannot be read or is not this data
  // set (wrong header); bad lines are counted in the report instead.
  Result<ImportReport> run(const std::string& path, const EventSink& sink) const;

 private:
  OnlineRetailOptions options_;
};

// Product stock codes start with five digits (85123A, 22041); everything else
// in the data set is postage, fees, discounts, samples, manual entries or
// vouchers (POST, DOT, C2, M, D, S, BANK CHARGES, AMAZONFEE, gift_0001_20...).
bool isProductStockCode(std::string_view code);

// Lower-case slug of a country used as store_id: "United Kingdom" ->
// "united-kingdom", "EIRE" -> "eire". Empty when nothing is left.
std::string countrySlug(std::string_view country);

}  // namespace storepulse::importers
