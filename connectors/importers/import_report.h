#pragma once
// What an importer did with its input: events written and, for every kind of
// dirty data it refused, how many. The caller prints it; nothing is dropped
// without being counted here.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace storepulse::importers {

// Receives one event as a JSON object without a trailing newline.
using EventSink = std::function<void(std::string_view json_line)>;

// Kinds of input an importer skips. "Invoice" kinds count whole invoices,
// "Line" kinds count file lines. README.md says why each is skipped.
enum class DropKind {
  kMalformedLine,        // wrong column count, bad quoting, unparsable number or date
  kCancelledInvoice,     // InvoiceNo starts with 'C'
  kAdjustmentInvoice,    // InvoiceNo starts with another letter (e.g. 'A' bad-debt adjustments)
  kGuestInvoice,         // no CustomerID
  kSplitInvoice,         // an invoice number seen again after other invoices
  kNonProductLine,       // postage, fees, discounts, manual lines...
  kNonPositiveQtyLine,   // quantity <= 0 on a sale
  kNonPositivePriceLine, // unit price <= 0
  kEmptyInvoice,         // nothing left after dropping lines
};
inline constexpr std::size_t kDropKindCount = 9;

// Stable snake_case name, e.g. "cancelled_invoices".
const char* dropKindName(DropKind kind);

struct ImportReport {
  std::string source;          // input path
  std::uint64_t lines_read = 0;  // data lines, header excluded
  std::uint64_t purchases = 0;
  std::uint64_t customers = 0;
  std::uint64_t clicks = 0;
  std::array<std::uint64_t, kDropKindCount> dropped{};
  // Breakdown of kNonProductLine by stock code, so odd codes stay visible.
  std::map<std::string, std::uint64_t> non_product_codes;
  // The first few malformed lines as "path:line: reason", to find them fast.
  std::vector<std::string> malformed_examples;

  static constexpr std::size_t kMaxExamples = 10;

  std::uint64_t count(DropKind kind) const { return dropped[static_cast<std::size_t>(kind)]; }
  void add(DropKind kind, std::uint64_t n = 1) { dropped[static_cast<std::size_t>(kind)] += n; }
  void addMalformed(std::uint64_t line_number, std::string_view reason);
  std::uint64_t eventsWritten() const { return purchases + customers + clicks; }

  // Multi-line human summary; zero counts are included so runs diff cleanly.
  std::string toString() const;
};

}  // namespace storepulse::importers
