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

}  // namespace storepulse::kafka
