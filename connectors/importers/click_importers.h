#pragma once
// Turns the public session click logs into Storepulse `click` events:
// YooChoose (RecSys 2015) and DIGINETICA (CIKM Cup 2016). Both files are
// ordered by session, not by time; by default the events are sorted by ts
// (stable, so ties keep file order) because the engine's backtest and rule
// windows expect event-time order. Sorting holds every event in memory as
// its JSON text plus a timestamp (~150 bytes each: 70k clicks ~ 10 MB); turn
// it off to stream files too big for that.

#include <string>

#include "connectors/importers/import_report.h"
#include "engine/core/status.h"

namespace storepulse::importers {

struct ClickImportOptions {
  bool sort_by_ts = true;
};

// TSV `SessionId<TAB>ItemId<TAB>Time[<TAB>Category]`, header line optional.
// Time is unix seconds with a fraction ("1396437466.94") or ISO 8601 UTC
// ("2014-04-07T10:51:09.277Z", the original challenge files). Emits
// {type:"click", customer_id:"s"+SessionId, session_id, sku, ts (epoch ms), channel:"web"}.
class YoochooseImporter {
 public:
  explicit YoochooseImporter(ClickImportOptions options = {}) : options_(options) {}
  Result<ImportReport> run(const std::string& path, const EventSink& sink) const;

 private:
  ClickImportOptions options_;
};

// `;`-separated `session_id;user_id;item_id;timeframe;eventdate`, header
// optional. ts = eventdate (midnight UTC) + timeframe ms; customer_id is
// user_id, or "d"+session_id when user_id is NA (anonymous session).
class DigineticaImporter {
 public:
  explicit DigineticaImporter(ClickImportOptions options = {}) : options_(options) {}
  Result<ImportReport> run(const std::string& path, const EventSink& sink) const;

 private:
  ClickImportOptions options_;
};

}  // namespace storepulse::importers
