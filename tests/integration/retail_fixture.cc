#include "tests/integration/retail_fixture.h"

#include <zlib.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>

#include "engine/state/rocksdb_state_store.h"
#include "tests/support/kafka_test_env.h"

namespace storepulse::testing {

TestTopics createTestTopics(const std::string& bootstrap, const std::string& name) {
  TestTopics t;
  t.prefix = uniqueName(name);
  t.clicks = t.prefix + ".clicks";
  t.scans = t.prefix + ".scans";
  t.purchases = t.prefix + ".purchases";
  t.inventory = t.prefix + ".inventory";
  t.customers = t.prefix + ".customers";
  t.stores = t.prefix + ".stores";
  t.dlq = t.prefix + ".dlq";
  t.alerts = t.prefix + ".alerts";
  createTopics(bootstrap, t.all(), kTestPartitions);
  return t;
}

EngineSettings engineSettings(const std::string& dir, const std::string& name) {
  EngineSettings s;
  s.group_id = uniqueName(name);
  s.state_path = dir + "/" + name;
  s.http_port = freePort();
  return s;
}

namespace {

std::string writeEngineConfig(const std::string& bootstrap, const TestTopics& topics, const EngineSettings& settings) {
  const std::string path = settings.state_path + ".yaml";
  std::ofstream out(path);
  out << "kafka:\n"
      << "  bootstrap_servers: \"" << bootstrap << "\"\n"
      << "  group_id: \"" << settings.group_id << "\"\n"
      << "  topics:\n"
      << "    click: \"" << topics.clicks << "\"\n"
      << "    scan: \"" << topics.scans << "\"\n"
      << "    purchase: \"" << topics.purchases << "\"\n"
      << "    inventory: \"" << topics.inventory << "\"\n"
      << "    customer: \"" << topics.customers << "\"\n"
      << "    store: \"" << topics.stores << "\"\n"
      << "  dead_letter_topic: \"" << topics.dlq << "\"\n"
      << "  consumer:\n"
      << "    session.timeout.ms: \"3000\"\n"
      << "    heartbeat.interval.ms: \"500\"\n"
      << "ingest:\n"
      << "  batch_max_events: " << settings.batch_max_events << "\n"
      << "state:\n"
      << "  path: \"" << settings.state_path << "\"\n"
      << "http:\n"
      << "  address: \"127.0.0.1\"\n"
      << "  port: " << settings.http_port << "\n"
      << "rules:\n"
      << "  dir: \"" << settings.rules_dir << "\"\n"
      << "  clock: " << (settings.event_time_clock ? "event_time" : "wall") << "\n"
      << "  alerts_topic: \"" << topics.alerts << "\"\n"
      << "  reload_check_ms: " << settings.reload_check_ms << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace

std::unique_ptr<EngineProcess> startEngine(const std::string& bootstrap, const TestTopics& topics,
                                           const EngineSettings& settings) {
  return EngineProcess::start(writeEngineConfig(bootstrap, topics, settings), settings.http_port,
                              settings.state_path + ".log");
}

std::vector<std::string> readTopic(const std::string& bootstrap, const std::string& topic) {
  const std::string command = "kcat -C -q -e -o beginning -b '" + bootstrap + "' -t '" + topic + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::vector<std::string> lines;
  std::array<char, 1 << 16> buffer;
  std::string line;
  while (fgets(buffer.data(), static_cast<int>(buffer.size()), pipe)) {
    line += buffer.data();
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      if (!line.empty()) lines.push_back(std::move(line));
      line.clear();
    }
  }
  if (pclose(pipe) != 0) throw std::runtime_error(command + " failed");
  return lines;
}

std::string runCli(const std::vector<std::string>& args) {
  std::string command = SP_STOREPULSE_BIN;
  for (const auto& a : args) command += " '" + a + "'";
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (status != 0) throw std::runtime_error(command + " failed (" + std::to_string(status) + "):\n" + output);
  return output;
}

size_t countEventLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

std::string onlineRetailCsvPath() { return std::string(SP_DATA_DIR) + "/online_retail_2010-12_2011-01.csv.gz"; }

std::string importOnlineRetail(const std::string& dir) {
  const std::string out = dir + "/online_retail.jsonl";
  runCli({"import", "online-retail", onlineRetailCsvPath(), "--output", out});
  return out;
}

void produceEvents(const std::string& bootstrap, const TestTopics& t, const std::string& events_path) {
  runCli({"produce", "--events", events_path, "--bootstrap", bootstrap, "--topic-map", "click=" + t.clicks,
          "--topic-map", "scan=" + t.scans, "--topic-map", "purchase=" + t.purchases, "--topic-map",
          "inventory=" + t.inventory, "--topic-map", "customer=" + t.customers, "--topic-map", "store=" + t.stores});
}

std::map<std::string, std::string> readCustomerRecords(const std::string& state_path) {
  RocksDbOptions options;
  options.path = state_path;
  auto store = RocksDbStateStore::open(options);
  if (!store.isOk()) throw std::runtime_error(store.status().toString());
  std::map<std::string, std::string> records;
  for (int32_t p = 0; p < kTestPartitions; ++p) {
    Status s = store.value()->scan(StateTable::kCustomer, p, [&](std::string_view key, std::string_view value) {
      if (!records.emplace(std::string(key), std::string(value)).second) {
        throw std::runtime_error("customer " + std::string(key) + " is stored in two partitions");
      }
      return true;
    });
    if (!s.isOk()) throw std::runtime_error(s.toString());
  }
  return records;
}

namespace {

// RFC 4180 fields; descriptions hold quoted commas.
std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

bool isProduct(const std::string& code) {
  if (code.size() < 5) return false;
  for (int i = 0; i < 5; ++i) {
    if (code[i] < '0' || code[i] > '9') return false;
  }
  return true;
}

}  // namespace

std::map<std::string, ExpectedCustomer> expectedFromOnlineRetailCsv() {
  gzFile file = gzopen(onlineRetailCsvPath().c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open " + onlineRetailCsvPath());
  struct Invoice {
    std::string customer;
    double total = 0;
    bool any = false;
  };
  std::map<std::string, Invoice> invoices;
  std::vector<std::string> order;
  std::string line;
  char buffer[1 << 16];
  bool header = true;
  while (gzgets(file, buffer, sizeof buffer)) {
    line = buffer;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (header) {
      header = false;
      continue;
    }
    const auto f = splitCsv(line);
    if (f.size() != 8) continue;
    const std::string& invoice = f[0];
    std::string customer = f[6];
    if (invoice.empty() || !std::isdigit(static_cast<unsigned char>(invoice[0]))) continue;  // cancellations
    if (customer.empty()) continue;                                                           // guests
    if (customer.size() > 2 && customer.ends_with(".0")) customer.resize(customer.size() - 2);
    auto [it, fresh] = invoices.try_emplace(invoice);
    if (fresh) {
      it->second.customer = customer;
      order.push_back(invoice);
    }
    const long qty = std::stol(f[3]);
    const double price = std::stod(f[5]);
    if (!isProduct(f[1]) || qty <= 0 || price <= 0) continue;
    it->second.total += static_cast<double>(qty) * price;
    it->second.any = true;
  }
  gzclose(file);
  std::map<std::string, ExpectedCustomer> expected;
  for (const auto& id : order) {
    const Invoice& inv = invoices[id];
    if (!inv.any) continue;
    auto& e = expected[inv.customer];
    e.spend += std::round(inv.total * 100) / 100;
    e.orders += 1;
  }
  return expected;
}

}  // namespace storepulse::testing
