// Asio 1.74 needs <utility> before its headers under C++20 (TOOLCHAIN.md).
#include <utility>

#include "connectors/http/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace storepulse::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Response = bhttp::response<bhttp::string_body>;

// A blocking client connection with a receive timeout, so that a server bug
// fails the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response request(bhttp::verb method, const std::string& target, const std::string& body = "",
                   bool keep_alive = true) {
    bhttp::request<bhttp::string_body> req(method, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    if (!body.empty()) req.body() = body;
    req.prepare_payload();
    bhttp::write(socket_, req);
    return read();
  }

  void sendRaw(const std::string& bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }

  Response read() {
    Response res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  // True when the server closed the connection (EOF or reset) within the
  // receive timeout.
  bool closedByServer() {
    char byte;
    beast::error_code ec;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

nlohmann::json jsonOf(const Response& res) { return nlohmann::json::parse(res.body()); }

void expectJsonError(const Response& res, unsigned status) {
  EXPECT_EQ(res.result_int(), status);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res[bhttp::field::server], "storepulse");
  EXPECT_TRUE(jsonOf(res)["error"].is_string()) << res.body();
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.address = "127.0.0.1";
    options_.port = 0;
    ASSERT_TRUE(router_.add("GET", "/healthz", [](const HttpRequest&) {
      return HttpResponse::text(200, "ok\n");
    }).isOk());
    ASSERT_TRUE(router_.add("GET", "/v1/customers/{id}/items/{sku}", [](const HttpRequest& req) {
      return HttpResponse::json(200, {{"params", req.path_params},
                                      {"path", req.path},
                                      {"query", req.query},
                                      {"agent", req.header("user-agent", "none")}});
    }).isOk());
    ASSERT_TRUE(router_.add("POST", "/v1/echo", [](const HttpRequest& req) {
      return HttpResponse::text(200, req.body, "application/octet-stream");
    }).isOk());
    ASSERT_TRUE(router_.add("GET", "/boom", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("handler bug");
    }).isOk());
  }

  void startServer() {
    auto started = HttpServer::start(options_, router_);
    ASSERT_TRUE(started.isOk()) << started.status().toString();
    server_ = std::move(started).value();
  }

  HttpServerOptions options_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesPathParamsAndQueryUrlDecoded) {
  startServer();
  Client client(server_->port());
  Response res = client.request(bhttp::verb::get, "/v1/customers/li%20wei/items/a%2Fb?n=5&q=x+y%21");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res[bhttp::field::server], "storepulse");
  nlohmann::json body = jsonOf(res);
  EXPECT_EQ(body["params"], nlohmann::json::array({"li wei", "a/b"}));
  EXPECT_EQ(body["path"], "/v1/customers/li wei/items/a/b");
  EXPECT_EQ(body["query"], (nlohmann::json{{"n", "5"}, {"q", "x y!"}}));
  EXPECT_EQ(body["agent"], "none");
}

TEST_F(HttpServerTest, PortZeroBindsAChosenFreePort) {
  startServer();
  EXPECT_NE(server_->port(), 0);
}

TEST_F(HttpServerTest, UnknownPathAnswers404Json) {
  startServer();
  Client client(server_->port());
  expectJsonError(client.request(bhttp::verb::get, "/nope"), 404);
}

TEST_F(HttpServerTest, WrongMethodAnswers405WithAllowHeader) {
  startServer();
  Client client(server_->port());
  Response res = client.request(bhttp::verb::delete_, "/healthz");
  expectJsonError(res, 405);
  EXPECT_EQ(res[bhttp::field::allow], "GET");
}

TEST_F(HttpServerTest, MalformedPercentEncodingAnswers400) {
  startServer();
  Client client(server_->port());
  expectJsonError(client.request(bhttp::verb::get, "/healthz?x=%zz"), 400);
}

TEST_F(HttpServerTest, BodyWithinLimitReachesHandler) {
  options_.max_body_bytes = 1024;
  startServer();
  Client client(server_->port());
  Response res = client.request(bhttp::verb::post, "/v1/echo", std::string(1024, 'x'));
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), std::string(1024, 'x'));
  EXPECT_EQ(res[bhttp::field::content_type], "application/octet-stream");
}

TEST_F(HttpServerTest, OversizedBodyAnswers413AndCloses) {
  options_.max_body_bytes = 1024;
  startServer();
  Client client(server_->port());
  Response res = client.request(bhttp::verb::post, "/v1/echo", std::string(64 << 10, 'x'));
  expectJsonError(res, 413);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, OversizedChunkedBodyAnswers413) {
  options_.max_body_bytes = 1024;
  startServer();
  Client client(server_->port());
  std::string chunk(2000, 'y');
  client.sendRaw("POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + chunk +
                 "\r\n0\r\n\r\n");
  expectJsonError(client.read(), 413);
}

