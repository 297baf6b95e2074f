#include "tests/support/kafka_test_env.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace storepulse::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("kafka_test_env: " + what); }

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1'000'000'000));
}

// ---- C API handles (admin and metadata) ---------------------------------

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
template <typename T>
using CPtr = std::unique_ptr<T, RdKafkaDeleter>;

CPtr<rd_kafka_t> newAdminClient(const std::string& bootstrap) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log.connection.close", "false", errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    fail(std::string("admin client config: ") + errstr);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    fail(std::string("admin client: ") + errstr);
  }
  return CPtr<rd_kafka_t>(rk);
}

// Empty when every topic is present with all its partitions led, else why not.
std::string topicsNotReady(rd_kafka_t* rk, const std::vector<std::string>& topics,
                           const std::map<std::string, int>& want_partitions, int timeout_ms) {
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &raw, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::string("metadata: ") + rd_kafka_err2str(err);
  CPtr<const rd_kafka_metadata_t> md(raw);
  for (const std::string& name : topics) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (name == md->topics[i].topic) found = &md->topics[i];
    }
    if (found == nullptr) return "topic " + name + " not in metadata yet";
    if (found->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return "topic " + name + ": " + rd_kafka_err2str(found->err);
    }
    auto want = want_partitions.find(name);
    if (found->partition_cnt == 0 ||
        (want != want_partitions.end() && found->partition_cnt != want->second)) {
      return "topic " + name + " has " + std::to_string(found->partition_cnt) + " partitions so far";
    }
    for (int p = 0; p < found->partition_cnt; ++p) {
      if (found->partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR || found->partitions[p].leader < 0) {
        return "topic " + name + " partition " + std::to_string(p) + " has no leader yet";
      }
    }
  }
  return {};
}

// ---- C++ API -------------------------------------------------------------

std::unique_ptr<RdKafka::Conf> newConf(const std::map<std::string, std::string>& settings) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string errstr;
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, errstr) != RdKafka::Conf::CONF_OK) fail("config " + k + "=" + v + ": " + errstr);
  }
  return conf;
}

class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& msg) override {
    if (msg.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered_;
    } else {
      if (failed_++ == 0) first_error_ = msg.errstr() + " (partition " + std::to_string(msg.partition()) + ")";
    }
  }
  size_t delivered() const { return delivered_; }
  size_t failed() const { return failed_; }
  const std::string& firstError() const { return first_error_; }

 private:
  size_t delivered_ = 0;  // callbacks run on the producing thread (poll/flush)
  size_t failed_ = 0;
  std::string first_error_;
};

