#include "connectors/kafka/kafka_event_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <thread>

#include "engine/core/log.h"

namespace storepulse::kafka {

class KafkaEventSource::Rebalancer final : public RdKafka::RebalanceCb {
 public:
  explicit Rebalancer(KafkaEventSource& source) : source_(source) {}
  void rebalance_cb(RdKafka::KafkaConsumer*, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    SourceHandler* handler = source_.handler_;
    if (handler == nullptr) {
      // Closing without a handler (see the destructor): nothing to commit.
      source_.consumer_->unassign();
      return;
    }
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      source_.assign(*handler, partitions);
    } else {
      source_.revoke(*handler, partitions);
    }
  }

 private:
  KafkaEventSource& source_;
};

KafkaEventSource::KafkaEventSource(KafkaSourceOptions options) : options_(std::move(options)) {}

KafkaEventSource::~KafkaEventSource() {
  // Reached without close() only after a pipeline failed: its handler may be
  // gone, and nothing it holds may be committed now, so leave the group
  // without calling it. The next owner resumes from the last commit.
  handler_ = nullptr;
  if (consumer_ && !closed_) consumer_->close();
}

Result<std::unique_ptr<KafkaEventSource>> KafkaEventSource::create(KafkaSourceOptions options) {
  const bool group = options.mode == KafkaSourceOptions::Mode::kGroup;
  auto source = std::unique_ptr<KafkaEventSource>(new KafkaEventSource(std::move(options)));
  const KafkaSourceOptions& o = source->options_;
  const ClientProperties defaults = {
      {"bootstrap.servers", o.bootstrap_servers},
      // A global-table reader never joins the group; librdkafka still wants an id.
      {"group.id", group ? o.group_id : o.group_id + ".global"},
      {"client.id", group ? "storepulse" : "storepulse-global"},
      // Offsets live in the state store; see the class comment.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", o.start == StartPosition::kEarliest ? "earliest" : "latest"},
      // Range keeps co-partitioned topics together on one instance.
      {"partition.assignment.strategy", "range"},
      {"session.timeout.ms", "10000"},
      {"max.poll.interval.ms", "300000"},
      // librdkafka 2.0 stops fetching a partition for a whole second once
      // the consumer queue holds queued.min.messages (counted over all
      // partitions, default 100000), which starves a consumer that folds
      // 100k events in less than that (librdkafka#2879; 2.2 made the
      // back-off configurable). The byte bound, queued.max.messages.kbytes,
      // is left to bound memory.
      {"queued.min.messages", "10000000"},
  };
  SP_ASSIGN_OR_RETURN(auto conf, makeClientConf({&defaults, &o.client}));
  std::string error;
  source->logger_ = std::make_unique<ClientEventLogger>(group ? "consumer" : "global-consumer");
  source->rebalancer_ = std::make_unique<Rebalancer>(*source);
  if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(source->logger_.get()), error) != RdKafka::Conf::CONF_OK ||
      conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(source->rebalancer_.get()), error) !=
          RdKafka::Conf::CONF_OK) {
    return Status(ErrorCode::kInternal, "cannot install Kafka callbacks: " + error);
  }
  source->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!source->consumer_) return Status(ErrorCode::kKafka, "cannot create Kafka consumer: " + error);
  if (group) {
    const RdKafka::ErrorCode err = source->consumer_->subscribe(o.topics);
    if (err != RdKafka::ERR_NO_ERROR) {
      return Status(ErrorCode::kKafka, "cannot subscribe: " + RdKafka::err2str(err));
    }
  }
  return source;
}

Status KafkaEventSource::checkCoPartitioned() {
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode err = consumer_->metadata(true, nullptr, &raw, 10000);
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    return Status(ErrorCode::kKafka, "cannot read topic metadata: " + RdKafka::err2str(err));
  }
  std::string first_topic;
  size_t first_count = 0;
  for (const auto* tm : *metadata->topics()) {
    if (std::find(options_.topics.begin(), options_.topics.end(), tm->topic()) == options_.topics.end() ||
        tm->err() != RdKafka::ERR_NO_ERROR) {
      continue;
    }
    const size_t count = tm->partitions()->size();
    if (first_topic.empty()) {
      first_topic = tm->topic();
      first_count = count;
    } else if (count != first_count) {
      return Status(ErrorCode::kInvalidArgument,
                    "topics " + first_topic + " (" + std::to_string(first_count) + " partitions) and " + tm->topic() +
                        " (" + std::to_string(count) +
                        " partitions) must have the same partition count: a customer's events must land in the "
                        "same partition of every customer-keyed topic");
    }
  }
  return Status::ok();
}

