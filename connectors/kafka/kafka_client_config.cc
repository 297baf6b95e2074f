#include "connectors/kafka/kafka_client_config.h"

#include "engine/core/log.h"

namespace storepulse::kafka {

Result<std::unique_ptr<RdKafka::Conf>> makeClientConf(std::initializer_list<const ClientProperties*> layers) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const ClientProperties* layer : layers) {
    for (const auto& [key, value] : *layer) {
      if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
        return Status(ErrorCode::kInvalidArgument, "Kafka client setting '" + key + "': " + error);
      }
    }
  }
  return conf;
}

void ClientEventLogger::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      log::write(event.fatal() ? spdlog::level::err : spdlog::level::warn, "kafka client error",
                 {{"client", client_}, {"error", RdKafka::err2str(event.err())}, {"detail", event.str()}});
      break;
    case RdKafka::Event::EVENT_LOG:
      log::write(event.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR ? spdlog::level::err
                 : event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING ? spdlog::level::warn
                                                                               : spdlog::level::debug,
                 "kafka client log", {{"client", client_}, {"facility", event.fac()}, {"detail", event.str()}});
      break;
    default:
      break;
  }
}

void DeliveryTracker::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  if (failed_++ == 0) first_error_ = message.errstr();
}

Status DeliveryTracker::take() {
  std::lock_guard lock(mutex_);
  if (failed_ == 0) return Status::ok();
  Status s(ErrorCode::kKafka, std::to_string(failed_) + " message(s) not delivered: " + first_error_);
  failed_ = 0;
  first_error_.clear();
  return s;
}

Result<std::unique_ptr<RdKafka::Producer>> makeProducer(const ClientProperties& defaults,
                                                        const ClientProperties& user, ClientEventLogger& logger,
                                                        DeliveryTracker& tracker) {
  SP_ASSIGN_OR_RETURN(auto conf, makeClientConf({&defaults, &user}));
  std::string error;
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&logger), error) != RdKafka::Conf::CONF_OK ||
      conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&tracker), error) != RdKafka::Conf::CONF_OK) {
    return Status(ErrorCode::kInternal, "cannot install Kafka callbacks: " + error);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) return Status(ErrorCode::kKafka, "cannot create Kafka producer: " + error);
  return producer;
}

}  // namespace storepulse::kafka
