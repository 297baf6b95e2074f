# Sources of connectors/http, listed for connectors/CMakeLists.txt.
set(SP_CONNECTORS_HTTP_SRCS
  ${CMAKE_CURRENT_LIST_DIR}/http_message.cc
  ${CMAKE_CURRENT_LIST_DIR}/http_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/router.cc
)
