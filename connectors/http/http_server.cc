// Asio 1.74 needs <utility> before its headers under C++20 (TOOLCHAIN.md).
#include <utility>

#include "connectors/http/http_server.h"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/core/log.h"

namespace storepulse::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Not an anonymous namespace: HttpServer::Impl (external linkage) holds these.
namespace internal {

// What every session shares; owned jointly so that a session that outlives
// stop() (e.g. a handler still running) never sees a dangling router.
struct ServerContext {
  HttpServerOptions options;
  Router router;
};

namespace {
constexpr const char* kServerName = "storepulse";
// After we decide to close, we keep reading (and discarding) for a moment so
// the client receives our error response instead of a TCP reset caused by
// its unread upload.
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kLingerMaxBytes = 8 << 20;

bool isHttpSyntaxError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

std::string lowerCase(beast::string_view s) {
  std::string out(s.data(), s.size());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }
}  // namespace

// One TCP connection: read a request, answer it, repeat while keep-alive.
// Every member is touched only on the connection's strand.
//
// Streaming responses (SSE for /v1/alerts/stream) will branch in
// writeResponse: instead of one async_write the session will write the
// header and hand `stream_` to a stream writer. Nothing else here assumes a
// response is a single buffer.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const ServerContext> ctx)
      : stream_(std::move(socket)), ctx_(std::move(ctx)) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->readRequest(); });
  }

  // Safe from any thread; pending operations complete with an error and the
  // session ends.
  void close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      self->stream_.close();
    });
  }

 private:
  void readRequest() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(ctx_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(ctx_->options.max_header_bytes));
    stream_.expires_after(ctx_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (closed_) return;
    if (ec == bhttp::error::end_of_stream) return lingerThenClose();
    if (ec == bhttp::error::body_limit) {
      return replyAndClose(HttpResponse::error(
          413, "request body larger than " + std::to_string(ctx_->options.max_body_bytes) + " bytes"));
    }
    if (ec == bhttp::error::header_limit) {
      return replyAndClose(HttpResponse::error(
          431, "request headers larger than " + std::to_string(ctx_->options.max_header_bytes) + " bytes"));
    }
    // A client that hung up mid-request, a timeout, a reset: nobody to answer.
    if (ec == bhttp::error::partial_message || (ec && !isHttpSyntaxError(ec))) {
      stream_.close();
      return;
    }
    if (ec) return replyAndClose(HttpResponse::error(400, "malformed request: " + ec.message()));
    handleRequest();
  }

  void handleRequest() {
    auto& msg = parser_->get();
    const bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    if (target.empty() || target.front() != '/') {
      return writeResponse(HttpResponse::error(400, "request target must be an absolute path"), version,
                           keep_alive);
    }
    size_t q = target.find('?');
    req.raw_path = std::string(target.substr(0, q));
    auto path = urlDecode(req.raw_path, false);
    auto query = parseQuery(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
    if (!path || !query) {
      return writeResponse(HttpResponse::error(400, "malformed percent-encoding in request target"),
                           version, keep_alive);
    }
    req.path = std::move(*path);
    req.query = std::move(*query);
    for (const auto& field : msg) {
      std::string value(field.value().data(), field.value().size());
      auto [it, inserted] = req.headers.emplace(lowerCase(field.name_string()), value);
      if (!inserted) it->second += ", " + value;
    }
    req.body = std::move(msg.body());
    writeResponse(invoke(req), version, keep_alive);
  }

  HttpResponse invoke(HttpRequest& req) {
    try {
      return ctx_->router.dispatch(req);
    } catch (const std::exception& e) {
      log::error("http handler failed",
                 {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    } catch (...) {
      log::error("http handler failed",
                 {{"method", req.method}, {"path", req.path}, {"error", "non-standard exception"}});
    }
    return HttpResponse::error(500, "internal server error");
  }

  void replyAndClose(HttpResponse res) { writeResponse(std::move(res), 11, false); }

  void writeResponse(HttpResponse res, unsigned version, bool keep_alive) {
    if (res.status < 100 || res.status > 599) {
      log::error("http handler returned an invalid status", {{"status", std::to_string(res.status)}});
      res = HttpResponse::error(500, "internal server error");
    }
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    msg->version(version);
    msg->result(static_cast<unsigned>(res.status));
    msg->set(bhttp::field::server, kServerName);
    msg->set(bhttp::field::content_type, res.content_type);
    for (const auto& [name, value] : res.headers) {
      // A CR/LF from a handler would let it forge headers or split the response.
      if (hasLineBreak(name) || hasLineBreak(value)) continue;
      msg->insert(name, value);
    }
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive);
    msg->prepare_payload();
    response_ = msg;
    stream_.expires_after(ctx_->options.write_timeout);
    bhttp::async_write(stream_, *response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         self->onWrite(ec, keep_alive);
                       });
  }

  void onWrite(beast::error_code ec, bool keep_alive) {
    if (closed_) return;
    response_.reset();
    if (ec) {
      stream_.close();
      return;
    }
    if (!keep_alive) return lingerThenClose();
    readRequest();
  }

  void lingerThenClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      stream_.close();
      return;
    }
    stream_.expires_after(kLingerTime);
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16 << 10),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (self->closed_) return;
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerMaxBytes) {
                                self->stream_.close();
                                return;
                              }
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> response_;  // alive until written
  std::shared_ptr<const ServerContext> ctx_;
  size_t lingered_ = 0;
  bool closed_ = false;
};

}  // namespace internal

