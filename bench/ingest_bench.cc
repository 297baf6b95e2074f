// ingest_bench: how fast does the engine ingest, compared with how fast a
// bare Kafka client can read the same topics from the same broker?
//
//   1. produce N synthetic events (sim::ShopperGenerator, customer-keyed
//      types only: customers, clicks, scans, purchases) to fresh topics;
//   2. raw baseline: a bare librdkafka KafkaConsumer, assign() of every
//      partition from the beginning, counting messages (optionally kcat too);
//   3. the engine: RocksDbStateStore + KafkaDeadLetterSink + KafkaEventSource
//      (group mode) + IngestPipeline with default options, runOnce() until
//      every event is taken, then flush() until it is committed (records and
//      offsets in RocksDB);
//   4. a table: rates, engine/raw ratio against the 50% target.
//
// Not a unit test: it needs a real broker (bench/run-ingest-bench.sh starts
// one). See bench/README.md.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/kafka_dead_letter_sink.h"
#include "connectors/kafka/kafka_event_producer.h"
#include "connectors/kafka/kafka_event_source.h"
#include "engine/core/log.h"
#include "engine/core/time.h"
#include "engine/event/event_router.h"
#include "engine/metrics/metrics.h"
#include "engine/pipeline/ingest_pipeline.h"
#include "engine/sim/shopper_generator.h"
#include "engine/state/rocksdb_state_store.h"

namespace sp = storepulse;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string bootstrap;
  uint64_t events = 2'000'000;
  int partitions = 4;
  int customers = 100'000;
  uint64_t seed = 42;
  std::string state_dir;
  std::string topic_prefix;
  bool skip_produce = false;
  int raw_runs = 3;
  bool kcat = true;
  bool keep_state = false;
  int timeout_s = 900;
  std::string log_level = "warn";
  size_t batch_max_events = sp::PipelineOptions{}.batch_max_events;
  int64_t batch_max_wait_ms = sp::PipelineOptions{}.batch_max_wait.count();
};

[[noreturn]] void die(const std::string& message) {
  std::cerr << "ingest_bench: error: " << message << "\n";
  std::exit(1);
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU seconds (user + system) of this thread or of the whole process: robust
// to other load on the machine, unlike wall-clock rates.
double cpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

std::string fmtRate(double per_second) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(0) << per_second << " ev/s";
  if (per_second >= 1e4) out << " (" << std::setprecision(2) << per_second / 1e6 << " M/s)";
  return out.str();
}

// A /proc/self/status field in kB ("VmHWM", "VmRSS").
long procStatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so the engine's peak is
// not the producer's.
bool resetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  return static_cast<bool>(out.flush());
}

uint64_t dirBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

std::string mib(uint64_t bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1 << 20) << " MiB";
  return out.str();
}

struct Topics {
  std::map<sp::EventType, std::string> by_type;  // the customer-keyed types only
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [type, name] : by_type) out.push_back(name);
    return out;
  }
};

Topics topicsFor(const std::string& prefix) {
  Topics t;
  t.by_type = {{sp::EventType::kClick, prefix + ".clicks"},
               {sp::EventType::kScan, prefix + ".scans"},
               {sp::EventType::kPurchase, prefix + ".purchases"},
               {sp::EventType::kCustomer, prefix + ".customers"}};
  return t;
}

// ------------------------------------------------------------------ topics
void createTopics(const std::string& bootstrap, const std::vector<std::string>& names, int partitions) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    die(errstr);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) die(std::string("admin client: ") + errstr);
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  for (const auto& name : names) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof errstr);
    if (nt == nullptr) die(errstr);
    new_topics.push_back(nt);
  }
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, new_topics.data(), new_topics.size(), options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60000);
  if (event == nullptr) die("CreateTopics: no answer within 60 s");
  if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    die(std::string("CreateTopics: ") + rd_kafka_event_error_string(event));
  }
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      die(std::string("cannot create topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
          rd_kafka_err2str(err));
    }
  }
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
  rd_kafka_destroy(rk);
}

