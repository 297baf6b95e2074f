#include "engine/app/stop_signal.h"

#include <csignal>
#include <unistd.h>

namespace storepulse::app {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers need a lock-free flag");

void onSignal(int) {
  if (g_stop.exchange(true)) _exit(130);
}

void onHangUp(int) { g_reload = true; }
}  // namespace

void installStopSignals() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  struct sigaction hang_up {};
  hang_up.sa_handler = onHangUp;
  sigemptyset(&hang_up.sa_mask);
  sigaction(SIGHUP, &hang_up, nullptr);
}

bool takeReloadRequest() { return g_reload.exchange(false); }

bool stopRequested() { return g_stop.load(); }
const std::atomic<bool>& stopFlag() { return g_stop; }

}  // namespace storepulse::app
