#include "connectors/importers/online_retail_importer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/importers/csv_splitter.h"
#include "connectors/importers/gzip_line_reader.h"
#include "connectors/importers/time_text.h"
#include "engine/core/time.h"

namespace storepulse::importers {
namespace {

using Json = nlohmann::ordered_json;  // insertion order keeps output bytes stable

constexpr std::size_t kColumns = 8;
// Far above any real order line (the largest in the full data set is 80,995);
// it bounds the arithmetic of the total.
constexpr std::int64_t kMaxAbsQty = 1'000'000'000;
enum Column { kInvoiceNo, kStockCode, kDescription, kQuantity, kInvoiceDate, kUnitPrice,
              kCustomerId, kCountry };

struct SaleLine {
  std::string sku;
  std::int64_t qty = 0;
  double price = 0;              // for output: shortest form prints "2.55"
  std::int64_t price_micros = 0; // for the total: exact decimal arithmetic
  std::int64_t ts_ms = 0;
  std::string customer_id;
  std::string country;
};

struct Invoice {
  std::string id;
  std::vector<SaleLine> lines;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> parseInt(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Decimal text to millionths, exactly; money never goes through binary floats
// before the total is rounded. At most 6 decimals; anything else is malformed.
std::optional<std::int64_t> parseMicros(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  // Nine whole digits keep qty * price inside the 128-bit total below.
  if (whole.empty() || whole.size() > 9 || fraction.size() > 6) return std::nullopt;
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  std::int64_t v = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  std::int64_t frac = 0;
  std::int64_t scale = 100'000;
  for (char c : fraction) {
    if (c < '0' || c > '9') return std::nullopt;
    frac += (c - '0') * scale;
    scale /= 10;
  }
  v = v * 1'000'000 + frac;
  return negative ? -v : v;
}

// The original export stores CustomerID as a float ("17850.0"); ids are text.
std::string normalizeCustomerId(std::string_view raw) {
  std::string_view id = trim(raw);
  if (id.size() > 2 && id.substr(id.size() - 2) == ".0") id.remove_suffix(2);
  return std::string(id);
}

class Run {
 public:
  Run(const OnlineRetailOptions& options, const EventSink& sink, ImportReport& report)
      : options_(options), sink_(sink), report_(report) {}

  // Parses one data line; a malformed one is counted and ignored so that it
  // neither ends nor splits the invoice around it.
  void addLine(std::string_view text, std::uint64_t line_number) {
    ++report_.lines_read;
    if (Status s = splitCsvFields(text, ',', fields_); !s.isOk()) {
      report_.addMalformed(line_number, s.message());
      return;
    }
    if (fields_.size() != kColumns) {
      report_.addMalformed(line_number,
                           fmt::format("expected {} fields, got {}", kColumns, fields_.size()));
      return;
    }
    const std::string_view invoice_no = trim(fields_[kInvoiceNo]);
    SaleLine line;
    line.sku = std::string(trim(fields_[kStockCode]));
    if (invoice_no.empty() || line.sku.empty()) {
      report_.addMalformed(line_number, "empty InvoiceNo or StockCode");
      return;
    }
    const auto qty = parseInt(trim(fields_[kQuantity]));
    if (!qty || *qty > kMaxAbsQty || *qty < -kMaxAbsQty) {
      report_.addMalformed(line_number, "bad Quantity");
      return;
    }
    const std::string_view price_text = trim(fields_[kUnitPrice]);
    const auto micros = parseMicros(price_text);
    double price = 0;
    auto [end, ec] = std::from_chars(price_text.data(), price_text.data() + price_text.size(), price);
    if (!micros || ec != std::errc() || end != price_text.data() + price_text.size()) {
      report_.addMalformed(line_number, "bad UnitPrice");
      return;
    }
    const auto ts = parseDateTimeMs(trim(fields_[kInvoiceDate]));
    if (!ts) {
      report_.addMalformed(line_number, "bad InvoiceDate");
      return;
    }
    line.qty = *qty;
    line.price = price;
    line.price_micros = *micros;
    line.ts_ms = *ts;
    line.customer_id = normalizeCustomerId(fields_[kCustomerId]);
    line.country = std::string(trim(fields_[kCountry]));

    if (invoice_no != current_.id) {
      finishInvoice();
      current_.id = std::string(invoice_no);
    }
    current_.lines.push_back(std::move(line));
  }

  void finishInvoice() {
    if (current_.lines.empty()) return;
    Invoice invoice = std::move(current_);
    current_ = Invoice{};
    // The file is in invoice order; an id coming back later would become a
    // second purchase with the same order_id, which downstream would count
    // twice. It never happens in the real file; refuse it if it does.
    if (!finished_ids_.insert(invoice.id).second) {
      report_.add(DropKind::kSplitInvoice);
      return;
    }
    const char first = invoice.id.front();
    if (first == 'C' || first == 'c') {
      report_.add(DropKind::kCancelledInvoice);
      return;
    }
    if (first < '0' || first > '9') {
      report_.add(DropKind::kAdjustmentInvoice);
      return;
    }
    // Customer, time and country are per invoice in the data; the first line
    // speaks for the invoice (8 invoices straddle a minute; the first minute
    // is when the order was placed).
    const SaleLine& head = invoice.lines.front();
    if (head.customer_id.empty()) {
      report_.add(DropKind::kGuestInvoice);
      return;
    }
    Json items = Json::array();
    __int128 total_micros = 0;
    for (const SaleLine& line : invoice.lines) {
      if (!isProductStockCode(line.sku)) {
        report_.add(DropKind::kNonProductLine);
        ++report_.non_product_codes[line.sku];
      } else if (line.qty <= 0) {
        report_.add(DropKind::kNonPositiveQtyLine);
      } else if (line.price_micros <= 0) {
        report_.add(DropKind::kNonPositivePriceLine);
      } else {
        items.push_back(Json{{"sku", line.sku}, {"qty", line.qty}, {"price", line.price}});
        total_micros += static_cast<__int128>(line.qty) * line.price_micros;
      }
    }
    if (items.empty()) {
      report_.add(DropKind::kEmptyInvoice);
      return;
    }
    const std::string ts = formatRfc3339Millis(head.ts_ms);
    const std::string store = countrySlug(head.country);
    if (options_.emit_customers && seen_customers_.insert(head.customer_id).second) {
      Json customer{{"type", "customer"}, {"customer_id", head.customer_id}, {"ts", ts}};
      if (!store.empty()) customer["home_store"] = store;
      emit(customer);
      ++report_.customers;
    }
    // Half a cent rounds away from zero, like a till.
    const __int128 cents = (total_micros + 5'000) / 10'000;
    Json purchase{{"type", "purchase"},
                  {"order_id", invoice.id},
                  {"customer_id", head.customer_id},
                  {"ts", ts}};
    if (!store.empty()) purchase["store_id"] = store;
    purchase["channel"] = "online";
    purchase["items"] = std::move(items);
    // cents / 100.0 is the double nearest the decimal, so it prints as "15.3".
    purchase["total"] = static_cast<double>(cents) / 100.0;
    emit(purchase);
    ++report_.purchases;
  }

 private:
  void emit(const Json& event) {
    // Invalid UTF-8 in a field is replaced rather than thrown: exceptions
    // must not escape this module.
    sink_(event.dump(-1, ' ', false, Json::error_handler_t::replace));
  }

  const OnlineRetailOptions& options_;
  const EventSink& sink_;
  ImportReport& report_;
  std::vector<std::string> fields_;
  Invoice current_;
  std::unordered_set<std::string> finished_ids_;
  std::unordered_set<std::string> seen_customers_;
};

}  // namespace

bool isProductStockCode(std::string_view code) {
  if (code.size() < 5) return false;
  for (std::size_t i = 0; i < 5; ++i) {
    if (code[i] < '0' || code[i] > '9') return false;
  }
  return true;
}

std::string countrySlug(std::string_view country) {
  std::string slug;
  bool pending_dash = false;
  for (char c : country) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool upper = c >= 'A' && c <= 'Z';
    if (alnum || upper) {
      if (pending_dash && !slug.empty()) slug.push_back('-');
      pending_dash = false;
      slug.push_back(upper ? static_cast<char>(c - 'A' + 'a') : c);
    } else {
      pending_dash = true;
    }
  }
  return slug;
}

Result<ImportReport> OnlineRetailImporter::run(const std::string& path,
                                               const EventSink& sink) const {
  SP_ASSIGN_OR_RETURN(GzipLineReader reader, GzipLineReader::open(path));
  ImportReport report;
  report.source = path;
  std::string line;
  SP_ASSIGN_OR_RETURN(bool has_header, reader.next(line));
  // A missing header usually means the wrong file; failing beats reporting
  // every line as malformed.
  std::string_view header = line;
  if (header.starts_with("\xEF\xBB\xBF")) header.remove_prefix(3);  // UTF-8 BOM from Excel
  if (!has_header || !header.starts_with("InvoiceNo,StockCode,")) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{}:1: expected header InvoiceNo,StockCode,Description,Quantity,"
                              "InvoiceDate,UnitPrice,CustomerID,Country",
                              path));
  }
  Run run(options_, sink, report);
  while (true) {
    SP_ASSIGN_OR_RETURN(bool more, reader.next(line));
    if (!more) break;
    run.addLine(line, reader.lineNumber());
  }
  run.finishInvoice();
  return report;
}

}  // namespace storepulse::importers