bool retriableConsumeError(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
    case RdKafka::ERR__UNKNOWN_PARTITION:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR__TIMED_OUT:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool kafkaConfigured() {
  const char* v = std::getenv(kKafkaEnvVar);
  return v != nullptr && *v != '\0';
}

std::string kafkaBootstrap() {
  if (!kafkaConfigured()) {
    fail(std::string(kKafkaEnvVar) + " is not set: run through deploy/test-kafka.sh run");
  }
  return std::getenv(kKafkaEnvVar);
}

std::string uniqueName(std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream out;
  out << prefix << '-' << ::getpid() << '-' << counter.fetch_add(1) << '-' << std::hex
      << (rng() & 0xffffffffffULL);
  return out.str();
}

void createTopics(const std::string& bootstrap, const std::vector<std::string>& topics, int partitions,
                  const std::map<std::string, std::string>& config) {
  if (topics.empty()) return;
  if (partitions <= 0) fail("createTopics: partitions must be positive");
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  CPtr<rd_kafka_t> rk = newAdminClient(bootstrap);
  char errstr[512];

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  auto destroy_new_topics = [&] {
    rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
    new_topics.clear();
  };
  for (const std::string& name : topics) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof errstr);
    if (nt == nullptr) {
      destroy_new_topics();
      fail("createTopics " + name + ": " + errstr);
    }
    new_topics.push_back(nt);
    for (const auto& [k, v] : config) {
      if (rd_kafka_resp_err_t err = rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()); err) {
        destroy_new_topics();
        fail("createTopics " + name + " config " + k + ": " + rd_kafka_err2str(err));
      }
    }
  }

  CPtr<rd_kafka_AdminOptions_t> options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  if (rd_kafka_AdminOptions_set_operation_timeout(options.get(), 30000, errstr, sizeof errstr) ||
      rd_kafka_AdminOptions_set_request_timeout(options.get(), 30000, errstr, sizeof errstr)) {
    destroy_new_topics();
    fail(std::string("createTopics options: ") + errstr);
  }
  CPtr<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_CreateTopics(rk.get(), new_topics.data(), new_topics.size(), options.get(), queue.get());
  destroy_new_topics();  // CreateTopics copied them

  CPtr<rd_kafka_event_t> event(rd_kafka_queue_poll(queue.get(), remainingMs(deadline)));
  if (!event) fail("createTopics: no result within 60 s");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fail(std::string("createTopics: ") + rd_kafka_event_error_string(event.get()));
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr) fail("createTopics: unexpected event " + std::string(rd_kafka_event_name(event.get())));
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  std::map<std::string, int> want_partitions;  // only for topics this call created
  std::string errors;
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    const std::string name = rd_kafka_topic_result_name(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      want_partitions[name] = partitions;
    } else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      errors += (errors.empty() ? "" : "; ") + name + ": " + (msg ? msg : rd_kafka_err2str(err));
    }
  }
  if (!errors.empty()) fail("createTopics: " + errors);

  std::string why;
  while (!(why = topicsNotReady(rk.get(), topics, want_partitions, std::max(remainingMs(deadline), 1))).empty()) {
    if (Clock::now() >= deadline) fail("createTopics: not ready after 60 s: " + why);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void produceMessages(const std::string& bootstrap, const std::string& topic,
                     const std::vector<OutgoingMessage>& messages) {
  DeliveryReports reports;
  std::unique_ptr<RdKafka::Conf> conf = newConf({
      {"bootstrap.servers", bootstrap},
      {"enable.idempotence", "true"},  // acks=all, ordered and without duplicates on retries
      {"linger.ms", "5"},
      {"partitioner", "murmur2_random"},
      {"message.timeout.ms", "30000"},
      {"log.connection.close", "false"},
  });
  std::string errstr;
  if (conf->set("dr_cb", &reports, errstr) != RdKafka::Conf::CONF_OK) fail("dr_cb: " + errstr);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), errstr));
  if (!producer) fail("producer: " + errstr);

  for (const OutgoingMessage& m : messages) {
    while (true) {
      RdKafka::Headers* headers = nullptr;
      if (!m.headers.empty()) {
        headers = RdKafka::Headers::create();
        for (const auto& [k, v] : m.headers) headers->add(k, v.data(), v.size());
      }
      const RdKafka::ErrorCode err = producer->produce(
          topic, m.partition < 0 ? RdKafka::Topic::PARTITION_UA : m.partition, RdKafka::Producer::RK_MSG_COPY,
          const_cast<char*>(m.value.data()), m.value.size(), m.key ? m.key->data() : nullptr,
          m.key ? m.key->size() : 0, m.timestamp_ms, headers, nullptr);
      if (err == RdKafka::ERR_NO_ERROR) break;  // the producer now owns headers
      delete headers;
      if (err != RdKafka::ERR__QUEUE_FULL) fail("produce to " + topic + ": " + RdKafka::err2str(err));
      producer->poll(100);
    }
    producer->poll(0);
  }
  const RdKafka::ErrorCode err = producer->flush(60000);
  if (err != RdKafka::ERR_NO_ERROR) {
    fail("produce to " + topic + ": flush: " + RdKafka::err2str(err) + ", " +
         std::to_string(producer->outq_len()) + " messages undelivered");
  }
  if (reports.failed() != 0) {
    fail("produce to " + topic + ": " + std::to_string(reports.failed()) + " of " +
         std::to_string(messages.size()) + " messages failed, first: " + reports.firstError());
  }
  if (reports.delivered() != messages.size()) {
    fail("produce to " + topic + ": " + std::to_string(reports.delivered()) + " delivery reports for " +
         std::to_string(messages.size()) + " messages");
  }
}

