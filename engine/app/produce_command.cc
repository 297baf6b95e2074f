#include <iostream>

#include "connectors/importers/gzip_line_reader.h"
#include "connectors/kafka/kafka_event_producer.h"
#include "engine/app/commands.h"
#include "engine/config/config.h"
#include "engine/event/event_router.h"

namespace storepulse::app {
namespace {

// Applies "type=topic" overrides to the configured topics.
Status applyTopicMap(const std::vector<std::string>& overrides, std::map<EventType, std::string>& topics) {
  for (const auto& entry : overrides) {
    const auto eq = entry.find('=');
    auto type = eq == std::string::npos ? std::nullopt : parseEventType(entry.substr(0, eq));
    if (!type || eq + 1 == entry.size()) {
      return Status(ErrorCode::kInvalidArgument, "--topic-map '" + entry + "' is not TYPE=TOPIC with a known type");
    }
    topics[*type] = entry.substr(eq + 1);
  }
  return Status::ok();
}

}  // namespace

int produceEvents(const ProduceArgs& args) {
  auto config = args.config_path.empty() ? defaultConfig() : loadConfig(args.config_path);
  if (!config.isOk()) {
    std::cerr << "storepulse produce: " << config.status().message() << "\n";
    return kExitUsage;
  }
  if (Status s = applyTopicMap(args.topic_map, config->kafka.topics); !s.isOk()) {
    std::cerr << "storepulse produce: " << s.message() << "\n";
    return kExitUsage;
  }
  auto reader = importers::GzipLineReader::open(args.events_path == "-" ? "/dev/stdin" : args.events_path);
  if (!reader.isOk()) {
    std::cerr << "storepulse produce: " << reader.status().message() << "\n";
    return kExitFailure;
  }
  kafka::ProducerOptions options;
  options.bootstrap_servers = args.bootstrap_servers.empty() ? config->kafka.bootstrap_servers : args.bootstrap_servers;
  options.client = config->kafka.producer;
  auto producer = kafka::KafkaEventProducer::create(options);
  if (!producer.isOk()) {
    std::cerr << "storepulse produce: " << producer.status().message() << "\n";
    return kExitFailure;
  }

  EventRouter router;
  std::string line;
  uint64_t sent = 0, skipped = 0;
  for (;;) {
    auto more = reader->next(line);
    if (!more.isOk()) {
      std::cerr << "storepulse produce: " << more.status().message() << "\n";
      return kExitFailure;
    }
    if (!more.value()) break;
    if (line.empty()) continue;
    Status sent_status;
    if (!args.raw_topic.empty()) {
      sent_status = producer.value()->send(args.raw_topic, {}, line);
    } else {
      auto routed = router.route(line);
      if (!routed.isOk()) {
        // A recorded line we cannot route is reported, not guessed at.
        std::cerr << args.events_path << ":" << reader->lineNumber() << ": skipped: " << routed.status().message()
                  << "\n";
        ++skipped;
        continue;
      }
      sent_status = producer.value()->send(config->kafka.topics[routed->type], routed->key, line);
    }
    if (!sent_status.isOk()) {
      std::cerr << "storepulse produce: " << sent_status.message() << "\n";
      return kExitFailure;
    }
    ++sent;
  }
  if (Status s = producer.value()->flush(std::chrono::minutes(2)); !s.isOk()) {
    std::cerr << "storepulse produce: " << s.message() << "\n";
    return kExitFailure;
  }
  std::cerr << "produced " << sent << " events to " << options.bootstrap_servers;
  if (skipped > 0) std::cerr << "; skipped " << skipped << " unroutable lines";
  std::cerr << "\n";
  return skipped > 0 ? kExitFailure : kExitOk;
}

}  // namespace storepulse::app