// ----------------------------------------------------------------- produce
struct ProduceResult {
  std::map<std::string, uint64_t> per_topic;
  uint64_t total = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

ProduceResult produce(const Args& args, const Topics& topics) {
  sp::kafka::ProducerOptions options;
  options.bootstrap_servers = args.bootstrap;
  options.client_id = "ingest-bench-producer";
  auto producer = sp::kafka::KafkaEventProducer::create(options);
  if (!producer.isOk()) die(producer.status().toString());

  sp::sim::GeneratorOptions g;
  g.seed = args.seed;
  g.customers = args.customers;
  g.malformed_every = 0;
  sp::sim::ShopperGenerator generator(g);
  sp::EventRouter router;

  ProduceResult result;
  // Event time: a replay of the last N milliseconds, one event per ms.
  int64_t now_ms = sp::wallClockMillis() - static_cast<int64_t>(args.events);
  const auto sink = [&](std::string_view line, std::string_view /*raw_topic_type*/) {
    if (result.total >= args.events) return;
    auto routed = router.route(line);
    if (!routed.isOk()) die("generator line not routable: " + routed.status().toString());
    auto it = topics.by_type.find(routed->type);
    if (it == topics.by_type.end()) return;  // stores, inventory: not the group pipeline's
    if (sp::Status s = producer.value()->send(it->second, routed->key, line); !s.isOk()) die(s.toString());
    ++result.per_topic[it->second];
    ++result.total;
    result.bytes += line.size();
  };

  const auto start = Clock::now();
  generator.emitReferenceData(now_ms, sink);  // only the customer profiles pass the sink
  uint64_t last_report = 0;
  while (result.total < args.events) {
    generator.emitNext(++now_ms, sink);
    if (result.total - last_report >= 500'000) {
      last_report = result.total;
      std::cerr << "  produced " << result.total << " / " << args.events << "\n";
    }
  }
  if (sp::Status s = producer.value()->flush(std::chrono::minutes(5)); !s.isOk()) die(s.toString());
  result.seconds = seconds(Clock::now() - start);
  if (producer.value()->delivered() != result.total) {
    die("delivered " + std::to_string(producer.value()->delivered()) + " of " + std::to_string(result.total));
  }
  return result;
}

// ------------------------------------------------------ partitions, counts
std::unique_ptr<RdKafka::KafkaConsumer> bareConsumer(const Args& args, const std::string& group) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [k, v] : std::map<std::string, std::string>{{"bootstrap.servers", args.bootstrap},
                                                               {"group.id", group},
                                                               {"client.id", "ingest-bench-raw"},
                                                               {"enable.auto.commit", "false"},
                                                               {"enable.auto.offset.store", "false"}}) {
    if (conf->set(k, v, error) != RdKafka::Conf::CONF_OK) die(k + ": " + error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) die("cannot create consumer: " + error);
  return consumer;
}

struct PartitionInfo {
  std::string topic;
  int32_t partition;
  int64_t low;
  int64_t high;
};

std::vector<PartitionInfo> partitionsOf(RdKafka::KafkaConsumer& consumer, const std::vector<std::string>& topics) {
  std::vector<PartitionInfo> out;
  for (const auto& topic : topics) {
    std::string error;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(&consumer, topic, nullptr, error));
    if (!t) die("topic " + topic + ": " + error);
    RdKafka::Metadata* raw = nullptr;
    if (RdKafka::ErrorCode err = consumer.metadata(false, t.get(), &raw, 10000); err != RdKafka::ERR_NO_ERROR) {
      die("metadata of " + topic + ": " + RdKafka::err2str(err));
    }
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    for (const auto* tm : *metadata->topics()) {
      if (tm->err() != RdKafka::ERR_NO_ERROR) die("topic " + topic + ": " + RdKafka::err2str(tm->err()));
      for (const auto* pm : *tm->partitions()) {
        PartitionInfo p{topic, pm->id(), 0, 0};
        if (RdKafka::ErrorCode err = consumer.query_watermark_offsets(topic, p.partition, &p.low, &p.high, 10000);
            err != RdKafka::ERR_NO_ERROR) {
          die("watermarks of " + topic + ": " + RdKafka::err2str(err));
        }
        out.push_back(p);
      }
    }
  }
  return out;
}

