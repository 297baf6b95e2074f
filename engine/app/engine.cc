#include "engine/app/engine.h"

#include "connectors/http/http_server.h"
#include "connectors/kafka/kafka_dead_letter_sink.h"
#include "connectors/kafka/kafka_event_source.h"
#include "connectors/kafka/kafka_output_sink.h"
#include "engine/app/http_api.h"
#include "engine/app/rules_controller.h"
#include "engine/core/log.h"
#include "engine/state/rocksdb_state_store.h"

namespace storepulse::app {
namespace {

bool isGlobalTable(EventType type) { return type == EventType::kInventory || type == EventType::kStore; }

PipelineOptions pipelineOptions(const Config& config, bool global) {
  PipelineOptions o;
  for (const auto& [type, topic] : config.kafka.topics) {
    if (isGlobalTable(type) == global) o.topics.push_back({topic, type});
  }
  o.batch_max_events = config.ingest.batch_max_events;
  o.batch_max_wait = config.ingest.batch_max_wait;
  o.cache_max_records = config.ingest.cache_max_records;
  o.customer.max_recent_items = config.ingest.recent_items;
  o.decoder.max_message_bytes = config.ingest.max_message_bytes;
  return o;
}

kafka::KafkaSourceOptions sourceOptions(const Config& config, const PipelineOptions& pipeline, bool global) {
  kafka::KafkaSourceOptions o;
  o.mode = global ? kafka::KafkaSourceOptions::Mode::kGlobal : kafka::KafkaSourceOptions::Mode::kGroup;
  o.bootstrap_servers = config.kafka.bootstrap_servers;
  o.group_id = config.kafka.group_id;
  for (const auto& binding : pipeline.topics) o.topics.push_back(binding.topic);
  o.start = config.kafka.start_from_earliest ? kafka::StartPosition::kEarliest : kafka::StartPosition::kLatest;
  o.client = config.kafka.consumer;
  return o;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::start(const Config& config) {
  auto engine = std::unique_ptr<Engine>(new Engine());

  RocksDbOptions store_options;
  store_options.path = config.state.path;
  store_options.sync_writes = config.state.sync_writes;
  store_options.block_cache_bytes = config.state.block_cache_bytes;
  store_options.write_buffer_bytes = config.state.write_buffer_bytes;
  SP_ASSIGN_OR_RETURN(engine->store_, RocksDbStateStore::open(store_options));
  engine->metrics_.watchStateStore(*engine->store_);

  kafka::DeadLetterOptions dlq;
  dlq.bootstrap_servers = config.kafka.bootstrap_servers;
  dlq.topic = config.kafka.dead_letter_topic;
  dlq.client = config.kafka.producer;
  SP_ASSIGN_OR_RETURN(engine->dead_letters_, kafka::KafkaDeadLetterSink::create(dlq));

  const PipelineOptions group_options = pipelineOptions(config, false);
  const PipelineOptions global_options = pipelineOptions(config, true);
  SP_ASSIGN_OR_RETURN(engine->group_source_,
                      kafka::KafkaEventSource::create(sourceOptions(config, group_options, false)));
  SP_ASSIGN_OR_RETURN(engine->global_source_,
                      kafka::KafkaEventSource::create(sourceOptions(config, global_options, true)));
  engine->group_pipeline_ =
      std::make_unique<IngestPipeline>(group_options, *engine->store_, *engine->dead_letters_, &engine->metrics_);
  engine->global_pipeline_ =
      std::make_unique<IngestPipeline>(global_options, *engine->store_, *engine->dead_letters_, &engine->metrics_);
  if (!config.rules.dir.empty()) SP_RETURN_IF_ERROR(engine->startRules(config));

  http::HttpServerOptions http_options;
  http_options.address = config.http.address;
  http_options.port = config.http.port;
  http_options.max_body_bytes = config.http.max_body_bytes;
  SP_ASSIGN_OR_RETURN(engine->http_, http::HttpServer::start(http_options, makeRouter(*engine)));

  Engine* raw = engine.get();
  engine->group_thread_ = std::thread([raw] {
    raw->runPipeline(*raw->group_pipeline_, *raw->group_source_, raw->group_result_);
  });
  engine->global_thread_ = std::thread([raw] {
    raw->runPipeline(*raw->global_pipeline_, *raw->global_source_, raw->global_result_);
  });
  log::info("engine started", {{"bootstrap", config.kafka.bootstrap_servers},
                               {"group", config.kafka.group_id},
                               {"state", config.state.path},
                               {"http_port", std::to_string(engine->httpPort())}});
  return engine;
}

Status Engine::startRules(const Config& config) {
  SP_ASSIGN_OR_RETURN(rules_, RulesController::load(config.rules, metrics_));
  kafka::OutputSinkOptions output;
  output.bootstrap_servers = config.kafka.bootstrap_servers;
  output.client = config.kafka.producer;
  SP_ASSIGN_OR_RETURN(group_output_, kafka::KafkaOutputSink::create(output));
  SP_ASSIGN_OR_RETURN(global_output_, kafka::KafkaOutputSink::create(output));
  rules::RuleEngineOptions options;
  options.clock = config.rules.event_time_clock ? rules::RuleEngineOptions::Clock::kEventTime
                                                : rules::RuleEngineOptions::Clock::kWall;
  options.alerts_topic = config.rules.alerts_topic;
  options.default_zone = rules_->fileOptions().default_zone;
  options.cache_max_records = config.ingest.cache_max_records;
  // Scheduled rules run once per instance: on the group pipeline, which
  // owns the store-keyed aggregates of its partitions.
  options.run_scheduled = true;
  group_rules_ = std::make_unique<rules::RuleEngine>(options, rules_->current(), *store_, *group_output_,
                                                     *dead_letters_, &metrics_);
  group_rules_->setOwnedPartitions([this] { return group_pipeline_->ownedPartitions(); });
  options.run_scheduled = false;
  global_rules_ = std::make_unique<rules::RuleEngine>(options, rules_->current(), *store_, *global_output_,
                                                      *dead_letters_, &metrics_);
  // It owns no customer partitions: its windows are the global table's.
  global_rules_->setOwnedPartitions([] { return std::set<int32_t>{}; });
  group_pipeline_->addProcessor(*group_rules_);
  global_pipeline_->addProcessor(*global_rules_);
  rules_->attach(*group_rules_);
  rules_->attach(*global_rules_);
  rules_->startWatching();
  return Status::ok();
}

void Engine::runPipeline(IngestPipeline& pipeline, EventSource& source, Status& result) {
  result = pipeline.run(source, stop_);
  if (!result.isOk()) {
    log::error("pipeline stopped on error", {{"error", result.toString()}});
    stop_ = true;
  }
}

Engine::~Engine() {
  requestStop();
  (void)wait();
}

void Engine::requestStop() { stop_ = true; }

Status Engine::wait() {
  if (group_thread_.joinable()) group_thread_.join();
  if (global_thread_.joinable()) global_thread_.join();
  if (rules_) rules_->stopWatching();
  if (http_) http_->stop();
  SP_RETURN_IF_ERROR(group_result_);
  return global_result_;
}

bool Engine::ready() const { return group_pipeline_->ready() && global_pipeline_->ready(); }

uint16_t Engine::httpPort() const { return http_ ? http_->port() : 0; }

PipelineCounters Engine::counters() const {
  PipelineCounters a = group_pipeline_->counters();
  const PipelineCounters b = global_pipeline_->counters();
  a.events += b.events;
  a.invalid += b.invalid;
  a.commits += b.commits;
  return a;
}

std::set<int32_t> Engine::ownedPartitions() const { return group_pipeline_->ownedPartitions(); }

}  // namespace storepulse::app