void KafkaEventSource::assign(SourceHandler& handler, std::vector<RdKafka::TopicPartition*>& partitions) {
  if (options_.mode == KafkaSourceOptions::Mode::kGroup) {
    // As Kafka Streams does: refuse to fold a customer's events into two
    // partitions' state rather than answer with half of it.
    if (Status s = checkCoPartitioned(); !s.isOk()) {
      rebalance_error_ = s;
      consumer_->unassign();
      return;
    }
  }
  std::vector<TopicPartition> tps;
  for (auto* p : partitions) tps.push_back({p->topic(), p->partition()});
  auto starts = handler.onAssigned(tps);
  if (!starts.isOk()) {
    // Without the stored offsets we cannot know where to resume: assign
    // nothing and stop; another instance (or a restart) takes over.
    rebalance_error_ = starts.status();
    consumer_->unassign();
    return;
  }
  const int64_t reset = options_.start == StartPosition::kEarliest ? RdKafka::Topic::OFFSET_BEGINNING
                                                                    : RdKafka::Topic::OFFSET_END;
  for (size_t i = 0; i < partitions.size(); ++i) {
    partitions[i]->set_offset(starts.value()[i].value_or(reset));
  }
  const RdKafka::ErrorCode err = consumer_->assign(partitions);
  if (err != RdKafka::ERR_NO_ERROR) {
    rebalance_error_ = Status(ErrorCode::kKafka, "assign failed: " + RdKafka::err2str(err));
    return;
  }
  for (size_t i = 0; i < partitions.size(); ++i) assigned_.push_back({tps[i], partitions[i]->offset()});
}

void KafkaEventSource::revoke(SourceHandler& handler, std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<TopicPartition> tps;
  for (auto* p : partitions) tps.push_back({p->topic(), p->partition()});
  handler.onRevoked(tps);
  consumer_->unassign();
  std::erase_if(assigned_, [&](const Assigned& a) { return std::find(tps.begin(), tps.end(), a.tp) != tps.end(); });
}

Status KafkaEventSource::assignGlobal(SourceHandler& handler) {
  std::vector<RdKafka::TopicPartition*> partitions;
  for (const auto& topic : options_.topics) {
    RdKafka::Metadata* raw = nullptr;
    std::string error;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer_.get(), topic, nullptr, error));
    if (!t) return Status(ErrorCode::kKafka, "cannot open topic " + topic + ": " + error);
    const RdKafka::ErrorCode err = consumer_->metadata(false, t.get(), &raw, 10000);
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (err != RdKafka::ERR_NO_ERROR) {
      return Status(ErrorCode::kKafka, "cannot read metadata of " + topic + ": " + RdKafka::err2str(err));
    }
    for (const auto* tm : *metadata->topics()) {
      if (tm->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART || tm->err() == RdKafka::ERR_LEADER_NOT_AVAILABLE) {
        for (auto* p : partitions) delete p;
        return Status(ErrorCode::kUnavailable, "topic " + topic + ": " + RdKafka::err2str(tm->err()));
      }
      if (tm->err() != RdKafka::ERR_NO_ERROR) {
        for (auto* p : partitions) delete p;
        return Status(ErrorCode::kKafka, "topic " + topic + ": " + RdKafka::err2str(tm->err()));
      }
      for (const auto* pm : *tm->partitions()) {
        partitions.push_back(RdKafka::TopicPartition::create(topic, pm->id()));
      }
    }
  }
  assign(handler, partitions);
  for (auto* p : partitions) delete p;
  global_assigned_ = true;
  return Status::ok();
}

