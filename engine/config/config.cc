#include "engine/config/config.h"

#include <absl/time/time.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "engine/core/suggest.h"

extern char** environ;

namespace storepulse {
namespace {

// A failed setter says why in plain words; the caller adds where.
using SetResult = std::optional<std::string>;

struct KeySpec {
  std::string path;  // "kafka.group_id"
  std::string doc;   // one or more lines, without '#'
  bool quoted;       // strings are written quoted in the defaults document
  std::function<std::string(const Config&)> get;
  std::function<SetResult(Config&, const std::string&)> set;
};

SetResult parseUnsigned(const std::string& text, uint64_t min, uint64_t max, uint64_t& out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return "must be a whole number, got '" + text + "'";
  if (v < min || v > max) {
    return "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text;
  }
  out = v;
  return std::nullopt;
}

template <typename Access>
KeySpec stringKey(std::string path, std::string doc, Access access,
                  std::function<SetResult(const std::string&)> check = nullptr) {
  return {std::move(path), std::move(doc), true,
          [access](const Config& c) { return access(const_cast<Config&>(c)); },
          [access, check](Config& c, const std::string& v) -> SetResult {
            if (check) {
              if (auto why = check(v)) return why;
            }
            access(c) = v;
            return std::nullopt;
          }};
}

template <typename T, typename Access>
KeySpec numberKey(std::string path, std::string doc, Access access, uint64_t min, uint64_t max) {
  return {std::move(path), std::move(doc), false,
          [access](const Config& c) { return std::to_string(access(const_cast<Config&>(c))); },
          [access, min, max](Config& c, const std::string& v) -> SetResult {
            uint64_t n = 0;
            if (auto why = parseUnsigned(v, min, max, n)) return why;
            access(c) = static_cast<T>(n);
            return std::nullopt;
          }};
}

template <typename Access>
KeySpec millisKey(std::string path, std::string doc, Access access, uint64_t min, uint64_t max) {
  return {std::move(path), std::move(doc), false,
          [access](const Config& c) { return std::to_string(access(const_cast<Config&>(c)).count()); },
          [access, min, max](Config& c, const std::string& v) -> SetResult {
            uint64_t n = 0;
            if (auto why = parseUnsigned(v, min, max, n)) return why;
            access(c) = std::chrono::milliseconds(n);
            return std::nullopt;
          }};
}

template <typename Access>
KeySpec boolKey(std::string path, std::string doc, Access access) {
  return {std::move(path), std::move(doc), false,
          [access](const Config& c) -> std::string { return access(const_cast<Config&>(c)) ? "true" : "false"; },
          [access](Config& c, const std::string& v) -> SetResult {
            if (v == "true") {
              access(c) = true;
            } else if (v == "false") {
              access(c) = false;
            } else {
              return "must be true or false, got '" + v + "'";
            }
            return std::nullopt;
          }};
}

std::function<SetResult(const std::string&)> oneOf(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) -> SetResult {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return std::nullopt;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list + ", got '" + v + "'";
  };
}

SetResult notEmpty(const std::string& v) {
  if (v.empty()) return std::string("must not be empty");
  return std::nullopt;
}

const std::vector<KeySpec>& keySpecs() {
  static const std::vector<KeySpec> kSpecs = [] {
    std::vector<KeySpec> k;
    k.push_back(stringKey("kafka.bootstrap_servers", "Kafka brokers, host:port[,host:port...].",
                          [](Config& c) -> std::string& { return c.kafka.bootstrap_servers; }, notEmpty));
    k.push_back(stringKey("kafka.group_id",
                          "Consumer group of all Storepulse instances; Kafka assigns partitions among them.",
                          [](Config& c) -> std::string& { return c.kafka.group_id; }, notEmpty));
    for (EventType type : kAllEventTypes) {
      const std::string name(eventTypeName(type));
      k.push_back(stringKey("kafka.topics." + name, "Topic of " + name + " events.",
                            [type](Config& c) -> std::string& { return c.kafka.topics[type]; }, notEmpty));
    }
    k.push_back(stringKey("kafka.dead_letter_topic",
                          "Where rejected messages go, with their source and reason in headers.",
                          [](Config& c) -> std::string& { return c.kafka.dead_letter_topic; }, notEmpty));
    k.push_back({"kafka.start_from",
                 "Where a partition with no offset in the state store starts: earliest or latest.", true,
                 [](const Config& c) -> std::string { return c.kafka.start_from_earliest ? "earliest" : "latest"; },
                 [](Config& c, const std::string& v) -> SetResult {
                   if (auto why = oneOf({"earliest", "latest"})(v)) return why;
                   c.kafka.start_from_earliest = v == "earliest";
                   return std::nullopt;
                 }});
    k.push_back(numberKey<size_t>("ingest.max_message_bytes",
                                  "Messages larger than this (bytes) are dead-lettered unread.",
                                  [](Config& c) -> size_t& { return c.ingest.max_message_bytes; }, 64, 16u << 20));
    k.push_back(numberKey<size_t>("ingest.batch_max_events",
                                  "Events folded into state per atomic commit, at most. batch_max_wait_ms\n"
                                  "usually ends a batch first; this bounds it under a burst.",
                                  [](Config& c) -> size_t& { return c.ingest.batch_max_events; }, 1, 1000000));
    k.push_back(millisKey("ingest.batch_max_wait_ms",
                          "Milliseconds a batch collects events before it is committed, at most.",
                          [](Config& c) -> std::chrono::milliseconds& { return c.ingest.batch_max_wait; }, 1, 60000));
    k.push_back(numberKey<size_t>("ingest.cache_max_records",
                                  "State records kept in memory between commits, by the pipeline and by each\n"
                                  "rule engine; past this the pipeline empties its cache after a commit and a\n"
                                  "rule engine drops its least recently used records, which bounds memory.",
                                  [](Config& c) -> size_t& { return c.ingest.cache_max_records; }, 1, 100000000));
    k.push_back(numberKey<size_t>("ingest.recent_items", "Recent items kept per customer.",
                                  [](Config& c) -> size_t& { return c.ingest.recent_items; }, 0, 1000));
    k.push_back(stringKey("state.path", "RocksDB directory of this instance; created when missing.",
                          [](Config& c) -> std::string& { return c.state.path; }, notEmpty));
    k.push_back(boolKey("state.sync_writes",
                        "fsync every commit. Off survives a process crash (kill -9), not a power cut.",
                        [](Config& c) -> bool& { return c.state.sync_writes; }));
    k.push_back(numberKey<size_t>("state.block_cache_bytes", "RocksDB block cache, bytes.",
                                  [](Config& c) -> size_t& { return c.state.block_cache_bytes; }, 1u << 20,
                                  uint64_t{1} << 40));
    k.push_back(numberKey<size_t>("state.write_buffer_bytes", "RocksDB memtable size per column family, bytes.",
                                  [](Config& c) -> size_t& { return c.state.write_buffer_bytes; }, 1u << 20,
                                  uint64_t{1} << 34));
    k.push_back(stringKey("http.address", "Address the HTTP port binds to.",
                          [](Config& c) -> std::string& { return c.http.address; }, notEmpty));
    k.push_back(numberKey<uint16_t>("http.port", "The one HTTP port: health, metrics, API. 0 picks a free port.",
                                    [](Config& c) -> uint16_t& { return c.http.port; }, 0, 65535));
    k.push_back(numberKey<size_t>("http.max_body_bytes", "Largest request body accepted, bytes.",
                                  [](Config& c) -> size_t& { return c.http.max_body_bytes; }, 1024, 64u << 20));
    k.push_back(stringKey("rules.dir",
                          "Directory of rule files (*.yaml, see docs/rules.md); empty: no rules, ingest only.",
                          [](Config& c) -> std::string& { return c.rules.dir; }));
    k.push_back(stringKey("rules.timezone",
                          "Time zone of calendar windows, `now` and `at:` times for stores without one\n"
                          "(an IANA name such as Asia/Shanghai, or UTC).",
                          [](Config& c) -> std::string& { return c.rules.timezone; },
                          [](const std::string& v) -> SetResult {
                            absl::TimeZone zone;
                            if (!absl::LoadTimeZone(v, &zone)) return "is not a known time zone: '" + v + "'";
                            return std::nullopt;
                          }));
    k.push_back({"rules.clock",
                 "The engine clock of `now` and scheduled rules: wall (live) or event_time (the newest\n"
                 "event seen; for replaying recorded events exactly as a backtest would).",
                 true,
                 [](const Config& c) -> std::string { return c.rules.event_time_clock ? "event_time" : "wall"; },
                 [](Config& c, const std::string& v) -> SetResult {
                   if (auto why = oneOf({"wall", "event_time"})(v)) return why;
                   c.rules.event_time_clock = v == "event_time";
                   return std::nullopt;
                 }});
    k.push_back(stringKey("rules.alerts_topic", "Kafka topic alerts go to, keyed by recipient.",
                          [](Config& c) -> std::string& { return c.rules.alerts_topic; }, notEmpty));
    k.push_back(millisKey("rules.default_lateness_ms",
                          "Allowed lateness of aggregates that do not set `lateness:`, milliseconds.",
                          [](Config& c) -> std::chrono::milliseconds& { return c.rules.default_lateness; }, 0,
                          uint64_t{365} * 24 * 3600 * 1000));
    k.push_back(millisKey("rules.reload_check_ms",
                          "How often the rules directory is checked for changed files, milliseconds; 0: never\n"
                          "(SIGHUP and POST /v1/rules/reload still reload).",
                          [](Config& c) -> std::chrono::milliseconds& { return c.rules.reload_check; }, 0, 3600000));
    k.push_back(stringKey("log.level", "trace, debug, info, warn or error.",
                          [](Config& c) -> std::string& { return c.log.level; },
                          oneOf({"trace", "debug", "info", "warn", "error"})));
    k.push_back(stringKey("log.format", "text (for people) or json (one object per line, for collectors).",
                          [](Config& c) -> std::string& { return c.log.format; }, oneOf({"text", "json"})));
    return k;
  }();
  return kSpecs;
}

// Maps whose keys are librdkafka's own; passed through unchecked here and
// checked by librdkafka when the client is created.
struct PassThrough {
  const char* path;
  const char* doc;
  std::map<std::string, std::string>& (*access)(Config&);
};
const PassThrough kPassThroughs[] = {
    {"kafka.consumer",
     "librdkafka consumer settings, e.g. security.protocol: SSL (see librdkafka's\n"
     "CONFIGURATION.md). Environment: STOREPULSE_KAFKA_CONSUMER_SECURITY_PROTOCOL=SSL.",
     [](Config& c) -> std::map<std::string, std::string>& { return c.kafka.consumer; }},
    {"kafka.producer", "librdkafka producer settings (dead letters, alerts), as above.",
     [](Config& c) -> std::map<std::string, std::string>& { return c.kafka.producer; }},
};

class ConfigParser {
 public:
  ConfigParser(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Mark* mark, const std::string& key, const std::string& reason) {
    // fmt rather than string concatenation: g++ 12 -O3 warns falsely (-Wrestrict) on the latter.
    std::string where = file_;
    if (mark && mark->line >= 0) where = fmt::format("{}:{}:{}", file_, mark->line + 1, mark->column + 1);
    errors_.push_back(fmt::format("{}: {}{}", where, key.empty() ? "" : key + ": ", reason));
  }

