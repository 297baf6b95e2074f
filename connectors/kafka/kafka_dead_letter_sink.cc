#include "connectors/kafka/kafka_dead_letter_sink.h"

#include "engine/core/log.h"
#include "engine/core/time.h"

namespace storepulse::kafka {

// Remembers the first failed delivery since the last flush.
class KafkaDeadLetterSink::DeliveryReports final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) return;
    std::lock_guard lock(mutex_);
    if (first_error_.empty()) first_error_ = message.errstr();
    ++failed_;
  }
  // Returns the failures since the last call and resets them.
  std::pair<size_t, std::string> take() {
    std::lock_guard lock(mutex_);
    auto out = std::make_pair(failed_, std::move(first_error_));
    failed_ = 0;
    first_error_.clear();
    return out;
  }

 private:
  std::mutex mutex_;
  size_t failed_ = 0;
  std::string first_error_;
};

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
  SP_ASSIGN_OR_RETURN(auto conf, makeClientConf({&defaults, &sink->options_.client}));
  std::string error;
  sink->logger_ = std::make_unique<ClientEventLogger>("dead-letter-producer");
  sink->reports_ = std::make_unique<DeliveryReports>();
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(sink->logger_.get()), error) != RdKafka::Conf::CONF_OK ||
      conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(sink->reports_.get()), error) !=
          RdKafka::Conf::CONF_OK) {
    return Status(ErrorCode::kInternal, "cannot install Kafka callbacks: " + error);
  }
  sink->producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (!sink->producer_) return Status(ErrorCode::kKafka, "cannot create dead-letter producer: " + error);
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
  auto [failed, first_error] = reports_->take();
  if (!failed_to_queue_.empty()) {
    std::string why = std::move(failed_to_queue_);
    failed_to_queue_.clear();
    return Status(ErrorCode::kKafka, "a dead letter could not be queued: " + why);
  }
  if (err != RdKafka::ERR_NO_ERROR) {
    return Status(ErrorCode::kKafka, "dead letters not delivered within " + std::to_string(timeout.count()) +
                                         " ms: " + RdKafka::err2str(err));
  }
  if (failed > 0) {
    return Status(ErrorCode::kKafka, std::to_string(failed) + " dead letter(s) failed: " + first_error);
  }
  return Status::ok();
}

}  // namespace storepulse::kafka
