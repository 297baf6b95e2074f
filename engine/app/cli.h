#pragma once

namespace storepulse::app {
// Parses the command line and runs one subcommand; returns the exit code.
int runCli(int argc, char** argv);
}  // namespace storepulse::app
