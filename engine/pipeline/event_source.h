#pragma once
// The seam between the engine and wherever events come from. KafkaEventSource
// (connectors/kafka) is the real one; tests drive the pipeline with fakes.
//
// Push style: the source calls its handler for every message and for every
// assignment change, on the thread that called poll(). A revocation is thus
// always seen after the messages before it, and the handler can commit them
// before the partition goes to another instance.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/state/state_store.h"

namespace storepulse {

struct SourceMessage {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view payload;  // valid only during onMessage
};

class SourceHandler {
 public:
  virtual ~SourceHandler() = default;
  virtual void onMessage(const SourceMessage& message) = 0;
  // Partitions handed to this instance. Returns, for each, the offset to
  // start from (the one the state store holds), or nullopt to start at the
  // source's reset position.
  virtual Result<std::vector<std::optional<int64_t>>> onAssigned(const std::vector<TopicPartition>& partitions) = 0;
  // Partitions taken away: commit their work before returning.
  virtual void onRevoked(const std::vector<TopicPartition>& partitions) = 0;
};

struct PartitionLag {
  TopicPartition tp;
  int64_t lag = 0;  // high watermark minus the next offset to read
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Delivers up to `max_messages` messages within about `max_wait`. Returns an
  // error only when the source cannot go on (a fatal client error).
  virtual Status poll(SourceHandler& handler, std::chrono::milliseconds max_wait, size_t max_messages) = 0;
  // Tells the broker how far processing got, for lag tools; the engine itself
  // restarts from the state store, never from these.
  virtual void acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) = 0;
  virtual std::vector<PartitionLag> lag() const = 0;
  // Leaves the group; the handler sees the final revocation.
  virtual Status close(SourceHandler& handler) = 0;
};

}  // namespace storepulse
