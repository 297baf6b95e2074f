#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and
// `{name}` placeholders, e.g. "/v1/alerts/{id}/ack"; a literal segment beats
// a placeholder, so "/v1/alerts/stream" and "/v1/alerts/{id}" can coexist.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/http_message.h"
#include "engine/core/status.h"

namespace storepulse::http {

// Runs on a server I/O thread: it must not block for long, and may throw
// (the server answers 500 and carries on).
using Handler = std::function<HttpResponse(const HttpRequest&)>;

class Router {
 public:
  // InvalidArgument for a pattern that does not start with '/', a placeholder
  // that is not a whole segment, or a (method, pattern shape) already added.
  Status add(std::string method, std::string_view pattern, Handler handler);

  // Fills `request.path_params` (URL-decoded, in pattern order) and runs the
  // matching handler. No path match → 404; a path match with another method
  // → 405 with an Allow header; a malformed escape in the path → 400.
  // Exceptions from the handler propagate to the caller.
  HttpResponse dispatch(HttpRequest& request) const;

 private:
  struct Segment {
    std::string literal;
    bool placeholder = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };

  static bool matches(const Route& route, const std::vector<std::string_view>& raw);
  // True when `a` is more specific than `b` (a literal where `b` has a
  // placeholder, at the first segment where they differ).
  static bool moreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

}  // namespace storepulse::http
