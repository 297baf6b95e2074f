#pragma once
// Splits one delimited record into fields with RFC 4180 quoting: a field in
// double quotes may hold the separator, and "" inside it is one quote.
// Records spanning several lines (a newline inside quotes) are not joined:
// the retail files have none, and the line then fails as an unterminated quote.

#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace storepulse::importers {

// Fills `fields` (cleared first). Fails with kInvalidArgument on an
// unterminated quote or text between a closing quote and the next separator.
// A quote inside an unquoted field is kept as is: real exports contain
// `7" SINGLE`, and refusing it would lose good lines for no benefit.
Status splitCsvFields(std::string_view record, char separator, std::vector<std::string>& fields);

}  // namespace storepulse::importers
