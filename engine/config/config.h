#pragma once
// The engine's configuration: plain structs with units and defaults, parsed
// from one YAML file and overridden by STOREPULSE_* environment variables.
// Every key is declared once, in config.cc's key table, which drives the
// parser, the environment overrides and `storepulse config defaults` (the
// documented config/storepulse.yaml).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/event/event.h"
#include "engine/pipeline/ingest_pipeline.h"

namespace storepulse {

struct KafkaConfig {
  std::string bootstrap_servers = "127.0.0.1:9092";
  std::string group_id = "storepulse";
  std::map<EventType, std::string> topics = {
      {EventType::kClick, "retail.clicks"},       {EventType::kScan, "retail.scans"},
      {EventType::kPurchase, "retail.purchases"}, {EventType::kInventory, "retail.inventory"},
      {EventType::kCustomer, "retail.customers"}, {EventType::kStore, "retail.stores"},
  };
  std::string dead_letter_topic = "storepulse.dlq";
  bool start_from_earliest = true;  // where a partition with no stored offset starts
  std::map<std::string, std::string> consumer;  // librdkafka pass-through
  std::map<std::string, std::string> producer;  // librdkafka pass-through
};

struct IngestConfig {
  // Defaults are those of the structs these keys configure.
  size_t max_message_bytes = DecoderOptions{}.max_message_bytes;
  size_t batch_max_events = PipelineOptions{}.batch_max_events;
  std::chrono::milliseconds batch_max_wait = PipelineOptions{}.batch_max_wait;
  size_t cache_max_records = PipelineOptions{}.cache_max_records;
  size_t recent_items = CustomerStateOptions{}.max_recent_items;
};

struct StateConfig {
  std::string path = "./storepulse-state";
  bool sync_writes = false;
  size_t block_cache_bytes = 64u << 20;
  size_t write_buffer_bytes = 32u << 20;
};

struct HttpConfig {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;
  size_t max_body_bytes = 1u << 20;
};

struct RulesConfig {
  std::string dir = "config/rules";  // empty: no rules, ingest only
  std::string timezone = "UTC";      // calendar windows, `now`, `at:` for stores without a zone
  bool event_time_clock = false;     // the engine clock: wall (live) or the newest event time (replays)
  std::string alerts_topic = "storepulse.alerts";
  std::chrono::milliseconds default_lateness{3600000};
  std::chrono::milliseconds reload_check{2000};  // how often the directory is checked for changes; 0: never
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";  // text | json
};

struct Config {
  KafkaConfig kafka;
  IngestConfig ingest;
  StateConfig state;
  HttpConfig http;
  RulesConfig rules;
  LogConfig log;
};

// Loads `path`, then applies the environment (`environ` unless given).
// Reports every problem, each as "FILE:LINE:COL: KEY: reason".
Result<Config> loadConfig(const std::string& path, const std::vector<std::string>* environment = nullptr);
// The defaults alone, with the environment applied.
Result<Config> defaultConfig(const std::vector<std::string>* environment = nullptr);
// A YAML document of every key with its default and documentation.
std::string documentedDefaults();

}  // namespace storepulse
