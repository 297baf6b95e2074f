#include "connectors/kafka/kafka_output_sink.h"

namespace storepulse::kafka {

Result<std::unique_ptr<KafkaOutputSink>> KafkaOutputSink::create(const OutputSinkOptions& options) {
  auto sink = std::unique_ptr<KafkaOutputSink>(new KafkaOutputSink());
  const ClientProperties defaults = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", "storepulse-output"},
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
  };
  SP_ASSIGN_OR_RETURN(sink->producer_, DurableProducer::create("rule output", defaults, options.client));
  return sink;
}

void KafkaOutputSink::send(std::string_view topic, std::string_view key, std::string_view value) {
  producer_->produce(std::string(topic), key, value, nullptr);
}

Status KafkaOutputSink::flush(std::chrono::milliseconds timeout) { return producer_->flush(timeout); }

}  // namespace storepulse::kafka
