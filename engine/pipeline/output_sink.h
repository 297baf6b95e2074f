#pragma once
// Where rule actions send records: alerts to the alerts topic, `emit`
// records to theirs. The Kafka producer in production
// (connectors/kafka/kafka_output_sink), a JSON-lines file in backtests, a
// vector in tests. Same contract as DeadLetterSink: send never blocks on
// the network, flush makes everything sent durable before the pipeline
// commits the offsets that produced it.

#include <chrono>
#include <string_view>

#include "engine/core/status.h"

namespace storepulse {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void send(std::string_view topic, std::string_view key, std::string_view value) = 0;
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace storepulse
