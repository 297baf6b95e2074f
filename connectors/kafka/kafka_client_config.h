#pragma once
// Builds librdkafka configurations from key/value maps: Storepulse's
// defaults first, then the user's `kafka.consumer.*` / `kafka.producer.*`
// pass-through keys, so TLS/SASL work as librdkafka documents them.

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>

#include "engine/core/status.h"

namespace storepulse::kafka {

using ClientProperties = std::map<std::string, std::string>;

// Later maps override earlier ones. Errors name the offending key.
Result<std::unique_ptr<RdKafka::Conf>> makeClientConf(std::initializer_list<const ClientProperties*> layers);

// Logs librdkafka's own log lines and errors through storepulse::log.
class ClientEventLogger final : public RdKafka::EventCb {
 public:
  explicit ClientEventLogger(std::string client) : client_(std::move(client)) {}
  void event_cb(RdKafka::Event& event) override;

 private:
  std::string client_;
};

}  // namespace storepulse::kafka
