#pragma once
// SIGINT/SIGTERM set one process-wide flag that long-running commands poll;
// a second signal exits at once, for an operator whose shutdown hangs.
// SIGHUP asks for a rule reload, as daemons conventionally do.

#include <atomic>

namespace storepulse::app {

void installStopSignals();
bool stopRequested();
const std::atomic<bool>& stopFlag();
// True once per SIGHUP received since the last call.
bool takeReloadRequest();

}  // namespace storepulse::app