  void walk(const YAML::Node& node, const std::string& prefix, Config& config) {
    if (!node.IsMap()) {
      const YAML::Mark mark = node.Mark();
      error(&mark, prefix, "must be a mapping of keys");
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Mark mark = entry.first.Mark();
      const std::string name = entry.first.Scalar();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      if (!seen.insert(name).second) {
        error(&mark, path, "is given twice");
        continue;
      }
      if (const PassThrough* pass = findPassThrough(path)) {
        if (entry.second.IsNull()) continue;
        if (!entry.second.IsMap()) {
          error(&mark, path, "must be a mapping of librdkafka settings");
          continue;
        }
        for (const auto& setting : entry.second) {
          if (!setting.second.IsScalar()) {
            const YAML::Mark m = setting.first.Mark();
            error(&m, path + "." + setting.first.Scalar(), "must be a single value");
            continue;
          }
          pass->access(config)[setting.first.Scalar()] = setting.second.Scalar();
        }
        continue;
      }
      if (const KeySpec* spec = findSpec(path)) {
        if (!entry.second.IsScalar()) {
          error(&mark, path, "must be a single value");
          continue;
        }
        if (auto why = spec->set(config, entry.second.Scalar())) error(&mark, path, *why);
        continue;
      }
      if (isSection(path)) {
        walk(entry.second, path, config);
        continue;
      }
      error(&mark, path, "unknown key" + suggestion(path));
    }
  }