// ------------------------------------------------------------ raw consume
struct RawResult {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  double process_cpu = 0;  // all threads (librdkafka's included) over the phase
};

RawResult rawConsume(RdKafka::KafkaConsumer& consumer, const std::vector<PartitionInfo>& partitions,
                     uint64_t expected, int timeout_s) {
  std::vector<RdKafka::TopicPartition*> assignment;
  for (const auto& p : partitions) {
    assignment.push_back(RdKafka::TopicPartition::create(p.topic, p.partition, RdKafka::Topic::OFFSET_BEGINNING));
  }
  if (RdKafka::ErrorCode err = consumer.assign(assignment); err != RdKafka::ERR_NO_ERROR) {
    die("assign: " + RdKafka::err2str(err));
  }
  RdKafka::TopicPartition::destroy(assignment);

  RawResult result;
  const double cpu_start = cpuSeconds(RUSAGE_SELF);
  const auto start = Clock::now();
  auto last = start;
  const auto deadline = start + std::chrono::seconds(timeout_s);
  while (result.messages < expected) {
    std::unique_ptr<RdKafka::Message> msg(consumer.consume(1000));
    if (msg->err() == RdKafka::ERR_NO_ERROR) {
      ++result.messages;
      result.bytes += msg->len();
      last = Clock::now();
    } else if (msg->err() != RdKafka::ERR__TIMED_OUT && msg->err() != RdKafka::ERR__PARTITION_EOF) {
      die("raw consume: " + msg->errstr());
    }
    if (Clock::now() > deadline) die("raw consume: timed out after " + std::to_string(result.messages) + " messages");
  }
  result.seconds = seconds(last - start);
  result.process_cpu = cpuSeconds(RUSAGE_SELF) - cpu_start;
  consumer.unassign();
  return result;
}

// Seconds kcat takes to read every topic to its end (sequentially), or < 0.
double kcatSeconds(const std::string& bootstrap, const std::vector<std::string>& topics) {
  if (std::system("command -v kcat >/dev/null 2>&1") != 0) return -1;
  const auto start = Clock::now();
  for (const auto& topic : topics) {
    const std::string cmd = "kcat -C -b '" + bootstrap + "' -t '" + topic + "' -o beginning -e -q >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      std::cerr << "ingest_bench: warning: kcat failed on " << topic << "\n";
      return -1;
    }
  }
  return seconds(Clock::now() - start);
}

// ----------------------------------------------------------------- engine
// Forwards to the real store and tallies what the pipeline commits: how many
// records, how many bytes, and how long the RocksDB writes take.
class MeasuredStore final : public sp::StateStore {
 public:
  explicit MeasuredStore(sp::StateStore& inner) : inner_(inner) {}
  sp::Result<std::optional<std::string>> get(sp::StateTable table, int32_t partition,
                                             std::string_view key) const override {
    ++gets;
    return inner_.get(table, partition, key);
  }
  sp::Result<std::optional<int64_t>> nextOffset(const sp::TopicPartition& tp) const override {
    return inner_.nextOffset(tp);
  }
  sp::Status write(const sp::StateWriteBatch& batch) override {
    ++batches;
    records += batch.writes.size();
    for (const auto& w : batch.writes) bytes += w.key.size() + w.value.size();
    const auto start = Clock::now();
    sp::Status s = inner_.write(batch);
    write_seconds += seconds(Clock::now() - start);
    return s;
  }
  sp::Status scan(sp::StateTable table, int32_t partition,
                  const std::function<bool(std::string_view, std::string_view)>& visit) const override {
    return inner_.scan(table, partition, visit);
  }
  sp::StateStoreStats stats() const override { return inner_.stats(); }

