#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

#include "connectors/importers/online_retail_importer.h"
#include "connectors/kafka/embedded_kafka.h"
#include "connectors/kafka/kafka_event_producer.h"
#include "engine/app/commands.h"
#include "engine/app/engine.h"
#include "engine/app/rules_controller.h"
#include "engine/app/stop_signal.h"
#include "engine/core/log.h"
#include "engine/core/time.h"
#include "engine/event/event_router.h"
#include "engine/sim/shopper_generator.h"
#include "engine/state/customer_state.h"

namespace storepulse::app {
namespace {

constexpr int kDemoPartitions = 4;

// Produces generated traffic into the embedded cluster until told to stop.
class TrafficPump {
 public:
  TrafficPump(kafka::KafkaEventProducer& producer, const KafkaConfig& kafka, double rate)
      : producer_(producer), kafka_(kafka), rate_(rate) {}

  Status sendLine(std::string_view line, std::string_view raw_type) {
    if (!raw_type.empty()) {
      ++malformed_;
      return producer_.send(kafka_.topics.at(*parseEventType(raw_type)), {}, line);
    }
    auto routed = router_.route(line);
    if (!routed.isOk()) return routed.status();
    ++sent_;
    return producer_.send(kafka_.topics.at(routed->type), routed->key, line);
  }

  // Sends the whole Online Retail file once, as fast as the broker takes it.
  Status replay(const std::string& path) {
    Status status;
    auto report = importers::OnlineRetailImporter().run(path, [&](std::string_view line) {
      if (status.isOk()) status = sendLine(line, {});
    });
    SP_RETURN_IF_ERROR(report.status());
    SP_RETURN_IF_ERROR(status);
    return producer_.flush(std::chrono::seconds(30));
  }

  Status run(sim::ShopperGenerator& generator, const std::atomic<bool>& stop) {
    Status status;
    const auto sink = [&](std::string_view line, std::string_view raw_type) {
      if (status.isOk()) status = sendLine(line, raw_type);
    };
    generator.emitReferenceData(wallClockMillis(), sink);
    const auto start = std::chrono::steady_clock::now();
    uint64_t emitted = 0;
    while (!stop.load() && status.isOk()) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const auto due = static_cast<uint64_t>(elapsed * rate_);
      for (; emitted < due && status.isOk(); ++emitted) generator.emitNext(wallClockMillis(), sink);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    SP_RETURN_IF_ERROR(status);
    return producer_.flush(std::chrono::seconds(30));
  }

  uint64_t sent() const { return sent_; }
  uint64_t malformed() const { return malformed_; }

