#pragma once
// The one HTTP port of Storepulse (health, metrics, API, web console):
// HTTP/1.1 with keep-alive on Boost.Beast, Asio running on the server's own
// threads, limits on sizes, time and connections so that no client can make
// the engine grow without bound or die.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/http/http_message.h"
#include "connectors/http/router.h"
#include "engine/core/status.h"

namespace storepulse::http {

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;  // 0 = pick a free port; see HttpServer::port()
  size_t max_body_bytes = 1 << 20;     // larger → 413
  size_t max_header_bytes = 16 << 10;  // request line + headers; larger → 431
  // Bounds each read, including the idle wait between keep-alive requests,
  // so a silent client cannot hold a connection forever.
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  // Further connections are closed at once; each costs up to
  // max_header_bytes + max_body_bytes of memory.
  size_t max_connections = 512;
  int threads = 1;  // handlers run on these; with > 1 they run concurrently
};

class HttpServer {
 public:
  // Binds and starts serving. kIo naming the address when it cannot bind
  // (e.g. the port is in use); kInvalidArgument for a bad address or option.
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, Router router);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // calls stop()

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const;

  // Stops accepting, closes every connection and joins the I/O threads.
  // Idempotent. Must not be called from a handler (it would join itself).
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace storepulse::http
