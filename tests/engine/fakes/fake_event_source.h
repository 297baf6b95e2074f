#pragma once
// A scripted, in-memory EventSource: per-partition logs of messages, a
// consumer position per assigned partition, and a script of rebalance
// actions. Like a Kafka consumer, poll() first runs the scripted actions in
// order (an assignment asks the handler where to start, a revocation lets it
// commit), then delivers messages from the assigned partitions' positions,
// round-robin across partitions so topics interleave.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/pipeline/event_source.h"

namespace storepulse::fakes {

class FakeEventSource final : public EventSource {
 public:
  struct Message {
    std::string key;
    std::string payload;
  };

  // Appends a message to a partition's log; returns its offset.
  int64_t append(const std::string& topic, int32_t partition, std::string payload, std::string key = "");

  // Script steps, run by later polls in the order given.
  void scheduleAssign(std::vector<TopicPartition> partitions);
  void scheduleRevoke(std::vector<TopicPartition> partitions);
  // Delivers up to `count` messages at this point of the script (so that a
  // revocation can follow messages within one poll).
  void scheduleFetch(size_t count);
  // Ends the current poll here; later steps run at the next poll.
  void scheduleBreak();

  // Messages of assigned partitions not delivered yet.
  size_t pendingMessages() const;
  bool scriptDone() const { return script_.empty(); }

  // Where each assignment asked to start, in order: what onAssigned returned.
  const std::vector<std::pair<TopicPartition, std::optional<int64_t>>>& assignedStarts() const {
    return assigned_starts_;
  }
  const std::map<TopicPartition, int64_t>& acknowledged() const { return acknowledged_; }
  const std::vector<TopicPartition>& revokedPartitions() const { return revoked_; }
  size_t delivered() const { return delivered_; }
  bool closed() const { return closed_; }
  // Makes the next poll fail as a fatal client error would.
  void failNextPoll() { fail_next_poll_ = true; }

  // EventSource
  Status poll(SourceHandler& handler, std::chrono::milliseconds max_wait, size_t max_messages) override;
  void acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) override;
  std::vector<PartitionLag> lag() const override;
  Status close(SourceHandler& handler) override;

 private:
  struct Assign {
    std::vector<TopicPartition> partitions;
  };
  struct Revoke {
    std::vector<TopicPartition> partitions;
  };
  struct Fetch {
    size_t count;
  };
  struct Break {};
  using Step = std::variant<Assign, Revoke, Fetch, Break>;

  Status assign(SourceHandler& handler, const std::vector<TopicPartition>& partitions);
  void revoke(SourceHandler& handler, const std::vector<TopicPartition>& partitions);
  size_t fetch(SourceHandler& handler, size_t count);

  std::map<TopicPartition, std::vector<Message>> logs_;
  std::map<TopicPartition, int64_t> positions_;  // assigned partitions only
  std::vector<Step> script_;
  std::vector<std::pair<TopicPartition, std::optional<int64_t>>> assigned_starts_;
  std::map<TopicPartition, int64_t> acknowledged_;
  std::vector<TopicPartition> revoked_;
  size_t delivered_ = 0;
  bool closed_ = false;
  bool fail_next_poll_ = false;
};

}  // namespace storepulse::fakes