 private:
  kafka::KafkaEventProducer& producer_;
  const KafkaConfig& kafka_;
  double rate_;
  EventRouter router_;
  uint64_t sent_ = 0;
  uint64_t malformed_ = 0;
};

void printSummary(const Engine& engine, const TrafficPump& pump, double seconds) {
  const PipelineCounters counters = engine.counters();
  std::cout << "\nStorepulse demo summary (" << static_cast<int>(seconds) << " s)\n"
            << "  events produced:        " << pump.sent() << " valid, " << pump.malformed() << " malformed\n"
            << "  events folded in state: " << counters.events << "\n"
            << "  dead-lettered:          " << counters.invalid << "\n"
            << "  state commits:          " << counters.commits << "\n";
  if (const RulesController* rules = engine.rules()) {
    const nlohmann::json described = rules->describe();
    std::cout << "  rules (" << described["dir"].get<std::string>() << ", version "
              << described["version"].get<std::string>() << "), fires by rule:\n";
    for (const auto& rule : described["rules"]) {
      std::cout << fmt::format("    {:<28} {:>6} fired, {:>7} evaluated{}\n", rule["id"].get<std::string>(),
                               rule["fires"].get<uint64_t>(), rule["evaluations"].get<uint64_t>(),
                               rule["mode"] == "shadow" ? " (shadow: would-fire, not pushed)" : "");
    }
  }
  struct Top {
    std::string id;
    CustomerState state;
  };
  std::vector<Top> top;
  for (int32_t p = 0; p < kDemoPartitions; ++p) {
    (void)engine.store().scan(StateTable::kCustomer, p, [&top](std::string_view key, std::string_view value) {
      auto state = decodeCustomerState(value);
      if (state.isOk()) top.push_back({std::string(key), std::move(state.value())});
      return true;
    });
  }
  std::sort(top.begin(), top.end(),
            [](const Top& a, const Top& b) { return a.state.lifetime_spend > b.state.lifetime_spend; });
  std::cout << "  customers with state:   " << top.size() << "\n  top spenders:\n";
  for (size_t i = 0; i < std::min<size_t>(3, top.size()); ++i) {
    const std::string& tier = top[i].state.tier;
    std::cout << "    " << top[i].id << (tier.empty() ? "" : " (" + tier + ")") << " " << top[i].state.order_count
              << " orders, " << fmt::format("{:.2f}", top[i].state.lifetime_spend) << "\n";
  }
}

}  // namespace

int runDemo(const DemoArgs& args) {
  log::init("warn", log::Format::kText);
  installStopSignals();
  auto kafka = kafka::EmbeddedKafka::start();
  if (!kafka.isOk()) {
    std::cerr << "storepulse demo: " << kafka.status().message() << "\n";
    return kExitFailure;
  }
  auto config_or = defaultConfig();
  if (!config_or.isOk()) {
    std::cerr << "storepulse demo: " << config_or.status().message() << "\n";
    return kExitUsage;
  }
  Config config = config_or.value();
  config.kafka.bootstrap_servers = kafka.value()->bootstrapServers();
  config.kafka.group_id = "storepulse-demo";
  config.kafka.consumer["session.timeout.ms"] = "6000";
  config.http.address = "127.0.0.1";
  config.http.port = args.port;
  const bool temporary_state = args.state_path.empty();
  config.state.path = temporary_state
                          ? (std::filesystem::temp_directory_path() /
                             ("storepulse-demo-" + std::to_string(::getpid())))
                                .string()
                          : args.state_path;
  for (const auto& [type, topic] : config.kafka.topics) {
    if (Status s = kafka.value()->createTopic(topic, kDemoPartitions); !s.isOk()) {
      std::cerr << "storepulse demo: " << s.message() << "\n";
      return kExitFailure;
    }
  }
  (void)kafka.value()->createTopic(config.kafka.dead_letter_topic, 1);
  (void)kafka.value()->createTopic(config.rules.alerts_topic, kDemoPartitions);

  auto engine = Engine::start(config);
  if (!engine.isOk()) {
    std::cerr << "storepulse demo: " << engine.status().message() << "\n";
    return kExitFailure;
  }
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap_servers = config.kafka.bootstrap_servers;
  producer_options.client_id = "storepulse-demo-shoppers";
  auto producer = kafka::KafkaEventProducer::create(producer_options);
  if (!producer.isOk()) {
    std::cerr << "storepulse demo: " << producer.status().message() << "\n";
    return kExitFailure;
  }

  sim::GeneratorOptions generator_options;
  generator_options.malformed_every = 250;
  sim::ShopperGenerator generator(generator_options);
  TrafficPump pump(*producer.value(), config.kafka, args.events_per_second);
  std::atomic<bool> stop_traffic{false};
  Status traffic_status;
  std::thread traffic([&] {
    traffic_status = args.source == "online-retail" ? pump.replay(args.data_path) : pump.run(generator, stop_traffic);
  });

  const std::string url = "http://127.0.0.1:" + std::to_string(engine.value()->httpPort());
  const std::string sample_customer = args.source == "online-retail" ? "17850" : generator.customerId(0);
  std::cout << "Storepulse demo is running with an in-process Kafka (" << config.kafka.bootstrap_servers << ").\n"
            << "  health:   " << url << "/healthz   ready: " << url << "/readyz\n"
            << "  metrics:  " << url << "/metrics\n"
            << "  customer: " << url << "/v1/customers/" << sample_customer << "\n"
            << "  rules:    " << url << "/v1/rules\n"
            << (args.duration ? "Stopping by itself after the set time.\n" : "Press Ctrl-C to stop.\n")
            << std::flush;

  const auto started = std::chrono::steady_clock::now();
  while (!stopRequested() && !engine.value()->stopping()) {
    if (args.duration && std::chrono::steady_clock::now() - started >= *args.duration) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop_traffic = true;
  traffic.join();
  // Let the engine fold in what was produced before it stops.
  const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < drain_deadline &&
         engine.value()->counters().events + engine.value()->counters().invalid <
             pump.sent() + pump.malformed()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  engine.value()->requestStop();
  Status result = engine.value()->wait();
  printSummary(*engine.value(), pump, seconds);
  if (temporary_state) {
    engine.value().reset();
    std::error_code ec;
    std::filesystem::remove_all(config.state.path, ec);
  }
  if (!traffic_status.isOk()) {
    std::cerr << "storepulse demo: traffic generator failed: " << traffic_status.message() << "\n";
    return kExitFailure;
  }
  if (!result.isOk()) {
    std::cerr << "storepulse demo: engine failed: " << result.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace storepulse::app
