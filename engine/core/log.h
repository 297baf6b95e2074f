#pragma once
// Structured logging: spdlog underneath, every line a message plus key=value
// context (topic, partition, offset, rule id...). `log::init` picks text for
// terminals or one JSON object per line for log collectors.

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace storepulse::log {

enum class Format { kText, kJson };

// Configures the process-wide logger; `level` is trace|debug|info|warn|error.
void init(std::string_view level, Format format);

using Field = std::pair<std::string_view, std::string>;
using Fields = std::initializer_list<Field>;

void write(spdlog::level::level_enum level, std::string_view message, Fields fields);

inline void debug(std::string_view m, Fields f = {}) { write(spdlog::level::debug, m, f); }
inline void info(std::string_view m, Fields f = {}) { write(spdlog::level::info, m, f); }
inline void warn(std::string_view m, Fields f = {}) { write(spdlog::level::warn, m, f); }
inline void error(std::string_view m, Fields f = {}) { write(spdlog::level::err, m, f); }

}  // namespace storepulse::log
