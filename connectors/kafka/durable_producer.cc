#include "connectors/kafka/durable_producer.h"

#include <utility>

#include "engine/core/log.h"

namespace storepulse::kafka {

Result<std::unique_ptr<DurableProducer>> DurableProducer::create(std::string what, const ClientProperties& defaults,
                                                                 const ClientProperties& user) {
  auto producer = std::unique_ptr<DurableProducer>(new DurableProducer(std::move(what)));
  producer->logger_ = std::make_unique<ClientEventLogger>(producer->what_ + " producer");
  producer->reports_ = std::make_unique<DeliveryTracker>();
  SP_ASSIGN_OR_RETURN(producer->producer_, makeProducer(defaults, user, *producer->logger_, *producer->reports_));
  return producer;
}

DurableProducer::~DurableProducer() {
  if (producer_) producer_->flush(5000);
}

void DurableProducer::produce(const std::string& topic, std::string_view key, std::string_view value,
                              RdKafka::Headers* headers) {
  for (;;) {
    const RdKafka::ErrorCode err =
        producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                           const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, headers, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return;  // the producer owns the headers now
    if (err == RdKafka::ERR__QUEUE_FULL) {
      producer_->poll(100);  // wait for deliveries to make room
      continue;
    }
    log::error("cannot queue a record", {{"records", what_}, {"topic", topic}, {"error", RdKafka::err2str(err)}});
    delete headers;
    std::lock_guard lock(failure_mutex_);
    failed_to_queue_ = RdKafka::err2str(err);
    return;
  }
}

Status DurableProducer::flush(std::chrono::milliseconds timeout) {
  const RdKafka::ErrorCode err = producer_->flush(static_cast<int>(timeout.count()));
  Status delivered = reports_->take();
  std::string why;
  {
    std::lock_guard lock(failure_mutex_);
    why = std::exchange(failed_to_queue_, std::string());
  }
  if (!why.empty()) return Status(ErrorCode::kKafka, what_ + ": a record could not be queued: " + why);
  if (err != RdKafka::ERR_NO_ERROR) {
    return Status(ErrorCode::kKafka, what_ + " not delivered within " + std::to_string(timeout.count()) +
                                         " ms: " + RdKafka::err2str(err));
  }
  if (!delivered.isOk()) return Status(ErrorCode::kKafka, what_ + ": " + delivered.message());
  return Status::ok();
}

}  // namespace storepulse::kafka
