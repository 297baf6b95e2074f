#include "tests/support/engine_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace storepulse::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target) {
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return {static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const std::exception&) {
    return {};
  }
}

uint16_t freePort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

TempDir::TempDir() {
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path() / ("storepulse-test-" + std::to_string(::getpid()) + "-" +
                                                              std::to_string(rd()));
  std::filesystem::create_directories(base);
  path_ = base.string();
}

TempDir::~TempDir() {
  if (std::getenv("STOREPULSE_TEST_KEEP_TMP")) return;  // to read the engines' logs after a failure
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
// Calls `visit(value)` for each sample line of `family` matching `labels`.
template <typename Visit>
void forEachSample(const std::string& text, const std::string& family, const std::map<std::string, std::string>& labels,
                   Visit visit) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(family, 0) != 0) continue;
    const char next = line.size() > family.size() ? line[family.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      if (line.find(k + "=\"" + v + "\"") == std::string::npos) match = false;
    }
    if (match) visit(std::stod(line.substr(line.rfind(' ') + 1)));
  }
}
}  // namespace

double sumMetric(const std::string& text, const std::string& family, const std::map<std::string, std::string>& labels) {
  double sum = 0;
  forEachSample(text, family, labels, [&sum](double v) { sum += v; });
  return sum;
}

size_t countSeries(const std::string& text, const std::string& family, const std::map<std::string, std::string>& labels) {
  size_t n = 0;
  forEachSample(text, family, labels, [&n](double) { ++n; });
  return n;
}

std::unique_ptr<EngineProcess> EngineProcess::start(const std::string& config_path, uint16_t http_port,
                                                    const std::string& log_path) {
  auto process = std::make_unique<EngineProcess>();
  process->port_ = http_port;
  process->log_path_ = log_path;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::string binary = SP_STOREPULSE_BIN;
  std::vector<std::string> args = {binary, "run", "--config", config_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&process->pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
  return process;
}

EngineProcess::~EngineProcess() {
  if (pid_ > 0) kill9();
}

bool EngineProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string EngineProcess::logTail() const {
  std::ifstream in(log_path_);
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

void EngineProcess::waitReady(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) throw std::runtime_error("storepulse exited before it was ready:\n" + logTail());
    if (httpGet(port_, "/readyz").status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("storepulse not ready in time:\n" + logTail());
}

std::string EngineProcess::metrics() {
  HttpReply reply = httpGet(port_, "/metrics");
  if (reply.status != 200) throw std::runtime_error("GET /metrics answered " + std::to_string(reply.status));
  return reply.body;
}

void EngineProcess::waitConsumed(double count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  double seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) throw std::runtime_error("storepulse exited while consuming:\n" + logTail());
    HttpReply reply = httpGet(port_, "/metrics");
    if (reply.status == 200) {
      seen = sumMetric(reply.body, "storepulse_events_consumed_total") +
             sumMetric(reply.body, "storepulse_events_invalid_total");
      if (seen >= count) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("consumed " + std::to_string(seen) + " of " + std::to_string(count) + " events in time:\n" +
                           logTail());
}

void EngineProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void EngineProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int EngineProcess::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::runtime_error("storepulse is not running");
  ::kill(pid_, SIGTERM);
  return waitExit(timeout);
}

int EngineProcess::waitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::runtime_error("storepulse is not running");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("storepulse did not exit within the timeout:\n" + logTail());
}

}  // namespace storepulse::testing