struct HttpServer::Impl {
  explicit Impl(int concurrency)
      : ioc(concurrency), strand(asio::make_strand(ioc)), acceptor(strand), accept_backoff(strand) {}

  void doAccept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      onAccept(ec, std::move(socket));
    });
  }

  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (stopping || !acceptor.is_open()) return;
    if (ec) {
      // Typically EMFILE: retrying at once would spin a core while the
      // condition lasts.
      log::warn("http accept failed", {{"error", ec.message()}});
      accept_backoff.expires_after(std::chrono::milliseconds(100));
      accept_backoff.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !stopping) doAccept();
      });
      return;
    }
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [](const std::weak_ptr<internal::Session>& w) { return w.expired(); }),
                   sessions.end());
    if (sessions.size() >= ctx->options.max_connections) {
      if (!saturated) {
        log::warn("http connection limit reached; closing new connections",
                  {{"max_connections", std::to_string(ctx->options.max_connections)}});
      }
      saturated = true;
      beast::error_code ignored;
      socket.close(ignored);
      return doAccept();
    }
    saturated = false;
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<internal::Session>(std::move(socket), ctx);
    sessions.push_back(session);
    session->start();
    doAccept();
  }

  void runLoop() {
    // A throw escaping a completion handler (e.g. bad_alloc) must cost one
    // connection, not the server: Asio allows run() to be called again.
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        log::error("http I/O thread caught an exception", {{"error", e.what()}});
      } catch (...) {
        log::error("http I/O thread caught an exception", {{"error", "non-standard exception"}});
      }
    }
  }

  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> strand;  // acceptor, sessions, flags below
  tcp::acceptor acceptor;
  asio::steady_timer accept_backoff;
  std::shared_ptr<const internal::ServerContext> ctx;
  std::vector<std::weak_ptr<internal::Session>> sessions;
  bool stopping = false;
  bool saturated = false;

  uint16_t port = 0;
  std::string where;  // "address:port" for logs
  std::vector<std::thread> threads;
  std::mutex stop_mutex;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, Router router) {
  if (options.threads < 1) {
    return Status(ErrorCode::kInvalidArgument, "http.threads must be at least 1");
  }
  if (options.max_header_bytes == 0 || options.max_header_bytes > std::numeric_limits<uint32_t>::max()) {
    return Status(ErrorCode::kInvalidArgument, "http.max_header_bytes must be between 1 and 2^32-1");
  }
  if (options.read_timeout.count() <= 0 || options.write_timeout.count() <= 0) {
    return Status(ErrorCode::kInvalidArgument, "http timeouts must be positive");
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return Status(ErrorCode::kInvalidArgument,
                  "http.address '" + options.address + "' is not an IP address: " + ec.message());
  }
  const tcp::endpoint endpoint(address, options.port);
  const std::string host = address.is_v6() ? "[" + options.address + "]" : options.address;
  std::string where = host + ":" + std::to_string(options.port);

  auto impl = std::make_unique<Impl>(options.threads);
  auto fail = [&](const char* what) {
    return Status(ErrorCode::kIo, std::string("http: cannot ") + what + " " + where + ": " + ec.message());
  };
  impl->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  // Lets a restarted engine rebind while old connections sit in TIME_WAIT;
  // on Linux it does not allow two live listeners on one port.
  impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  impl->acceptor.bind(endpoint, ec);
  if (ec) return fail("listen on");
  impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  impl->port = impl->acceptor.local_endpoint(ec).port();
  impl->where = host + ":" + std::to_string(impl->port);

  const int thread_count = options.threads;
  impl->ctx = std::make_shared<internal::ServerContext>(
      internal::ServerContext{std::move(options), std::move(router)});
  // Initiated before any thread runs the context, so no strand is needed yet.
  impl->doAccept();
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  try {
    for (int i = 0; i < thread_count; ++i) {
      server->impl_->threads.emplace_back([raw = server->impl_.get()] { raw->runLoop(); });
    }
  } catch (const std::system_error& e) {
    return Status(ErrorCode::kInternal, std::string("http: cannot start I/O threads: ") + e.what());
  }
  log::info("http server listening", {{"address", server->impl_->where}});
  return server;
}

void HttpServer::stop() {
  if (!impl_) return;
  std::lock_guard<std::mutex> lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Impl* impl = impl_.get();
  asio::post(impl->strand, [impl] {
    impl->stopping = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_backoff.cancel();
    for (auto& weak : impl->sessions) {
      if (auto session = weak.lock()) session->close();
    }
    impl->sessions.clear();
  });
  // Without a work guard, run() returns once every session has wound down.
  for (std::thread& t : impl->threads) {
    if (t.joinable()) t.join();
  }
  log::info("http server stopped", {{"address", impl->where}});
}

}  // namespace storepulse::http