Status KafkaEventSource::poll(SourceHandler& handler, std::chrono::milliseconds max_wait, size_t max_messages) {
  handler_ = &handler;
  if (options_.mode == KafkaSourceOptions::Mode::kGlobal && !global_assigned_) {
    Status assigned = assignGlobal(handler);
    if (assigned.code() == ErrorCode::kUnavailable) {
      // A global table whose topic does not exist yet: wait for it, as a
      // group subscription would; not ready until then.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_missing_topic_log_ > std::chrono::seconds(30)) {
        log::warn("global table topic not available yet, waiting", {{"error", assigned.message()}});
        last_missing_topic_log_ = now;
      }
      std::this_thread::sleep_for(max_wait);
      return Status::ok();
    }
    SP_RETURN_IF_ERROR(assigned);
  }
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  size_t delivered = 0;
  int timeout_ms = 0;
  for (size_t iteration = 0; delivered < max_messages; ++iteration) {
    // Reading the clock per message showed in profiles; every 64 messages
    // (or after an empty wait) is precise enough for a batch deadline.
    if (iteration % 64 == 0 || timeout_ms == 0) {
      timeout_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (timeout_ms <= 0) break;
    }
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout_ms));
    if (!rebalance_error_.isOk()) return rebalance_error_;
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR: {
        // The C name outlives the message; topic_name() would copy it.
        const auto* raw = static_cast<const rd_kafka_message_t*>(msg->c_ptr());
        SourceMessage m;
        m.topic = rd_kafka_topic_name(raw->rkt);
        m.partition = msg->partition();
        m.offset = msg->offset();
        if (msg->key_pointer()) m.key = std::string_view(static_cast<const char*>(msg->key_pointer()), msg->key_len());
        m.payload = std::string_view(static_cast<const char*>(msg->payload()), msg->len());
        handler.onMessage(m);
        ++delivered;
        break;
      }
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        timeout_ms = 0;  // re-read the clock
        break;
      default: {
        std::string reason;
        if (consumer_->fatal_error(reason) != RdKafka::ERR_NO_ERROR) {
          return Status(ErrorCode::kKafka, "fatal consumer error: " + reason);
        }
        log::warn("kafka consume error", {{"topic", msg->topic_name()},
                                          {"partition", std::to_string(msg->partition())},
                                          {"error", msg->errstr()}});
        break;
      }
    }
  }
  return Status::ok();
}

void KafkaEventSource::acknowledge(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) {
  if (options_.mode != KafkaSourceOptions::Mode::kGroup || next_offsets.empty()) return;
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [tp, next] : next_offsets) {
    auto* p = RdKafka::TopicPartition::create(tp.topic, tp.partition);
    p->set_offset(next);
    offsets.push_back(p);
  }
  consumer_->commitAsync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
}

std::vector<PartitionLag> KafkaEventSource::lag() const {
  std::vector<PartitionLag> out;
  std::vector<RdKafka::TopicPartition*> positions;
  for (const auto& a : assigned_) positions.push_back(RdKafka::TopicPartition::create(a.tp.topic, a.tp.partition));
  consumer_->position(positions);
  for (size_t i = 0; i < positions.size(); ++i) {
    int64_t low = 0, high = 0;
    if (consumer_->get_watermark_offsets(positions[i]->topic(), positions[i]->partition(), &low, &high) !=
            RdKafka::ERR_NO_ERROR ||
        high < 0) {
      continue;  // no fetch response yet: unknown, not zero
    }
    // The position is only known once a message was returned; before that
    // the partition is where it was assigned.
    int64_t next = positions[i]->offset();
    if (next < 0) next = assigned_[i].start_offset;
    if (next == RdKafka::Topic::OFFSET_BEGINNING) next = low;
    if (next == RdKafka::Topic::OFFSET_END) next = high;
    if (next < 0) continue;
    out.push_back({assigned_[i].tp, std::max<int64_t>(0, high - next)});
  }
  RdKafka::TopicPartition::destroy(positions);
  return out;
}

Status KafkaEventSource::close(SourceHandler& handler) {
  if (closed_) return Status::ok();
  handler_ = &handler;
  if (options_.mode == KafkaSourceOptions::Mode::kGlobal && !assigned_.empty()) {
    std::vector<RdKafka::TopicPartition*> partitions;
    for (const auto& a : assigned_) partitions.push_back(RdKafka::TopicPartition::create(a.tp.topic, a.tp.partition));
    revoke(handler, partitions);
    RdKafka::TopicPartition::destroy(partitions);
  }
  const RdKafka::ErrorCode err = consumer_->close();
  closed_ = true;
  if (err != RdKafka::ERR_NO_ERROR) return Status(ErrorCode::kKafka, "consumer close: " + RdKafka::err2str(err));
  return rebalance_error_;
}

}  // namespace storepulse::kafka
