#include "connectors/kafka/kafka_event_producer.h"


namespace storepulse::kafka {

Result<std::unique_ptr<KafkaEventProducer>> KafkaEventProducer::create(ProducerOptions options) {
  auto producer = std::unique_ptr<KafkaEventProducer>(new KafkaEventProducer());
  const ClientProperties defaults = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"partitioner", "murmur2_random"},
      {"linger.ms", "10"},
      {"batch.size", "1000000"},
      {"compression.type", "lz4"},
      {"queue.buffering.max.messages", "500000"},
  };
  producer->logger_ = std::make_unique<ClientEventLogger>(options.client_id);
  producer->reports_ = std::make_unique<DeliveryTracker>();
  SP_ASSIGN_OR_RETURN(producer->producer_,
                      makeProducer(defaults, options.client, *producer->logger_, *producer->reports_));
  return producer;
}

KafkaEventProducer::~KafkaEventProducer() {
  if (producer_) producer_->flush(10000);
}

Status KafkaEventProducer::send(std::string_view topic, std::string_view key, std::string_view value) {
  for (;;) {
    const RdKafka::ErrorCode err = producer_->produce(
        std::string(topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.empty() ? nullptr : key.data(), key.size(), 0, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) break;
    if (err != RdKafka::ERR__QUEUE_FULL) {
      return Status(ErrorCode::kKafka, "cannot produce to " + std::string(topic) + ": " + RdKafka::err2str(err));
    }
    producer_->poll(50);
  }
  producer_->poll(0);  // serve delivery reports as we go
  return Status::ok();
}

Status KafkaEventProducer::flush(std::chrono::milliseconds timeout) {
  const RdKafka::ErrorCode err = producer_->flush(static_cast<int>(timeout.count()));
  SP_RETURN_IF_ERROR(reports_->take());
  if (err != RdKafka::ERR_NO_ERROR) {
    return Status(ErrorCode::kKafka, "messages still unacknowledged after " + std::to_string(timeout.count()) +
                                         " ms: " + RdKafka::err2str(err));
  }
  return Status::ok();
}

uint64_t KafkaEventProducer::delivered() const { return reports_->delivered(); }

}  // namespace storepulse::kafka
