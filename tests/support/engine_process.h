#pragma once
// Runs the real `storepulse` binary as a child process for integration
// tests: start with a generated config, wait for /readyz, read /metrics,
// stop gracefully (SIGTERM) or crash it (SIGKILL).
//
// Like the other helpers here, failures throw std::runtime_error.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace storepulse::testing {

struct HttpReply {
  int status = 0;
  std::string body;
};

// A blocking HTTP/1.1 request to 127.0.0.1:port; status 0 if nothing answers.
HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target);
inline HttpReply httpGet(uint16_t port, const std::string& target) { return httpRequest(port, "GET", target); }

// A TCP port that was free a moment ago (bind to 0, read it, close).
uint16_t freePort();

// A fresh directory under the test temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sum of the samples of a metric family in Prometheus text output whose
// label set contains every `labels` pair, e.g. {{"topic", "t1"}}.
double sumMetric(const std::string& metrics_text, const std::string& family,
                 const std::map<std::string, std::string>& labels = {});

// How many samples of the family match `labels`.
size_t countSeries(const std::string& metrics_text, const std::string& family,
                   const std::map<std::string, std::string>& labels = {});

class EngineProcess {
 public:
  // Starts `storepulse run --config config_path`; stderr goes to log_path.
  static std::unique_ptr<EngineProcess> start(const std::string& config_path, uint16_t http_port,
                                              const std::string& log_path);
  ~EngineProcess();  // kills the process if it still runs

  // Polls /readyz until it answers 200; throws (with the log's tail) on
  // timeout or if the process died.
  void waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::string metrics();
  // Waits until the consumed + invalid event counters reach `count`.
  void waitConsumed(double count, std::chrono::milliseconds timeout = std::chrono::seconds(120));
  void kill9();
  // Sends a signal and returns at once (SIGHUP: reload the rules).
  void signal(int sig);
  // SIGTERM, then waits; returns the exit code (throws if it does not exit).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Waits for the process to exit on its own; returns its exit code.
  int waitExit(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  bool running();
  uint16_t port() const { return port_; }
  std::string logTail() const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_path_;
};

}  // namespace storepulse::testing
