#pragma once
// An idempotent Kafka producer for loading events: `storepulse produce`,
// the demo's shopper generator and the benchmark use it. Keys are hashed
// with murmur2, as Java clients do, so topics written by Storepulse tools
// and by other producers stay co-partitioned.

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/kafka/kafka_client_config.h"
#include "engine/core/status.h"

namespace storepulse::kafka {

struct ProducerOptions {
  std::string bootstrap_servers;
  std::string client_id = "storepulse-producer";
  ClientProperties client;  // pass-through librdkafka settings
};

class KafkaEventProducer {
 public:
  static Result<std::unique_ptr<KafkaEventProducer>> create(ProducerOptions options);
  ~KafkaEventProducer();

  // Queues one message; waits for room when the local queue is full.
  Status send(std::string_view topic, std::string_view key, std::string_view value);
  // Waits until every queued message is acknowledged; fails if any was not.
  Status flush(std::chrono::milliseconds timeout);
  uint64_t delivered() const;

 private:
  KafkaEventProducer() = default;

  std::unique_ptr<ClientEventLogger> logger_;
  std::unique_ptr<DeliveryTracker> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace storepulse::kafka
