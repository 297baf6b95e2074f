#pragma once
// OutputSink on an idempotent Kafka producer: alerts to the alerts topic,
// keyed by recipient, and `emit` records to theirs. At-least-once: after a
// crash between the send and the state commit the batch is replayed and its
// records sent again with the same ids.

#include <memory>
#include <string>

#include "connectors/kafka/durable_producer.h"
#include "connectors/kafka/kafka_client_config.h"
#include "engine/pipeline/output_sink.h"

namespace storepulse::kafka {

struct OutputSinkOptions {
  std::string bootstrap_servers;
  ClientProperties client;  // pass-through librdkafka producer settings
};

class KafkaOutputSink final : public OutputSink {
 public:
  static Result<std::unique_ptr<KafkaOutputSink>> create(const OutputSinkOptions& options);

  void send(std::string_view topic, std::string_view key, std::string_view value) override;
  Status flush(std::chrono::milliseconds timeout) override;

 private:
  KafkaOutputSink() = default;
  std::unique_ptr<DurableProducer> producer_;
};

}  // namespace storepulse::kafka
