#pragma once
// Wires one Storepulse instance from its Config: the RocksDB state store,
// the dead-letter producer, two pipelines (the consumer group over the
// customer-keyed topics, and the global-table reader of inventory and
// stores), each on its own thread, and the HTTP port.
//
// `run` and `demo` both use it; they differ only in where Kafka is.

#include <atomic>
#include <memory>
#include <thread>

#include "engine/config/config.h"
#include "engine/core/status.h"
#include "engine/metrics/metrics.h"
#include "engine/pipeline/ingest_pipeline.h"
#include "engine/pipeline/output_sink.h"
#include "engine/state/state_store.h"
#include "rules/runtime/rule_engine.h"

namespace storepulse::http {
class HttpServer;
}

namespace storepulse::app {

class RulesController;

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> start(const Config& config);
  ~Engine();

  // Asks both pipelines to finish their batch, commit and leave the group.
  void requestStop();
  // True once a stop was requested or a pipeline failed.
  bool stopping() const { return stop_.load(); }
  // Blocks until both pipelines ended; returns the first error, if any. A
  // pipeline that fails stops the other too: the instance then holds no
  // partitions and another (or a restart) takes over from the store.
  Status wait();

  bool ready() const;
  uint16_t httpPort() const;
  PipelineCounters counters() const;  // both pipelines together
  Metrics& metrics() { return metrics_; }
  const StateStore& store() const { return *store_; }
  // The partitions of customer-keyed topics this instance owns.
  std::set<int32_t> ownedPartitions() const;
  // The rule set and its reloads; null when rules.dir is empty.
  RulesController* rules() { return rules_.get(); }
  const RulesController* rules() const { return rules_.get(); }

 private:
  Engine() = default;
  Status startRules(const Config& config);
  void runPipeline(IngestPipeline& pipeline, EventSource& source, Status& result);

  Metrics metrics_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<DeadLetterSink> dead_letters_;
  std::unique_ptr<RulesController> rules_;
  // One output producer per pipeline thread: each flushes what it sent.
  std::unique_ptr<OutputSink> group_output_;
  std::unique_ptr<OutputSink> global_output_;
  std::unique_ptr<rules::RuleEngine> group_rules_;
  std::unique_ptr<rules::RuleEngine> global_rules_;
  std::unique_ptr<EventSource> group_source_;
  std::unique_ptr<EventSource> global_source_;
  std::unique_ptr<IngestPipeline> group_pipeline_;
  std::unique_ptr<IngestPipeline> global_pipeline_;
  std::unique_ptr<http::HttpServer> http_;
  std::atomic<bool> stop_{false};
  Status group_result_;
  Status global_result_;
  std::thread group_thread_;
  std::thread global_thread_;
};

}  // namespace storepulse::app
