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
//   4. the engine with rules (--rules-phase, on by default): the same set-up
//      on a fresh store and group, plus a rules::RuleEngine on the pipeline
//      as `storepulse run` adds it, loaded with config/rules/*.yaml and 100
//      generated rules; its output goes to a counting sink, not Kafka;
//   5. a table: rates, engine/raw ratio against the 50% target, and
//      rules/ingest-only against the 60% target.
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
#include <fmt/format.h>
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
#include "rules/cel/time_values.h"
#include "rules/runtime/rule_engine.h"
#include "rules/ruleset/ruleset.h"

#ifndef SP_REPO_RULES_DIR
#define SP_REPO_RULES_DIR "config/rules"
#endif

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
  size_t cache_max_records = sp::PipelineOptions{}.cache_max_records;
  bool rules_phase = true;
  std::string rules_dir = SP_REPO_RULES_DIR;
  int generated_rules = 100;
  bool rule_counters = false;
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

// ------------------------------------------------------------------ rules
// The rule set of the rules phase: the shipped files plus `count` generated
// rules over what ShopperGenerator produces (clicks, scans, purchases and
// customer profiles; skus sku00000..sku00399 in six categories, prices 15 to
// 2,500, tiers member/silver/gold/black, stores s01..s05). Ten families of
// ten, each family one shape of condition with ten thresholds, from ones
// that hold for the busiest shoppers to ones that never hold: together
// about 1-3% of the events fire something. A few are shadow-mode, a few set
// tags instead of alerting.
std::string generatedRulesYaml(int count) {
  static constexpr const char* kCategories[] = {"dresses", "shoes", "bags", "skincare", "outerwear", "accessories"};
  static constexpr const char* kChannels[] = {"app", "miniprogram", "web"};
  static constexpr const char* kSurnames[] = {"Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu"};
  std::ostringstream y;
  y << "# Generated by bench/ingest_bench.cc (the rules phase); not a shipped rule file.\n"
       "aggregates:\n"
       "  bench_views_10m:     {count: [click, scan], by: [customer_id, sku], window: 10m}\n"
       "  bench_sku_views_1h:  {count: [click, scan], by: [customer_id, sku], window: 1h}\n"
       "  bench_sku_views_1d:  {count: [click, scan], by: [customer_id, sku], window: 1d}\n"
       "  bench_clicks_10m:    {count: [click], by: customer_id, window: 10m}\n"
       "  bench_scans_1h:      {count: [scan], by: customer_id, window: 1h}\n"
       "  bench_events_1h:     {count: [click, scan, purchase], by: customer_id, window: 1h}\n"
       "  bench_events_1d:     {count: [click, scan, purchase], by: customer_id, window: 1d}\n"
       "  bench_orders_1d:     {count: [purchase], by: customer_id, window: 1d}\n"
       "  bench_spend_7d:      {sum: purchase.total, by: customer_id, window: 7d}\n"
       "  bench_spend_30d:     {sum: purchase.total, by: customer_id, window: 30d}\n"
       "\n"
       "rules:\n";
  for (int i = 0; i < count; ++i) {
    const int family = i % 10;
    const int k = (i / 10) % 10;  // the threshold step within the family
    std::string on, when, cooldown, action;
    const std::string who_looks = "\"{{customer.name}} ({{customer.tier}}) looks at {{event.sku}}\"";
    switch (family) {
      case 0:  // a valuable customer keeps coming back to one product
        on = "[click, scan]";
        when = fmt::format("agg.bench_sku_views_1h >= {} && customer.tier in [\"gold\", \"black\"]", 18 + 6 * k);
        cooldown = "{key: [customer_id, sku], for: 1h}";
        action = fmt::format("alert: {{to: guide, severity: high, title: {}, facts: {{views_1h: agg.bench_sku_views_1h}}}}",
                             who_looks);
        break;
      case 1:  // an expensive product in one category, by a busy browser
        on = "click";
        when = fmt::format("has(event.price) && event.price > {}.0 && event.category == \"{}\" && "
                           "customer.tier in [\"gold\", \"black\"] && agg.bench_clicks_10m >= {}",
                           600 + 150 * k, kCategories[k % 6], 20 + 2 * k);
        cooldown = "1d";
        action = fmt::format("alert: {{to: guide, severity: low, title: {}}}", who_looks);
        break;
      case 2:  // repeated in-store scans of a product line
        on = "scan";
        when = fmt::format("event.sku.startsWith(\"sku00{:02d}\") && agg.bench_views_10m >= {}", (7 * k + 3) % 40,
                           4 + k % 3);
        cooldown = "{key: [customer_id, sku], for: 2h}";
        action = fmt::format("alert: {{to: guide, severity: warning, title: {}}}", who_looks);
        break;
      case 3:  // a big spender orders again
        on = "purchase";
        when = fmt::format("agg.bench_spend_7d >= {}.0 && customer.tier in [\"gold\", \"black\"] && customer.order_count >= {}",
                           10000 + 4000 * k, 2 + k % 3);
        cooldown = "1d";
        action = "alert: {to: guide, severity: info, title: \"{{customer.name}} spent {{agg.bench_spend_7d}} in 7 days\", "
                 "facts: {spend_30d: agg.bench_spend_30d, orders: customer.order_count}}";
        break;
      case 4:  // a large order by a regular
        on = "purchase";
        when = fmt::format("event.total >= {}.0 && customer.tier in {} && agg.bench_orders_1d >= {}", 1500 + 500 * k,
                           k % 2 == 0 ? "[\"black\"]" : "[\"gold\", \"black\"]", 3 + k % 4);
        cooldown = "1d";
        action = "alert: {to: store_manager, severity: low, title: \"Order {{event.order_id}} of {{event.total}} by {{customer.id}}\"}";
        break;
      case 5:  // a product family by pattern, for an active shopper
        on = "click";
        when = fmt::format("event.sku.matches(\"^sku00[0-3][0-9]{}$\") && customer.tier != \"member\" && agg.bench_events_1h >= {}",
                           k, 150 + 25 * k);
        cooldown = "1h";
        action = fmt::format("alert: {{to: crm-bench, severity: info, title: {}}}", who_looks);
        break;
      case 6:  // a new or changed profile
        on = "customer";
        when = fmt::format("customer.tier == \"{}\" && customer.home_store == \"s0{}\" && customer.name.startsWith(\"{}\")",
                           k % 3 == 0 ? "black" : "gold", 1 + k % 5, kSurnames[k]);
        cooldown = "1d";
        action = k % 2 == 1 ? fmt::format("tag: {{name: bench_welcome_{}, value: customer.tier}}", k)
                            : "alert: {to: guide, severity: info, title: \"Welcome {{customer.name}} ({{customer.tier}})\"}";
        break;
      case 7:  // a lifetime-valuable customer very active today
        on = "[click, scan]";
        when = fmt::format("customer.lifetime_spend > {}.0 && agg.bench_events_1d >= {}", 30000 + 10000 * k, 150 + 20 * k);
        cooldown = "1d";
        action = "alert: {to: guide, severity: high, title: \"{{customer.name}} is very active today\", "
                 "facts: {lifetime_spend: customer.lifetime_spend, events_1d: agg.bench_events_1d}}";
        break;
      case 8:  // back in store a while after the last purchase
        on = "scan";
        when = fmt::format("has(customer.last_purchase) && event.ts - customer.last_purchase > duration(\"{}m\") && "
                           "customer.tier in [\"gold\", \"black\"] && agg.bench_scans_1h >= {}",
                           2 + 2 * k, 8 + 3 * k);
        cooldown = "1h";
        action = fmt::format("alert: {{to: guide, severity: warning, title: {}}}", who_looks);
        break;
      default:  // a channel and category favourite
        on = "click";
        when = fmt::format("event.channel == \"{}\" && event.category in [\"bags\", \"shoes\"] && customer.tier != \"member\" && "
                           "agg.bench_sku_views_1d >= {}",
                           kChannels[k % 3], 30 + 6 * k);
        cooldown = "{key: [customer_id, sku], for: 1d}";
        action = fmt::format("alert: {{to: guide, severity: low, title: {}}}", who_looks);
        break;
    }
    y << "  - id: bench-" << std::setw(3) << std::setfill('0') << i << std::setfill(' ') << "\n"
      << "    on: " << on << "\n"
      << "    when: '" << when << "'\n"
      << "    cooldown: " << cooldown << "\n"
      << "    priority: " << (i * 7) % 21 - 10 << "\n";
    if (i % 19 == 7) y << "    mode: shadow\n";
    y << "    " << action << "\n";
  }
  return y.str();
}

