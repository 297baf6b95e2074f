# Sources of connectors/kafka, listed for connectors/CMakeLists.txt.
set(SP_CONNECTORS_KAFKA_SRCS
  ${CMAKE_CURRENT_LIST_DIR}/durable_producer.cc
  ${CMAKE_CURRENT_LIST_DIR}/kafka_client_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/embedded_kafka.cc
  ${CMAKE_CURRENT_LIST_DIR}/kafka_dead_letter_sink.cc
  ${CMAKE_CURRENT_LIST_DIR}/kafka_event_producer.cc
  ${CMAKE_CURRENT_LIST_DIR}/kafka_event_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/kafka_output_sink.cc
)
