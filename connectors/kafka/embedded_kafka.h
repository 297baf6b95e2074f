#pragma once
// An in-process Kafka cluster (librdkafka's mock cluster) for
// `storepulse demo` and fault-injection tests. Real clients, even in other
// processes (kcat), reach it through bootstrapServers(). It is a test double:
// no compaction, no transactions, about 5 MiB kept per partition.

#include <memory>
#include <string>

#include "engine/core/status.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace storepulse::kafka {

class EmbeddedKafka {
 public:
  static Result<std::unique_ptr<EmbeddedKafka>> start(int brokers = 1);
  ~EmbeddedKafka();

  const std::string& bootstrapServers() const { return bootstrap_; }
  Status createTopic(const std::string& topic, int partitions);

 private:
  EmbeddedKafka() = default;
  rd_kafka_s* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace storepulse::kafka