struct LoadedRules {
  std::shared_ptr<const sp::rules::CompiledRuleSet> rules;
  absl::TimeZone zone;
  int shipped_files = 0;
  size_t shipped_rules = 0;
  size_t generated_rules = 0;
};

// The shipped rule files of `dir` plus the generated ones, loaded as one set
// by the engine's loader, with the engine's defaults (UTC, 1 h lateness).
LoadedRules loadBenchRules(const Args& args, const fs::path& scratch) {
  LoadedRules out;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(args.rules_dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) paths.push_back(entry.path().string());
  }
  if (ec) die("rules directory " + args.rules_dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  out.shipped_files = static_cast<int>(paths.size());
  if (args.generated_rules > 0) {
    fs::create_directories(scratch);
    const fs::path generated = scratch / "zz-bench-generated.yaml";
    std::ofstream(generated) << generatedRulesYaml(args.generated_rules);
    paths.push_back(generated.string());
  }
  sp::rules::RuleFileOptions options;  // the engine's defaults: rules.timezone UTC, 1 h lateness
  auto zone = sp::cel::loadTimeZone("UTC");
  if (!zone.isOk()) die(zone.status().toString());
  options.default_zone = *zone;
  out.zone = *zone;
  sp::rules::LoadResult loaded = sp::rules::loadRuleFiles(paths, options);
  if (!loaded.ok()) {
    std::string why;
    for (const auto& d : loaded.diagnostics) why += "\n  " + d.toString();
    die("the benchmark's rules do not load (files kept in " + scratch.string() + "):" + why);
  }
  out.rules = loaded.rules;
  for (const auto& file : loaded.rules->files) {
    (fs::path(file.path).parent_path() == scratch ? out.generated_rules : out.shipped_rules) += file.rules.size();
  }
  return out;
}

