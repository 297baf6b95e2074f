#pragma once
// An idempotent producer for records that must not be lost: dead letters,
// alerts, `emit` records. produce() never fails outright; flush() says
// whether everything produced since the last flush is stored, so the
// pipeline commits offsets only past output that is durable.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "connectors/kafka/kafka_client_config.h"

namespace storepulse::kafka {

class DurableProducer {
 public:
  // `what` names the records in logs and errors ("dead letters", "alerts").
  static Result<std::unique_ptr<DurableProducer>> create(std::string what, const ClientProperties& defaults,
                                                         const ClientProperties& user);
  ~DurableProducer();  // waits a little for what is still queued

  // Queues a copy of key and value; `headers` (may be null) is owned from
  // here on. Waits for room when the local queue is full; an error that
  // retrying cannot fix is remembered and fails the next flush.
  void produce(const std::string& topic, std::string_view key, std::string_view value, RdKafka::Headers* headers);
  Status flush(std::chrono::milliseconds timeout);

 private:
  explicit DurableProducer(std::string what) : what_(std::move(what)) {}

  std::string what_;
  std::unique_ptr<ClientEventLogger> logger_;
  std::unique_ptr<DeliveryTracker> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  // Both pipeline threads may share one producer (the dead-letter sink).
  std::mutex failure_mutex_;
  std::string failed_to_queue_;  // guarded by failure_mutex_
};

}  // namespace storepulse::kafka
