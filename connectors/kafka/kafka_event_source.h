#pragma once
// EventSource over a librdkafka KafkaConsumer.
//
// Group mode: subscribes to the customer-keyed topics in a consumer group
// with the range assignor, so partition p of every topic lands on the same
// instance (the topics must be co-partitioned, as in Kafka Streams). Global
// mode: assigns itself every partition of the global-table topics
// (inventory, stores) without joining a group, so every instance holds all.
//
// Either way, start offsets come from the handler (the state store); the
// broker's committed group offsets are written for lag tools only.
//
// Runs on the thread that calls poll(); librdkafka has its own threads.

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_client_config.h"
#include "engine/pipeline/event_source.h"

namespace storepulse::kafka {

enum class StartPosition { kEarliest, kLatest };

struct KafkaSourceOptions {
  enum class Mode { kGroup, kGlobal };
  Mode mode = Mode::kGroup;
  std::string bootstrap_servers;
  std::string group_id;
  std::vector<std::string> topics;
  StartPosition start = StartPosition::kEarliest;  // for partitions with no stored offset
  ClientProperties client;  // pass-through librdkafka settings
};

class KafkaEventSource final : public EventSource {
 public:
  static Result<std::unique_ptr<KafkaEventSource>> create(KafkaSourceOptions options);
  ~KafkaEventSource() override;

  Status poll(SourceHandler& handler, std::chrono::milliseconds max_wait, size_t max_messages) override;
  void acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) override;
  std::vector<PartitionLag> lag() const override;
  Status close(SourceHandler& handler) override;

 private:
  class Rebalancer;
  explicit KafkaEventSource(KafkaSourceOptions options);
  Status assignGlobal(SourceHandler& handler);
  Status checkCoPartitioned();
  void assign(SourceHandler& handler, std::vector<RdKafka::TopicPartition*>& partitions);
  void revoke(SourceHandler& handler, std::vector<RdKafka::TopicPartition*>& partitions);

  KafkaSourceOptions options_;
  std::unique_ptr<ClientEventLogger> logger_;
  std::unique_ptr<Rebalancer> rebalancer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  SourceHandler* handler_ = nullptr;  // during poll/close, for the rebalance callback
  struct Assigned {
    TopicPartition tp;
    int64_t start_offset;  // may be a logical offset (beginning / end)
  };
  std::vector<Assigned> assigned_;
  Status rebalance_error_;
  bool global_assigned_ = false;
  std::chrono::steady_clock::time_point last_missing_topic_log_{};
  bool closed_ = false;
};

}  // namespace storepulse::kafka
