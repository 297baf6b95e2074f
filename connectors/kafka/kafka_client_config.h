#pragma once
// Builds librdkafka configurations from key/value maps: Storepulse's
// defaults first, then the user's `kafka.consumer.*` / `kafka.producer.*`
// pass-through keys, so TLS/SASL work as librdkafka documents them.

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <map>
#include <mutex>
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

// Counts delivery reports; remembers the first failure since the last take().
class DeliveryTracker final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override;
  // The failures since the last call, as one error, and resets them.
  Status take();
  uint64_t delivered() const { return delivered_.load(); }

 private:
  std::atomic<uint64_t> delivered_{0};
  std::mutex mutex_;
  uint64_t failed_ = 0;
  std::string first_error_;
};

// A producer from Storepulse's `defaults` overlaid with the user's settings,
// logging through `logger` and reporting deliveries to `tracker` (both must
// outlive it).
Result<std::unique_ptr<RdKafka::Producer>> makeProducer(const ClientProperties& defaults,
                                                        const ClientProperties& user, ClientEventLogger& logger,
                                                        DeliveryTracker& tracker);

}  // namespace storepulse::kafka
