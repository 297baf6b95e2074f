#include "tests/engine/fakes/fake_event_source.h"

#include <algorithm>

namespace storepulse::fakes {

int64_t FakeEventSource::append(const std::string& topic, int32_t partition, std::string payload, std::string key) {
  auto& log = logs_[TopicPartition{topic, partition}];
  log.push_back(Message{std::move(key), std::move(payload)});
  return static_cast<int64_t>(log.size()) - 1;
}

void FakeEventSource::scheduleAssign(std::vector<TopicPartition> partitions) {
  script_.emplace_back(Assign{std::move(partitions)});
}
void FakeEventSource::scheduleRevoke(std::vector<TopicPartition> partitions) {
  script_.emplace_back(Revoke{std::move(partitions)});
}
void FakeEventSource::scheduleFetch(size_t count) { script_.emplace_back(Fetch{count}); }
void FakeEventSource::scheduleBreak() { script_.emplace_back(Break{}); }

size_t FakeEventSource::pendingMessages() const {
  size_t n = 0;
  for (const auto& [tp, position] : positions_) {
    auto it = logs_.find(tp);
    const int64_t size = it == logs_.end() ? 0 : static_cast<int64_t>(it->second.size());
    n += static_cast<size_t>(std::max<int64_t>(0, size - position));
  }
  return n;
}

Status FakeEventSource::assign(SourceHandler& handler, const std::vector<TopicPartition>& partitions) {
  auto starts = handler.onAssigned(partitions);
  if (!starts.isOk()) return starts.status();
  if (starts->size() != partitions.size()) {
    return Status(ErrorCode::kInternal, "onAssigned must return one start offset per partition");
  }
  for (size_t i = 0; i < partitions.size(); ++i) {
    assigned_starts_.emplace_back(partitions[i], (*starts)[i]);
    positions_[partitions[i]] = (*starts)[i].value_or(0);  // reset policy: earliest
  }
  return Status::ok();
}

void FakeEventSource::revoke(SourceHandler& handler, const std::vector<TopicPartition>& partitions) {
  handler.onRevoked(partitions);
  for (const auto& tp : partitions) {
    positions_.erase(tp);
    revoked_.push_back(tp);
  }
}

size_t FakeEventSource::fetch(SourceHandler& handler, size_t count) {
  size_t sent = 0;
  bool progressed = true;
  while (sent < count && progressed) {
    progressed = false;
    for (auto& [tp, position] : positions_) {
      if (sent == count) break;
      auto it = logs_.find(tp);
      if (it == logs_.end() || position >= static_cast<int64_t>(it->second.size())) continue;
      const Message& m = it->second[static_cast<size_t>(position)];
      SourceMessage message;
      message.topic = tp.topic;
      message.partition = tp.partition;
      message.offset = position;
      message.key = m.key;
      message.payload = m.payload;
      ++position;  // before the call, as librdkafka has moved on by then
      handler.onMessage(message);
      ++sent;
      ++delivered_;
      progressed = true;
    }
  }
  return sent;
}

Status FakeEventSource::poll(SourceHandler& handler, std::chrono::milliseconds, size_t max_messages) {
  if (fail_next_poll_) {
    fail_next_poll_ = false;
    return Status(ErrorCode::kKafka, "fake source: fatal error");
  }
  size_t sent = 0;
  while (!script_.empty()) {
    Step step = std::move(script_.front());
    script_.erase(script_.begin());
    if (std::holds_alternative<Break>(step)) return Status::ok();
    if (auto* a = std::get_if<Assign>(&step)) {
      SP_RETURN_IF_ERROR(assign(handler, a->partitions));
    } else if (auto* r = std::get_if<Revoke>(&step)) {
      revoke(handler, r->partitions);
    } else if (auto* f = std::get_if<Fetch>(&step)) {
      sent += fetch(handler, std::min(f->count, max_messages - std::min(sent, max_messages)));
    }
  }
  if (sent < max_messages) fetch(handler, max_messages - sent);
  return Status::ok();
}

void FakeEventSource::acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) {
  for (const auto& [tp, offset] : next_offsets) acknowledged_[tp] = offset;
}

std::vector<PartitionLag> FakeEventSource::lag() const {
  std::vector<PartitionLag> out;
  for (const auto& [tp, position] : positions_) {
    auto it = logs_.find(tp);
    const int64_t size = it == logs_.end() ? 0 : static_cast<int64_t>(it->second.size());
    out.push_back(PartitionLag{tp, size - position});
  }
  return out;
}

Status FakeEventSource::close(SourceHandler& handler) {
  std::vector<TopicPartition> all;
  for (const auto& [tp, position] : positions_) all.push_back(tp);
  if (!all.empty()) revoke(handler, all);
  closed_ = true;
  return Status::ok();
}

}  // namespace storepulse::fakes
