#pragma once
// SIGINT/SIGTERM set one process-wide flag that long-running commands poll;
// a second signal exits at once, for an operator whose shutdown hangs.

#include <atomic>

namespace storepulse::app {

void installStopSignals();
bool stopRequested();
const std::atomic<bool>& stopFlag();

}  // namespace storepulse::app
