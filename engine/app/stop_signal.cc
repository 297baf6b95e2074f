#include "engine/app/stop_signal.h"

#include <csignal>
#include <unistd.h>

namespace storepulse::app {
namespace {
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers need a lock-free flag");

void onSignal(int) {
  if (g_stop.exchange(true)) _exit(130);
}
}  // namespace

void installStopSignals() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool stopRequested() { return g_stop.load(); }
const std::atomic<bool>& stopFlag() { return g_stop; }

}  // namespace storepulse::app