  void applyEnvironment(const std::vector<std::string>& environment, Config& config) {
    for (const auto& entry : environment) {
      if (entry.rfind("STOREPULSE_", 0) != 0) continue;
      const auto eq = entry.find('=');
      if (eq == std::string::npos) continue;
      const std::string name = entry.substr(0, eq);
      const std::string value = entry.substr(eq + 1);
      bool matched = false;
      for (const auto& spec : keySpecs()) {
        if (envName(spec.path) == name) {
          if (auto why = spec.set(config, value)) errors_.push_back("environment " + name + ": " + spec.path + ": " + *why);
          matched = true;
        }
      }
      for (const auto& pass : kPassThroughs) {
        const std::string prefix = envName(pass.path) + "_";
        if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size()) {
          std::string key = name.substr(prefix.size());
          std::transform(key.begin(), key.end(), key.begin(), [](char ch) { return ch == '_' ? '.' : static_cast<char>(std::tolower(ch)); });
          pass.access(config)[key] = value;
          matched = true;
        }
      }
      // Variables of the test and build scripts share the prefix.
      if (!matched && name.rfind("STOREPULSE_TEST_", 0) != 0 && name != "STOREPULSE_CACHE") {
        errors_.push_back("environment " + name + ": no such configuration key");
      }
    }
  }

