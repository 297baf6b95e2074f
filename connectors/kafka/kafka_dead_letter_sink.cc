#include "connectors/kafka/kafka_dead_letter_sink.h"

#include "engine/core/log.h"
#include "engine/core/time.h"

namespace storepulse::kafka {

KafkaDeadLetterSink::KafkaDeadLetterSink(DeadLetterOptions options) : options_(std::move(options)) {}

KafkaDeadLetterSink::~KafkaDeadLetterSink() {
  if (producer_) producer_->flush(5000);
}

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
  sink->logger_ = std::make_unique<ClientEventLogger>("dead-letter-producer");
  sink->reports_ = std::make_unique<DeliveryTracker>();
  SP_ASSIGN_OR_RETURN(sink->producer_, makeProducer(defaults, sink->options_.client, *sink->logger_, *sink->reports_));
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
  for (;;) {
    const RdKafka::ErrorCode err = producer_->produce(
        options_.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(message.payload.data()), message.payload.size(), message.key.data(), message.key.size(),
        0, headers, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return;  // the producer owns the headers now
    if (err == RdKafka::ERR__QUEUE_FULL) {
      producer_->poll(100);  // wait for deliveries to make room
      continue;
    }
    // Not retryable: remember it so the next flush fails and the offsets
    // past this message are not committed.
    log::error("cannot queue dead letter", {{"topic", std::string(message.topic)},
                                            {"partition", partition},
                                            {"offset", offset},
                                            {"error", RdKafka::err2str(err)}});
    delete headers;
    failed_to_queue_ = RdKafka::err2str(err);
    return;
  }
}

Status KafkaDeadLetterSink::flush(std::chrono::milliseconds timeout) {
  const RdKafka::ErrorCode err = producer_->flush(static_cast<int>(timeout.count()));
  Status delivered = reports_->take();
  if (!failed_to_queue_.empty()) {
    std::string why = std::move(failed_to_queue_);
    failed_to_queue_.clear();
    return Status(ErrorCode::kKafka, "a dead letter could not be queued: " + why);
  }
  if (err != RdKafka::ERR_NO_ERROR) {
    return Status(ErrorCode::kKafka, "dead letters not delivered within " + std::to_string(timeout.count()) +
                                         " ms: " + RdKafka::err2str(err));
  }
  if (!delivered.isOk()) return Status(ErrorCode::kKafka, "dead letters: " + delivered.message());
  return Status::ok();
}

}  // namespace storepulse::kafka