  mutable uint64_t gets = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  double write_seconds = 0;

 private:
  sp::StateStore& inner_;
};

struct EngineResult {
  uint64_t events = 0;
  uint64_t invalid = 0;
  uint64_t commits = 0;
  double seconds = 0;          // first runOnce to the final commit
  double join_seconds = 0;     // first runOnce until the assignment was seen
  long peak_rss_kb = -1;       // VmHWM over the engine phase
  long rss_before_kb = -1;
  uint64_t state_dir_bytes = 0;
  uint64_t customer_keys = 0;
  int offsets_checked = 0;
  double thread_cpu = 0;   // the pipeline thread over the timed phase
  double process_cpu = 0;  // all threads (RocksDB's and librdkafka's included)
  uint64_t store_gets = 0;
  uint64_t records_written = 0;
  uint64_t bytes_written = 0;
  double write_seconds = 0;  // inside StateStore::write (RocksDB)
};

EngineResult runEngine(const Args& args, const Topics& topics, const std::vector<PartitionInfo>& partitions,
                       uint64_t expected, const fs::path& state_path, const std::string& prefix) {
  EngineResult result;
  malloc_trim(0);  // hand back what the producer phase freed, so the peak is the engine's
  result.rss_before_kb = procStatusKb("VmRSS");
  if (!resetPeakRss()) std::cerr << "ingest_bench: warning: cannot reset VmHWM; peak RSS covers the whole run\n";

  sp::RocksDbOptions store_options;  // defaults, as config/storepulse.yaml
  store_options.path = state_path.string();
  auto store = sp::RocksDbStateStore::open(store_options);
  if (!store.isOk()) die(store.status().toString());

  sp::kafka::DeadLetterOptions dlq;
  dlq.bootstrap_servers = args.bootstrap;
  dlq.topic = prefix + ".dlq";
  auto dead_letters = sp::kafka::KafkaDeadLetterSink::create(dlq);
  if (!dead_letters.isOk()) die(dead_letters.status().toString());

  sp::PipelineOptions pipeline_options;  // defaults, but for the batch limits when given
  pipeline_options.batch_max_events = args.batch_max_events;
  pipeline_options.batch_max_wait = std::chrono::milliseconds(args.batch_max_wait_ms);
  for (const auto& [type, name] : topics.by_type) pipeline_options.topics.push_back({name, type});

  sp::kafka::KafkaSourceOptions source_options;
  source_options.mode = sp::kafka::KafkaSourceOptions::Mode::kGroup;
  source_options.bootstrap_servers = args.bootstrap;
  source_options.group_id = prefix + ".engine." + std::to_string(sp::wallClockMillis());
  source_options.topics = topics.names();
  source_options.start = sp::kafka::StartPosition::kEarliest;
  auto source = sp::kafka::KafkaEventSource::create(source_options);
  if (!source.isOk()) die(source.status().toString());

  sp::Metrics metrics;
  metrics.watchStateStore(*store.value());
  MeasuredStore measured(*store.value());
  sp::IngestPipeline pipeline(pipeline_options, measured, *dead_letters.value(), &metrics);

  const double thread_cpu_start = cpuSeconds(RUSAGE_THREAD);
  const double process_cpu_start = cpuSeconds(RUSAGE_SELF);
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(args.timeout_s);
  bool ready = false;
  for (;;) {
    if (sp::Status s = pipeline.runOnce(*source.value()); !s.isOk()) die("pipeline: " + s.toString());
    if (!ready && pipeline.ready()) {
      ready = true;
      result.join_seconds = seconds(Clock::now() - start);
    }
    const sp::PipelineCounters c = pipeline.counters();
    if (c.events + c.invalid + c.uncommitted >= expected) {
      // All taken from Kafka: wait for the last write rather than poll again.
      if (sp::Status s = pipeline.flush(); !s.isOk()) die("pipeline: " + s.toString());
      break;
    }
    if (Clock::now() > deadline) {
      die("engine: timed out after " + std::to_string(c.events + c.invalid) + " of " + std::to_string(expected));
    }
  }
  const auto end = Clock::now();  // flush returned: the last batch is committed
  result.seconds = seconds(end - start);
  result.thread_cpu = cpuSeconds(RUSAGE_THREAD) - thread_cpu_start;
  result.process_cpu = cpuSeconds(RUSAGE_SELF) - process_cpu_start;
  result.store_gets = measured.gets;
  result.records_written = measured.records;
  result.bytes_written = measured.bytes;
  result.write_seconds = measured.write_seconds;
  const sp::PipelineCounters c = pipeline.counters();
  result.events = c.events;
  result.invalid = c.invalid;
  result.commits = c.commits;
  result.peak_rss_kb = procStatusKb("VmHWM");

  // Committed means: the store holds every partition's end offset.
  for (const auto& p : partitions) {
    if (p.high == p.low) continue;
    auto next = store.value()->nextOffset({p.topic, p.partition});
    if (!next.isOk()) die(next.status().toString());
    if (!next.value() || *next.value() != p.high) {
      die("state store offset of " + p.topic + "[" + std::to_string(p.partition) + "] is " +
          (next.value() ? std::to_string(*next.value()) : std::string("absent")) + ", expected " +
          std::to_string(p.high));
    }
    ++result.offsets_checked;
  }
  std::set<int32_t> customer_partitions;
  for (const auto& p : partitions) customer_partitions.insert(p.partition);
  for (int32_t partition : customer_partitions) {
    sp::Status s = store.value()->scan(sp::StateTable::kCustomer, partition, [&](std::string_view, std::string_view) {
      ++result.customer_keys;
      return true;
    });
    if (!s.isOk()) die(s.toString());
  }

  if (sp::Status s = source.value()->close(pipeline); !s.isOk()) {
    std::cerr << "ingest_bench: warning: closing the source: " << s.toString() << "\n";
  }
  store.value().reset();  // flush and close before measuring the directory
  result.state_dir_bytes = dirBytes(state_path);
  return result;
}

