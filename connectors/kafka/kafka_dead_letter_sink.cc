#include "connectors/kafka/kafka_dead_letter_sink.h"

#include "engine/core/time.h"

namespace storepulse::kafka {

KafkaDeadLetterSink::KafkaDeadLetterSink(DeadLetterOptions options) : options_(std::move(options)) {}

KafkaDeadLetterSink::~KafkaDeadLetterSink() = default;

Result<std::unique_ptr<KafkaDeadLetterSink>> KafkaDeadLetterSink::create(DeadLetterOptions options) {
  auto sink = std::unique_ptr<KafkaDeadLetterSink>(new KafkaDeadLetterSink(std::move(options)));
  const ClientProperties defaults = {
      {"bootstrap.servers", sink->options_.bootstrap_servers},
      {"client.id", "storepulse-dlq"},
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
      // Dead letters carry messages up to the size limit plus headers.
      {"message.max.bytes", "4194304"},
  };
  SP_ASSIGN_OR_RETURN(sink->producer_, DurableProducer::create("dead letters", defaults, sink->options_.client));
  return sink;
}

void KafkaDeadLetterSink::send(const SourceMessage& message, std::string_view reason, std::string_view detail) {
  RdKafka::Headers* headers = RdKafka::Headers::create();
  const std::string partition = std::to_string(message.partition);
  const std::string offset = std::to_string(message.offset);
  const std::string rejected_at = std::to_string(wallClockMillis());
  headers->add("storepulse.source.topic", message.topic.data(), message.topic.size());
  headers->add("storepulse.source.partition", partition);
  headers->add("storepulse.source.offset", offset);
  headers->add("storepulse.reason", reason.data(), reason.size());
  headers->add("storepulse.detail", detail.data(), detail.size());
  headers->add("storepulse.rejected_at", rejected_at);
  producer_->produce(options_.topic, message.key, message.payload, headers);
}

Status KafkaDeadLetterSink::flush(std::chrono::milliseconds timeout) { return producer_->flush(timeout); }

}  // namespace storepulse::kafka
