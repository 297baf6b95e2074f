#include "connectors/kafka/embedded_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace storepulse::kafka {

Result<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::start(int brokers) {
  auto kafka = std::unique_ptr<EmbeddedKafka>(new EmbeddedKafka());
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster lives inside this otherwise idle client.
  // The host client connects nowhere; its "no bootstrap.servers" notice
  // would only confuse demo users, so it logs errors alone.
  if (rd_kafka_conf_set(conf, "client.id", "storepulse-embedded-kafka", error, sizeof error) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Status(ErrorCode::kInternal, error);
  }
  kafka->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (kafka->handle_ == nullptr) return Status(ErrorCode::kKafka, std::string("embedded Kafka: ") + error);
  kafka->cluster_ = rd_kafka_mock_cluster_new(kafka->handle_, brokers);
  if (kafka->cluster_ == nullptr) return Status(ErrorCode::kKafka, "embedded Kafka: cannot start the mock cluster");
  kafka->bootstrap_ = rd_kafka_mock_cluster_bootstraps(kafka->cluster_);
  return kafka;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_) rd_kafka_destroy(handle_);
}

Status EmbeddedKafka::createTopic(const std::string& topic, int partitions) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return Status(ErrorCode::kKafka, "embedded Kafka: cannot create " + topic + ": " + rd_kafka_err2str(err));
  }
  return Status::ok();
}

}  // namespace storepulse::kafka