// Where the rule engine's alerts and `emit` records go in the benchmark:
// counted and dropped, so the broker does no extra work for them.
class CountingOutputSink final : public sp::OutputSink {
 public:
  void send(std::string_view /*topic*/, std::string_view /*key*/, std::string_view value) override {
    ++records;
    bytes += value.size();
  }
  sp::Status flush(std::chrono::milliseconds /*timeout*/) override {
    ++flushes;
    return sp::Status::ok();
  }
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t flushes = 0;
};

// Forwards to the Kafka dead-letter sink and counts (late events would
// show here).
class CountingDeadLetters final : public sp::DeadLetterSink {
 public:
  explicit CountingDeadLetters(sp::DeadLetterSink& inner) : inner_(inner) {}
  void send(const sp::SourceMessage& message, std::string_view reason, std::string_view detail) override {
    ++sent;
    inner_.send(message, reason, detail);
  }
  sp::Status flush(std::chrono::milliseconds timeout) override { return inner_.flush(timeout); }
  uint64_t sent = 0;

 private:
  sp::DeadLetterSink& inner_;
};

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
  // The rules phase only.
  uint64_t rule_evaluations = 0;
  uint64_t rule_fires = 0;
  uint64_t rule_fires_shadow = 0;
  uint64_t rule_errors = 0;
  size_t rules_that_fired = 0;
  uint64_t output_records = 0;
  uint64_t output_bytes = 0;
  uint64_t dead_letters = 0;
  std::map<std::string, sp::rules::RuleCounters> per_rule;
};

