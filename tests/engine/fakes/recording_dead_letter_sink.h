#pragma once
// A DeadLetterSink that keeps what it is sent (copies: the source's bytes are
// only valid during the call) and can be told to fail its flush, as a
// producer that cannot reach the broker would.

#include <string>
#include <vector>

#include "engine/pipeline/dead_letter_sink.h"

namespace storepulse::fakes {

struct DeadLetter {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string payload;
  std::string reason;
  std::string detail;
};

class RecordingDeadLetterSink final : public DeadLetterSink {
 public:
  void send(const SourceMessage& m, std::string_view reason, std::string_view detail) override {
    queued_.push_back(DeadLetter{std::string(m.topic), m.partition, m.offset, std::string(m.key),
                                 std::string(m.payload), std::string(reason), std::string(detail)});
  }

  Status flush(std::chrono::milliseconds) override {
    ++flushes_;
    if (fail_flush_) return Status(ErrorCode::kKafka, "fake dead-letter topic unreachable");
    stored_.insert(stored_.end(), queued_.begin(), queued_.end());
    queued_.clear();
    return Status::ok();
  }

  void setFailFlush(bool fail) { fail_flush_ = fail; }
  // Sent, whether flushed or not.
  std::vector<DeadLetter> sent() const {
    std::vector<DeadLetter> all = stored_;
    all.insert(all.end(), queued_.begin(), queued_.end());
    return all;
  }
  // Flushed successfully: durable.
  const std::vector<DeadLetter>& stored() const { return stored_; }
  size_t flushes() const { return flushes_; }

 private:
  std::vector<DeadLetter> queued_;
  std::vector<DeadLetter> stored_;
  size_t flushes_ = 0;
  bool fail_flush_ = false;
};

}  // namespace storepulse::fakes
