#pragma once
// Where rejected messages go: the dead-letter topic in production
// (connectors/kafka/kafka_dead_letter_sink), a vector in tests.

#include <chrono>
#include <string_view>

#include "engine/core/status.h"
#include "engine/pipeline/event_source.h"

namespace storepulse {

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // Queues the original message with why it was rejected. Never blocks on
  // the network.
  virtual void send(const SourceMessage& message, std::string_view reason, std::string_view detail) = 0;
  // Returns once every queued dead letter is stored durably, or fails. The
  // pipeline calls it before committing offsets past those messages.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace storepulse