std::string machineInfo() {
  std::ostringstream out;
  out << std::thread::hardware_concurrency() << " cores (nproc " << sysconf(_SC_NPROCESSORS_ONLN) << ")";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      out << ", " << line.substr(line.find(':') + 2);
      break;
    }
  }
  struct utsname u {};
  if (uname(&u) == 0) out << ", " << u.sysname << " " << u.release;
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Raw Kafka consume rate vs. the engine's ingest rate (state committed), on a real broker."};
  app.add_option("--bootstrap", args.bootstrap, "Kafka bootstrap servers (default: $STOREPULSE_TEST_KAFKA)");
  app.add_option("--events", args.events, "events to produce and ingest")->capture_default_str();
  app.add_option("--partitions", args.partitions, "partitions per topic")->capture_default_str();
  app.add_option("--customers", args.customers, "distinct customers of the generator")->capture_default_str();
  app.add_option("--seed", args.seed, "generator seed")->capture_default_str();
  app.add_option("--state-dir", args.state_dir,
                 "parent directory of the engine's fresh RocksDB (default: the system temp dir)");
  app.add_option("--topic-prefix", args.topic_prefix,
                 "topic name prefix (default: a fresh ingest-bench-TIME-PID); required with --skip-produce");
  app.add_flag("--skip-produce", args.skip_produce, "reuse the topics of a previous run (--topic-prefix)");
  app.add_option("--raw-runs", args.raw_runs, "raw consume passes; the median counts")->capture_default_str();
  app.add_flag("!--no-kcat", args.kcat, "skip the kcat baseline");
  app.add_flag("--keep-state", args.keep_state, "keep the engine's RocksDB directory");
  app.add_option("--batch-max-events", args.batch_max_events, "engine: events per commit at most")
      ->capture_default_str();
  app.add_option("--batch-max-wait-ms", args.batch_max_wait_ms, "engine: milliseconds per commit at most")
      ->capture_default_str();
  app.add_option("--timeout", args.timeout_s, "seconds each phase may take")->capture_default_str();
  app.add_option("--log-level", args.log_level, "engine log level")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (args.bootstrap.empty()) {
    if (const char* env = std::getenv("STOREPULSE_TEST_KAFKA")) args.bootstrap = env;
  }
  if (args.bootstrap.empty()) die("no broker: pass --bootstrap or set STOREPULSE_TEST_KAFKA");
  if (args.skip_produce && args.topic_prefix.empty()) die("--skip-produce needs --topic-prefix");
  if (args.events == 0 || args.partitions < 1 || args.customers < 1) die("--events, --partitions, --customers must be > 0");
  sp::log::init(args.log_level, sp::log::Format::kText);

  const std::string load_at_start = loadAverage();
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  const std::string prefix = args.topic_prefix.empty()
                                 ? "ingest-bench-" + std::to_string(sp::wallClockMillis() / 1000) + "-" +
                                       std::to_string(getpid())
                                 : args.topic_prefix;
  const Topics topics = topicsFor(prefix);
  const fs::path state_parent = args.state_dir.empty() ? fs::temp_directory_path() : fs::path(args.state_dir);
  const fs::path state_path = state_parent / ("state-" + prefix + "-" + std::to_string(getpid()));
  if (fs::exists(state_path)) die(state_path.string() + " exists; the engine must start from a fresh store");
  fs::create_directories(state_parent);

  std::cerr << "ingest_bench: broker " << args.bootstrap << ", topics " << prefix << ".{clicks,scans,purchases,customers}\n";

  // 1. produce
  ProduceResult produced;
  if (!args.skip_produce) {
    createTopics(args.bootstrap, topics.names(), args.partitions);
    std::cerr << "[1/3] producing " << args.events << " events\n";
    produced = produce(args, topics);
  }

  auto consumer = bareConsumer(args, prefix + ".raw." + std::to_string(getpid()));
  const std::vector<PartitionInfo> partitions = partitionsOf(*consumer, topics.names());
  uint64_t expected = 0;
  std::map<std::string, uint64_t> in_topic;
  for (const auto& p : partitions) {
    expected += static_cast<uint64_t>(p.high - p.low);
    in_topic[p.topic] += static_cast<uint64_t>(p.high - p.low);
  }
  if (!args.skip_produce && expected != produced.total) {
    die("topics hold " + std::to_string(expected) + " messages, produced " + std::to_string(produced.total));
  }
  if (expected == 0) die("the topics are empty");

  // 2. raw baseline
  std::cerr << "[2/3] raw consume of " << expected << " messages (bare librdkafka consumer) x " << args.raw_runs << "\n";
  std::vector<RawResult> raw_runs;
  for (int i = 0; i < std::max(1, args.raw_runs); ++i) {
    raw_runs.push_back(rawConsume(*consumer, partitions, expected, args.timeout_s));
  }
  std::sort(raw_runs.begin(), raw_runs.end(), [](const RawResult& a, const RawResult& b) { return a.seconds < b.seconds; });
  const RawResult raw = raw_runs[raw_runs.size() / 2];  // the median
  consumer->close();
  consumer.reset();
  double kcat_s = -1;
  if (args.kcat) {
    std::cerr << "      kcat, topic by topic\n";
    kcat_s = kcatSeconds(args.bootstrap, topics.names());
  }

  // 3. engine
  std::cerr << "[3/3] engine ingest (state committed to RocksDB at " << state_path.string() << ")\n";
  const EngineResult engine = runEngine(args, topics, partitions, expected, state_path, prefix);
  if (!args.keep_state) fs::remove_all(state_path);
  if (engine.invalid != 0) die(std::to_string(engine.invalid) + " events were dead-lettered; the data has none");

  // 4. report
  const double raw_rate = static_cast<double>(raw.messages) / raw.seconds;
  const double engine_rate = static_cast<double>(engine.events) / engine.seconds;
  const double ratio = engine_rate / raw_rate;
  const bool pass = ratio >= 0.5;
  std::ostringstream topic_counts;
  for (const auto& [topic, n] : in_topic) topic_counts << " " << topic.substr(prefix.size() + 1) << "=" << n;

  std::cout << "\n=== Storepulse ingest benchmark ===\n"
            << "command:         " << command << "\n"
            << "machine:         " << machineInfo() << "; load average " << load_at_start << " at start, "
            << loadAverage() << " at end\n"
            << "broker:          " << args.bootstrap << "\n"
            << "topics:          " << prefix << ".* x " << (partitions.size() / topics.by_type.size())
            << " partitions;" << topic_counts.str() << "\n"
            << "events:          " << expected << " (" << args.customers << " customers, "
            << mib(raw.bytes) << " of payload, " << std::fixed << std::setprecision(0)
            << static_cast<double>(raw.bytes) / static_cast<double>(raw.messages) << " B/event avg)\n";
  if (!args.skip_produce) {
    std::cout << "produce:         " << fmtRate(static_cast<double>(produced.total) / produced.seconds) << "  ("
              << std::setprecision(2) << produced.seconds << " s: generate + route + produce + flush, acks=all)\n";
  } else {
    std::cout << "produce:         skipped (--skip-produce)\n";
  }
  std::cout << std::setprecision(2) << "raw consume:     " << fmtRate(raw_rate) << "  (" << raw.seconds
            << " s, bare librdkafka KafkaConsumer, assign() from the beginning; median of " << raw_runs.size();
  if (raw_runs.size() > 1) {
    std::cout << " passes: " << std::setprecision(2)
              << static_cast<double>(expected) / raw_runs.back().seconds / 1e6 << ".."
              << static_cast<double>(expected) / raw_runs.front().seconds / 1e6 << " M/s";
  }
  std::cout << ")\n";
  if (kcat_s > 0) {
    std::cout << "kcat:            " << fmtRate(static_cast<double>(expected) / kcat_s) << "  (" << kcat_s
              << " s, kcat -C -e per topic, sequentially, incl. process start; for reference)\n";
  }
  std::cout << "engine ingest:   " << fmtRate(engine_rate) << "  (" << engine.seconds
            << " s from the first runOnce to the last commit, incl. " << std::setprecision(3) << engine.join_seconds
            << " s group join; " << engine.commits << " commits; batches of <= " << args.batch_max_events
            << " events / " << args.batch_max_wait_ms << " ms)\n"
            << std::setprecision(2) << "cpu per event:   raw " << raw.process_cpu * 1e6 / static_cast<double>(raw.messages)
            << " us (process);  engine " << engine.thread_cpu * 1e6 / static_cast<double>(engine.events)
            << " us (pipeline thread), " << engine.process_cpu * 1e6 / static_cast<double>(engine.events)
            << " us (process, incl. RocksDB flush/compaction)\n"
            << "state writes:    " << engine.records_written << " records (" << std::setprecision(2)
            << static_cast<double>(engine.records_written) / static_cast<double>(engine.events) << " per event), "
            << mib(engine.bytes_written) << "; " << engine.write_seconds << " s in StateStore::write ("
            << std::setprecision(0) << engine.write_seconds / engine.seconds * 100 << "% of the engine's wall time, on the writer thread, overlapping the fold); "
            << engine.store_gets << " gets\n"
            << std::setprecision(1) << "ratio:           engine / raw = " << ratio * 100 << "%   target >= 50%   "
            << (pass ? "PASS" : "BELOW") << "\n"
            << "engine memory:   peak RSS " << mib(static_cast<uint64_t>(engine.peak_rss_kb) * 1024)
            << " (VmHWM over the engine phase; RSS before it " << mib(static_cast<uint64_t>(engine.rss_before_kb) * 1024)
            << ")\n"
            << "engine state:    " << mib(engine.state_dir_bytes) << " on disk, " << engine.customer_keys
            << " customer records, " << engine.offsets_checked << " partition offsets verified = high watermark\n";
  return 0;
}