TEST_F(HttpServerTest, OversizedHeaderAnswers431) {
  options_.max_header_bytes = 1024;
  startServer();
  Client client(server_->port());
  client.sendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n");
  Response res = client.read();
  expectJsonError(res, 431);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, MalformedRequestLineAnswers400) {
  startServer();
  Client client(server_->port());
  client.sendRaw("THIS IS NOT HTTP\r\n\r\n");
  Response res = client.read();
  expectJsonError(res, 400);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, NonPathTargetAnswers400) {
  startServer();
  Client client(server_->port());
  client.sendRaw("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  expectJsonError(client.read(), 400);
}

TEST_F(HttpServerTest, HandlerExceptionAnswers500AndServerKeepsServing) {
  startServer();
  {
    Client client(server_->port());
    Response res = client.request(bhttp::verb::get, "/boom");
    expectJsonError(res, 500);
    EXPECT_EQ(jsonOf(res)["error"], "internal server error");  // no internals leak
  }
  Client next(server_->port());
  Response res = next.request(bhttp::verb::get, "/healthz");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "ok\n");
  EXPECT_EQ(res[bhttp::field::content_type], "text/plain; charset=utf-8");
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  startServer();
  Client client(server_->port());
  Response first = client.request(bhttp::verb::get, "/healthz");
  EXPECT_EQ(first.result_int(), 200u);
  EXPECT_TRUE(first.keep_alive());
  Response second = client.request(bhttp::verb::post, "/v1/echo", "again");
  EXPECT_EQ(second.result_int(), 200u);
  EXPECT_EQ(second.body(), "again");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  startServer();
  Client client(server_->port());
  client.sendRaw(
      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
      "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo");
  EXPECT_EQ(client.read().body(), "one");
  EXPECT_EQ(client.read().body(), "two");
}

TEST_F(HttpServerTest, ConnectionCloseRequestIsHonoured) {
  startServer();
  Client client(server_->port());
  Response res = client.request(bhttp::verb::get, "/healthz", "", /*keep_alive=*/false);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterReadTimeout) {
  options_.read_timeout = std::chrono::seconds(1);
  startServer();
  Client client(server_->port());
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(4));
}

TEST_F(HttpServerTest, ConnectionsBeyondLimitAreClosed) {
  options_.max_connections = 1;
  startServer();
  Client first(server_->port());
  ASSERT_EQ(first.request(bhttp::verb::get, "/healthz").result_int(), 200u);
  Client second(server_->port());
  EXPECT_TRUE(second.closedByServer());
  EXPECT_EQ(first.request(bhttp::verb::get, "/healthz").result_int(), 200u);
}

TEST_F(HttpServerTest, StopWithConnectedClientsReturnsPromptly) {
  startServer();  // read_timeout stays 30 s: stop must not wait for it
  Client idle(server_->port());
  Client kept(server_->port());
  ASSERT_EQ(kept.request(bhttp::verb::get, "/healthz").result_int(), 200u);
  auto begin = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
  EXPECT_TRUE(idle.closedByServer());
  EXPECT_TRUE(kept.closedByServer());
  server_->stop();  // idempotent; the destructor calls it once more
}

TEST_F(HttpServerTest, StopRefusesNewConnections) {
  startServer();
  uint16_t port = server_->port();
  server_->stop();
  asio::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
}

TEST_F(HttpServerTest, SeveralThreadsServeConcurrentClients) {
  options_.threads = 2;
  startServer();
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      Client client(server_->port());
      for (int j = 0; j < 25; ++j) {
        std::string body = std::to_string(i) + ":" + std::to_string(j);
        if (client.request(bhttp::verb::post, "/v1/echo", body).body() == body) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 100);
}

TEST_F(HttpServerTest, StartOnPortInUseFailsNamingTheAddress) {
  startServer();
  HttpServerOptions clash = options_;
  clash.port = server_->port();
  auto second = HttpServer::start(clash, router_);
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), ErrorCode::kIo);
  std::string where = "127.0.0.1:" + std::to_string(server_->port());
  EXPECT_NE(second.status().message().find(where), std::string::npos) << second.status().toString();
}

TEST_F(HttpServerTest, StartWithBadAddressFailsNamingIt) {
  options_.address = "not-an-ip";
  auto started = HttpServer::start(options_, router_);
  ASSERT_FALSE(started.isOk());
  EXPECT_EQ(started.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(started.status().message().find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace storepulse::http
