#pragma once
// DeadLetterSink on an idempotent Kafka producer. A dead letter keeps the
// original key and bytes untouched; where it came from and why it was
// rejected travel in headers (as Kafka Connect's DLQ does):
//   storepulse.source.topic / .partition / .offset, storepulse.reason,
//   storepulse.detail, storepulse.rejected_at (epoch ms).
// Dead letters are at-least-once: after a crash between the send and the
// state commit the message is rejected again; (topic, partition, offset)
// identify duplicates.

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "connectors/kafka/durable_producer.h"
#include "connectors/kafka/kafka_client_config.h"
#include "engine/pipeline/dead_letter_sink.h"

namespace storepulse::kafka {

struct DeadLetterOptions {
  std::string bootstrap_servers;
  std::string topic = "storepulse.dlq";
  ClientProperties client;  // pass-through librdkafka producer settings
};

class KafkaDeadLetterSink final : public DeadLetterSink {
 public:
  static Result<std::unique_ptr<KafkaDeadLetterSink>> create(DeadLetterOptions options);
  ~KafkaDeadLetterSink() override;

  void send(const SourceMessage& message, std::string_view reason, std::string_view detail) override;
  Status flush(std::chrono::milliseconds timeout) override;

 private:
  explicit KafkaDeadLetterSink(DeadLetterOptions options);

  DeadLetterOptions options_;
  std::unique_ptr<DurableProducer> producer_;
};

}  // namespace storepulse::kafka