void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<std::pair<std::string, std::string>>& key_values) {
  produce(bootstrap, topic, -1, key_values);
}

void produce(const std::string& bootstrap, const std::string& topic, int32_t partition,
             const std::vector<std::pair<std::string, std::string>>& key_values) {
  std::vector<OutgoingMessage> messages;
  messages.reserve(key_values.size());
  for (const auto& [k, v] : key_values) messages.push_back(OutgoingMessage{k, v, partition, {}, 0});
  produceMessages(bootstrap, topic, messages);
}

std::vector<ConsumedMessage> consumeAll(const std::string& bootstrap, const std::string& topic,
                                        std::chrono::milliseconds timeout, size_t expected_at_least) {
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<RdKafka::Conf> conf = newConf({
      {"bootstrap.servers", bootstrap},
      {"group.id", uniqueName("sp-test-consume-all")},  // required by the API; never joined
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "false"},
      {"log.connection.close", "false"},
  });
  std::string errstr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), errstr));
  if (!consumer) fail("consumer: " + errstr);

  // Partitions of the topic, from the metadata.
  int partition_count = 0;
  while (true) {
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode err = consumer->metadata(true, nullptr, &raw, std::max(remainingMs(deadline), 1000));
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (err == RdKafka::ERR_NO_ERROR) {
      for (const RdKafka::TopicMetadata* t : *md->topics()) {
        if (t->topic() == topic && t->err() == RdKafka::ERR_NO_ERROR) {
          partition_count = static_cast<int>(t->partitions()->size());
        }
      }
    } else if (!retriableConsumeError(err)) {
      fail("consumeAll " + topic + ": metadata: " + RdKafka::err2str(err));
    }
    if (partition_count > 0) break;
    if (expected_at_least == 0 || Clock::now() >= deadline) {
      consumer->close();
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::vector<RdKafka::TopicPartition*> assignment;
  for (int p = 0; p < partition_count; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  const RdKafka::ErrorCode assign_err = consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (assign_err != RdKafka::ERR_NO_ERROR) fail("consumeAll " + topic + ": assign: " + RdKafka::err2str(assign_err));

  std::vector<ConsumedMessage> out;
  std::vector<bool> at_end(static_cast<size_t>(partition_count), false);
  auto done = [&] {
    return out.size() >= expected_at_least && std::all_of(at_end.begin(), at_end.end(), [](bool b) { return b; });
  };
  while (!done() && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> msg(consumer->consume(std::clamp(remainingMs(deadline), 1, 100)));
    if (!msg) continue;
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR: {
        ConsumedMessage m;
        m.topic = msg->topic_name();
        m.partition = msg->partition();
        m.offset = msg->offset();
        if (msg->key_pointer() != nullptr) {
          m.key.assign(static_cast<const char*>(msg->key_pointer()), msg->key_len());
        } else {
          m.key_is_null = true;
        }
        if (msg->payload() != nullptr) m.value.assign(static_cast<const char*>(msg->payload()), msg->len());
        if (RdKafka::Headers* headers = msg->headers()) {
          for (const RdKafka::Headers::Header& h : headers->get_all()) {
            m.headers.emplace_back(h.key(), h.value() ? std::string(static_cast<const char*>(h.value()), h.value_size())
                                                      : std::string());
          }
        }
        m.timestamp_ms = msg->timestamp().timestamp;
        if (m.partition >= 0 && m.partition < partition_count) at_end[static_cast<size_t>(m.partition)] = false;
        out.push_back(std::move(m));
        break;
      }
      case RdKafka::ERR__PARTITION_EOF:
        if (msg->partition() >= 0 && msg->partition() < partition_count) {
          at_end[static_cast<size_t>(msg->partition())] = true;
        }
        break;
      default:
        if (!retriableConsumeError(msg->err())) {
          consumer->close();
          fail("consumeAll " + topic + ": " + msg->errstr());
        }
    }
  }
  consumer->close();
  return out;
}

}  // namespace storepulse::testing
