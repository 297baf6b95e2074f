#include "engine/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <nlohmann/json.hpp>

namespace storepulse::log {
namespace {
std::atomic<Format> g_format{Format::kText};
}  // namespace

void init(std::string_view level, Format format) {
  g_format = format;
  auto logger = spdlog::stderr_color_mt("storepulse");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  if (format == Format::kJson) {
    spdlog::set_pattern("%v");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
}

void write(spdlog::level::level_enum level, std::string_view message, Fields fields) {
  if (!spdlog::should_log(level)) return;
  if (g_format == Format::kJson) {
    nlohmann::json line;
    line["ts"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    line["level"] = spdlog::level::to_string_view(level);
    line["msg"] = message;
    for (const auto& [k, v] : fields) line[std::string(k)] = v;
    spdlog::log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string text(message);
  for (const auto& [k, v] : fields) {
    text += ' ';
    text += k;
    text += '=';
    text += v;
  }
  spdlog::log(level, "{}", text);
}

}  // namespace storepulse::log