// `rules` null: ingest only (phase 3); set: the same plus a RuleEngine on
// the pipeline (phase 4).
EngineResult runEngine(const Args& args, const Topics& topics, const std::vector<PartitionInfo>& partitions,
                       uint64_t expected, const fs::path& state_path, const std::string& prefix,
                       const LoadedRules* rules = nullptr) {
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
  pipeline_options.cache_max_records = args.cache_max_records;
  for (const auto& [type, name] : topics.by_type) pipeline_options.topics.push_back({name, type});

  sp::kafka::KafkaSourceOptions source_options;
  source_options.mode = sp::kafka::KafkaSourceOptions::Mode::kGroup;
  source_options.bootstrap_servers = args.bootstrap;
  source_options.group_id =
      prefix + (rules != nullptr ? ".engine-rules." : ".engine.") + std::to_string(sp::wallClockMillis());
  source_options.topics = topics.names();
  source_options.start = sp::kafka::StartPosition::kEarliest;
  auto source = sp::kafka::KafkaEventSource::create(source_options);
  if (!source.isOk()) die(source.status().toString());

  sp::Metrics metrics;
  metrics.watchStateStore(*store.value());
  MeasuredStore measured(*store.value());
  CountingDeadLetters counted_dead_letters(*dead_letters.value());
  sp::DeadLetterSink& dead_letter_sink =
      rules != nullptr ? static_cast<sp::DeadLetterSink&>(counted_dead_letters) : *dead_letters.value();
  // Declared before the pipeline, which holds them, so that they outlive it.
  CountingOutputSink output;
  std::unique_ptr<sp::rules::RuleEngine> rule_engine;
  sp::IngestPipeline pipeline(pipeline_options, measured, dead_letter_sink, &metrics);

  // As Engine::startRules wires the group pipeline, but for the output sink.
  if (rules != nullptr) {
    sp::rules::RuleEngineOptions rule_options;
    rule_options.clock = sp::rules::RuleEngineOptions::Clock::kWall;
    rule_options.default_zone = rules->zone;
    rule_options.cache_max_records = pipeline_options.cache_max_records;  // ingest.cache_max_records
    rule_options.run_scheduled = true;
    rule_engine = std::make_unique<sp::rules::RuleEngine>(rule_options, rules->rules, measured, output,
                                                          dead_letter_sink, &metrics);
    rule_engine->setOwnedPartitions([&pipeline] { return pipeline.ownedPartitions(); });
    pipeline.addProcessor(*rule_engine);
  }

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
  if (rule_engine) {
    for (const auto& [id, counters] : rule_engine->counters()) {
      result.rule_evaluations += counters.evaluations;
      result.rule_fires += counters.fires;
      result.rule_errors += counters.errors;
      result.rules_that_fired += counters.fires > 0;
      for (const auto* spec : rules->rules->rules) {
        if (spec->id == id && spec->mode == sp::rules::RuleMode::kShadow) result.rule_fires_shadow += counters.fires;
      }
    }
    result.per_rule = rule_engine->counters();
    result.output_records = output.records;
    result.output_bytes = output.bytes;
    result.dead_letters = counted_dead_letters.sent;
  }

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
  app.add_option("--cache-max-records", args.cache_max_records,
                 "engine: records cached between commits, by the pipeline and the rule engine each "
                 "(config key ingest.cache_max_records)")
      ->capture_default_str();
  app.add_option("--timeout", args.timeout_s, "seconds each phase may take")->capture_default_str();
  app.add_option("--log-level", args.log_level, "engine log level")->capture_default_str();
  app.add_flag("--rules-phase,!--no-rules-phase", args.rules_phase,
               "run phase 4, the engine with rules (default: on)");
  app.add_option("--rules", args.rules_dir, "the rules phase: directory of shipped rule files (*.yaml)")
      ->capture_default_str();
  app.add_option("--generated-rules", args.generated_rules, "the rules phase: generated rules added to them")
      ->capture_default_str();
  app.add_flag("--rule-counters", args.rule_counters, "the rules phase: print each rule's evaluations and fires");
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

  // The rules first: a rule set that does not load stops the run before it starts.
  const fs::path rules_scratch = state_parent / ("rules-" + prefix + "-" + std::to_string(getpid()));
  LoadedRules bench_rules;
  if (args.rules_phase) bench_rules = loadBenchRules(args, rules_scratch);
  const std::string phases = args.rules_phase ? "4" : "3";

  std::cerr << "ingest_bench: broker " << args.bootstrap << ", topics " << prefix << ".{clicks,scans,purchases,customers}\n";

  // 1. produce
  ProduceResult produced;
  if (!args.skip_produce) {
    createTopics(args.bootstrap, topics.names(), args.partitions);
    std::cerr << "[1/" << phases << "] producing " << args.events << " events\n";
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
  std::cerr << "[2/" << phases << "] raw consume of " << expected << " messages (bare librdkafka consumer) x " << args.raw_runs << "\n";
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
  std::cerr << "[3/" << phases << "] engine ingest (state committed to RocksDB at " << state_path.string() << ")\n";
  const EngineResult engine = runEngine(args, topics, partitions, expected, state_path, prefix);
  if (!args.keep_state) fs::remove_all(state_path);
  if (engine.invalid != 0) die(std::to_string(engine.invalid) + " events were dead-lettered; the data has none");

  // 4. engine with rules, right after the ingest-only run, on the same data
  EngineResult with_rules;
  if (args.rules_phase) {
    const fs::path rules_state_path = state_path.string() + "-rules";
    if (fs::exists(rules_state_path)) die(rules_state_path.string() + " exists; the engine must start from a fresh store");
    std::cerr << "[4/4] engine with " << bench_rules.rules->rules.size() << " rules (state at "
              << rules_state_path.string() << ")\n";
    with_rules = runEngine(args, topics, partitions, expected, rules_state_path, prefix, &bench_rules);
    if (!args.keep_state) fs::remove_all(rules_state_path);
    if (args.rule_counters) {
      for (const auto& [id, c] : with_rules.per_rule) {
        std::cerr << "  rule " << id << ": " << c.evaluations << " evaluations, " << c.fires << " fires, " << c.errors
                  << " errors\n";
      }
    }
    if (with_rules.invalid != 0) die(std::to_string(with_rules.invalid) + " events were dead-lettered in the rules phase");
  }
  if (!args.keep_state) fs::remove_all(rules_scratch);

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
  if (args.rules_phase) {
    const sp::rules::CompiledRuleSet& set = *bench_rules.rules;
    size_t shadow = 0;
    for (const auto* rule : set.rules) shadow += rule->mode == sp::rules::RuleMode::kShadow;
    std::ostringstream per_type;
    for (sp::EventType type : {sp::EventType::kClick, sp::EventType::kScan, sp::EventType::kPurchase,
                               sp::EventType::kCustomer}) {
      per_type << (per_type.tellp() > 0 ? ", " : "") << sp::eventTypeName(type) << " "
               << set.by_event_type[static_cast<size_t>(type)].size() << "/"
               << set.aggregates_by_event_type[static_cast<size_t>(type)].size();
    }
    const double events = static_cast<double>(with_rules.events);
    const double rules_rate = events / with_rules.seconds;
    const double rules_ratio = rules_rate / engine_rate;
    const double ingest_thread_us = engine.thread_cpu * 1e6 / static_cast<double>(engine.events);
    const double rules_thread_us = with_rules.thread_cpu * 1e6 / events;
    std::cout << "rule set:        " << set.rules.size() << " rules = " << bench_rules.shipped_rules << " from "
              << args.rules_dir << " (" << bench_rules.shipped_files << " files) + " << bench_rules.generated_rules
              << " generated; " << shadow << " shadow, " << set.scheduled.size() << " scheduled; "
              << set.aggregates.size() << " aggregates; rules/aggregates per event type: " << per_type.str() << "\n"
              << std::setprecision(2) << "engine + rules:  " << fmtRate(rules_rate) << "  (" << with_rules.seconds
              << " s, same set-up as engine ingest, fresh store and group, plus rules::RuleEngine (wall clock); "
              << with_rules.commits << " commits; alerts to a counting sink that drops them, not to Kafka)\n"
              << "rules cpu:       " << rules_thread_us << " us/event (pipeline thread; ingest-only "
              << ingest_thread_us << ", so rules add " << rules_thread_us - ingest_thread_us << "), "
              << with_rules.process_cpu * 1e6 / events << " us (process)\n"
              << "rule activity:   " << with_rules.rule_evaluations << " evaluations ("
              << static_cast<double>(with_rules.rule_evaluations) / events << " per event), " << with_rules.rule_fires
              << " fires (" << static_cast<double>(with_rules.rule_fires) / events * 100 << " per 100 events; "
              << with_rules.rule_fires_shadow << " shadow; " << with_rules.rules_that_fired << " of "
              << set.rules.size() << " rules fired), " << with_rules.rule_errors << " errors; "
              << with_rules.output_records << " records to the output sink (" << mib(with_rules.output_bytes) << "), "
              << with_rules.dead_letters << " dead letters\n"
              << "rules state:     " << with_rules.records_written << " records written ("
              << static_cast<double>(with_rules.records_written) / events << " per event), "
              << mib(with_rules.bytes_written) << "; " << with_rules.write_seconds << " s in StateStore::write; "
              << with_rules.store_gets << " gets; " << mib(with_rules.state_dir_bytes) << " on disk\n"
              << std::setprecision(1) << "ratio rules:     engine + rules / engine ingest = " << rules_ratio * 100
              << "%   target >= 60%   " << (rules_ratio >= 0.6 ? "PASS" : "BELOW") << "\n"
              << "rules memory:    peak RSS " << mib(static_cast<uint64_t>(with_rules.peak_rss_kb) * 1024)
              << " (VmHWM over the rules phase; RSS before it "
              << mib(static_cast<uint64_t>(with_rules.rss_before_kb) * 1024) << ")\n";
  } else {
    std::cout << "engine + rules:  skipped (--no-rules-phase)\n";
  }
  return 0;
}
