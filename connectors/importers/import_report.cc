#include "connectors/importers/import_report.h"

#include <fmt/format.h>

namespace storepulse::importers {

const char* dropKindName(DropKind kind) {
  switch (kind) {
    case DropKind::kMalformedLine: return "malformed_lines";
    case DropKind::kCancelledInvoice: return "cancelled_invoices";
    case DropKind::kAdjustmentInvoice: return "adjustment_invoices";
    case DropKind::kGuestInvoice: return "guest_invoices";
    case DropKind::kSplitInvoice: return "split_invoices";
    case DropKind::kNonProductLine: return "non_product_lines";
    case DropKind::kNonPositiveQtyLine: return "non_positive_qty_lines";
    case DropKind::kNonPositivePriceLine: return "non_positive_price_lines";
    case DropKind::kEmptyInvoice: return "empty_invoices";
  }
  return "unknown";
}

void ImportReport::addMalformed(std::uint64_t line_number, std::string_view reason) {
  add(DropKind::kMalformedLine);
  if (malformed_examples.size() < kMaxExamples) {
    malformed_examples.push_back(fmt::format("{}:{}: {}", source, line_number, reason));
  }
}

std::string ImportReport::toString() const {
  std::string out = fmt::format("source: {}\nlines_read: {}\n", source, lines_read);
  out += fmt::format("events_written: {} (purchases {}, customers {}, clicks {})\n",
                     eventsWritten(), purchases, customers, clicks);
  for (std::size_t i = 0; i < kDropKindCount; ++i) {
    out += fmt::format("{}: {}\n", dropKindName(static_cast<DropKind>(i)), dropped[i]);
  }
  for (const auto& [code, n] : non_product_codes) {
    out += fmt::format("  non_product_code {}: {}\n", code, n);
  }
  for (const auto& example : malformed_examples) out += fmt::format("  malformed {}\n", example);
  return out;
}

}  // namespace storepulse::importers
