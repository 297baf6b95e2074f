#include "connectors/importers/csv_splitter.h"

namespace storepulse::importers {

Status splitCsvFields(std::string_view record, char separator, std::vector<std::string>& fields) {
  fields.clear();
  std::size_t i = 0;
  const std::size_t n = record.size();
  while (true) {
    std::string field;
    if (i < n && record[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const char c = record[i++];
        if (c != '"') {
          field.push_back(c);
        } else if (i < n && record[i] == '"') {
          field.push_back('"');
          ++i;
        } else {
          closed = true;
          break;
        }
      }
      if (!closed) {
        return Status(ErrorCode::kInvalidArgument,
                      "unterminated quote in field " + std::to_string(fields.size() + 1));
      }
      if (i < n && record[i] != separator) {
        return Status(ErrorCode::kInvalidArgument,
                      "text after closing quote in field " + std::to_string(fields.size() + 1));
      }
    } else {
      const std::size_t end = record.find(separator, i);
      const std::size_t stop = end == std::string_view::npos ? n : end;
      field.assign(record.substr(i, stop - i));
      i = stop;
    }
    fields.push_back(std::move(field));
    if (i >= n) return Status::ok();
    ++i;  // the separator; a trailing one means one more, empty, field
    if (i == n) {
      fields.emplace_back();
      return Status::ok();
    }
  }
}

}  // namespace storepulse::importers
