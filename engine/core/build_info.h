#pragma once
// Set by CMake from the project version.
#ifndef STOREPULSE_VERSION
#define STOREPULSE_VERSION "0.0.0-dev"
#endif

namespace storepulse {
inline constexpr const char* kBuildVersion = STOREPULSE_VERSION;
}  // namespace storepulse
