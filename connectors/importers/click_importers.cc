#include "connectors/importers/click_importers.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
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

struct Click {
  std::string customer_id;
  std::string session_id;
  std::string sku;
  std::int64_t ts_ms = 0;
};

// An id the engine can key state by: non-empty, no spaces or separators.
bool isIdToken(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) > ' ' && c != '"' && c != '\\' && c != 0x7f;
  });
}

std::optional<std::int64_t> parseNonNegativeInt(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// Collects clicks, sorting them by ts before writing when asked to.
class ClickWriter {
 public:
  ClickWriter(bool sort, const EventSink& sink, ImportReport& report)
      : sort_(sort), sink_(sink), report_(report) {}

  void add(const Click& click) {
    Json event{{"type", "click"},
               {"customer_id", click.customer_id},
               {"session_id", click.session_id},
               {"sku", click.sku},
               {"ts", click.ts_ms},
               {"channel", "web"}};
    std::string line = event.dump(-1, ' ', false, Json::error_handler_t::replace);
    ++report_.clicks;
    if (sort_) {
      pending_.emplace_back(click.ts_ms, std::move(line));
    } else {
      sink_(line);
    }
  }

  void finish() {
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [ts, line] : pending_) sink_(line);
    pending_.clear();
  }

 private:
  bool sort_;
  const EventSink& sink_;
  ImportReport& report_;
  std::vector<std::pair<std::int64_t, std::string>> pending_;
};

// Shared loop: reads lines, skips a header recognised by `isHeader`, and
// hands each split line to `parse`, which returns a click or an error reason.
template <typename IsHeader, typename Parse>
Result<ImportReport> importClicks(const std::string& path, char separator, bool sort,
                                  const EventSink& sink, IsHeader isHeader, Parse parse) {
  SP_ASSIGN_OR_RETURN(GzipLineReader reader, GzipLineReader::open(path));
  ImportReport report;
  report.source = path;
  ClickWriter writer(sort, sink, report);
  std::string line;
  std::vector<std::string> fields;
  while (true) {
    SP_ASSIGN_OR_RETURN(bool more, reader.next(line));
    if (!more) break;
    if (Status s = splitCsvFields(line, separator, fields); !s.isOk()) {
      ++report.lines_read;
      report.addMalformed(reader.lineNumber(), s.message());
      continue;
    }
    if (reader.lineNumber() == 1 && !fields.empty() && isHeader(fields[0])) continue;
    ++report.lines_read;
    Click click;
    std::string reason = parse(fields, click);
    if (!reason.empty()) {
      report.addMalformed(reader.lineNumber(), reason);
      continue;
    }
    writer.add(click);
  }
  writer.finish();
  return report;
}

}  // namespace

Result<ImportReport> YoochooseImporter::run(const std::string& path,
                                            const EventSink& sink) const {
  return importClicks(
      path, '\t', options_.sort_by_ts, sink,
      [](std::string_view first) { return first == "SessionId" || first == "session_id"; },
      [](const std::vector<std::string>& f, Click& click) -> std::string {
        // The original clicks file has a fourth column, Category; it is mostly
        // "0" (unknown) and not needed for a click, so it is accepted and ignored.
        if (f.size() != 3 && f.size() != 4) {
          return fmt::format("expected 3 fields, got {}", f.size());
        }
        if (!parseNonNegativeInt(f[0])) return "bad SessionId";
        if (!isIdToken(f[1])) return "bad ItemId";
        std::optional<std::int64_t> ts = parseUnixSecondsMs(f[2]);
        if (!ts) ts = parseRfc3339Millis(f[2]);
        if (!ts) return "bad Time";
        click.customer_id = "s" + f[0];
        click.session_id = f[0];
        click.sku = f[1];
        click.ts_ms = *ts;
        return {};
      });
}

Result<ImportReport> DigineticaImporter::run(const std::string& path,
                                             const EventSink& sink) const {
  return importClicks(
      path, ';', options_.sort_by_ts, sink,
      [](std::string_view first) { return first == "session_id" || first == "sessionId"; },
      [](const std::vector<std::string>& f, Click& click) -> std::string {
        if (f.size() != 5) return fmt::format("expected 5 fields, got {}", f.size());
        if (!parseNonNegativeInt(f[0])) return "bad session_id";
        const bool anonymous = f[1].empty() || f[1] == "NA";
        if (!anonymous && !isIdToken(f[1])) return "bad user_id";
        if (!isIdToken(f[2])) return "bad item_id";
        const auto timeframe = parseNonNegativeInt(f[3]);
        // One year into a session is not a real session.
        if (!timeframe || *timeframe > 366LL * 86'400'000) return "bad timeframe";
        const auto day = parseDateMs(f[4]);
        if (!day) return "bad eventdate";
        click.customer_id = anonymous ? "d" + f[0] : f[1];
        click.session_id = f[0];
        click.sku = f[2];
        click.ts_ms = *day + *timeframe;
        return {};
      });
}

}  // namespace storepulse::importers