  static std::string envName(const std::string& path) {
    std::string name = "STOREPULSE_";
    for (char ch : path) name.push_back(ch == '.' ? '_' : static_cast<char>(std::toupper(ch)));
    return name;
  }

  Status result() const {
    if (errors_.empty()) return Status::ok();
    std::string message = std::to_string(errors_.size()) + " configuration error(s):";
    for (const auto& e : errors_) message += "\n  " + e;
    return Status(ErrorCode::kInvalidArgument, message);
  }

 private:
  static const KeySpec* findSpec(const std::string& path) {
    for (const auto& spec : keySpecs()) {
      if (spec.path == path) return &spec;
    }
    return nullptr;
  }
  static const PassThrough* findPassThrough(const std::string& path) {
    for (const auto& pass : kPassThroughs) {
      if (path == pass.path) return &pass;
    }
    return nullptr;
  }
  static bool isSection(const std::string& path) {
    for (const auto& spec : keySpecs()) {
      if (spec.path.rfind(path + ".", 0) == 0) return true;
    }
    return false;
  }
  // "did you mean kafka.group_id?" for a key one edit away from a real one.
  static std::string suggestion(const std::string& path) {
    std::vector<std::string_view> paths;
    for (const auto& spec : keySpecs()) paths.push_back(spec.path);
    const auto closest = closestName(path, paths);
    return closest ? " (did you mean " + *closest + "?)" : "";
  }

  std::string file_;
  std::vector<std::string> errors_;
};

std::vector<std::string> processEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

}  // namespace

Result<Config> loadConfig(const std::string& path, const std::vector<std::string>* environment) {
  Config config;
  ConfigParser parser(path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status(ErrorCode::kInvalidArgument, path + ": cannot read the configuration file");
  } catch (const YAML::Exception& e) {
    parser.error(&e.mark, "", e.msg);
    return parser.result();
  } catch (const std::exception& e) {  // e.g. std::ios_base::failure when `path` is a directory
    return Status(ErrorCode::kInvalidArgument, path + ": cannot read the configuration file: " + e.what());
  }
  if (!root.IsNull()) parser.walk(root, "", config);
  const auto env = environment ? *environment : processEnvironment();
  parser.applyEnvironment(env, config);
  SP_RETURN_IF_ERROR(parser.result());
  return config;
}

Result<Config> defaultConfig(const std::vector<std::string>* environment) {
  Config config;
  ConfigParser parser("(defaults)");
  const auto env = environment ? *environment : processEnvironment();
  parser.applyEnvironment(env, config);
  SP_RETURN_IF_ERROR(parser.result());
  return config;
}

std::string documentedDefaults() {
  const Config defaults;
  std::ostringstream out;
  out << "# Storepulse configuration: every key with its default value.\n"
         "# Generated by `storepulse config defaults`; a test keeps this file equal to it.\n"
         "# Any key can be overridden by an environment variable named after its path:\n"
         "# kafka.bootstrap_servers -> STOREPULSE_KAFKA_BOOTSTRAP_SERVERS.\n"
         "# An unknown key or a bad value stops the engine at start, naming the key.\n";
  std::vector<std::string> open;  // the sections currently open
  auto emitComment = [&out](const std::string& doc, size_t depth) {
    std::istringstream lines(doc);
    for (std::string line; std::getline(lines, line);) out << std::string(depth * 2, ' ') << "# " << line << "\n";
  };
  auto emit = [&](const std::string& path, const std::string& doc, const std::string& value) {
    std::vector<std::string> parts;
    std::istringstream segments(path);
    for (std::string s; std::getline(segments, s, '.');) parts.push_back(s);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    open.resize(common);
    if (common == 0) out << "\n";
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out << std::string(i * 2, ' ') << parts[i] << ":\n";
      open.push_back(parts[i]);
    }
    emitComment(doc, parts.size() - 1);
    out << std::string((parts.size() - 1) * 2, ' ') << parts.back() << ": " << value << "\n";
  };
  for (const auto& spec : keySpecs()) {
    const std::string value = spec.get(defaults);
    emit(spec.path, spec.doc, spec.quoted ? "\"" + value + "\"" : value);
    if (spec.path == "kafka.start_from") {
      for (const auto& pass : kPassThroughs) emit(pass.path, pass.doc, "{}");
    }
  }
  return out.str();
}

}  // namespace storepulse
