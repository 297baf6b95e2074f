#pragma once
// The engine's HTTP routes: health, readiness, metrics and the state API.

#include "connectors/http/router.h"

namespace storepulse::app {

class Engine;

http::Router makeRouter(Engine& engine);

}  // namespace storepulse::app
