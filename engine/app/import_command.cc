#include <fstream>
#include <iostream>

#include "connectors/importers/click_importers.h"
#include "connectors/importers/online_retail_importer.h"
#include "engine/app/commands.h"

namespace storepulse::app {

int importData(const ImportArgs& args) {
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (args.output_path != "-") {
    file.open(args.output_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "storepulse import: cannot write " << args.output_path << "\n";
      return kExitFailure;
    }
    out = &file;
  }
  const importers::EventSink sink = [out](std::string_view line) {
    out->write(line.data(), static_cast<std::streamsize>(line.size()));
    out->put('\n');
  };
  Result<importers::ImportReport> report = Status(ErrorCode::kInvalidArgument, "unknown format " + args.format);
  if (args.format == "online-retail") {
    report = importers::OnlineRetailImporter().run(args.input_path, sink);
  } else if (args.format == "yoochoose") {
    report = importers::YoochooseImporter().run(args.input_path, sink);
  } else if (args.format == "diginetica") {
    report = importers::DigineticaImporter().run(args.input_path, sink);
  }
  if (!report.isOk()) {
    std::cerr << "storepulse import: " << report.status().message() << "\n";
    return kExitFailure;
  }
  out->flush();
  if (!*out) {
    std::cerr << "storepulse import: write to " << args.output_path << " failed\n";
    return kExitFailure;
  }
  std::cerr << report->toString();
  return kExitOk;
}

}  // namespace storepulse::app
