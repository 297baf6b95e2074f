#include "connectors/http/router.h"

#include <algorithm>
#include <set>

namespace storepulse::http {
namespace {

// "/a/b/" → {"a", "b", ""}; "/" → {""}. A trailing slash is a distinct path.
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

Status Router::add(std::string method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    return Status(ErrorCode::kInvalidArgument,
                  "http route '" + std::string(pattern) + "': must start with '/'");
  }
  if (method.empty() || !handler) {
    return Status(ErrorCode::kInvalidArgument,
                  "http route '" + std::string(pattern) + "': needs a method and a handler");
  }
  Route route{std::move(method), std::string(pattern), {}, std::move(handler)};
  for (std::string_view part : splitPath(pattern)) {
    bool opens = part.find('{') != std::string_view::npos;
    bool closes = part.find('}') != std::string_view::npos;
    if (opens || closes) {
      if (part.size() < 3 || part.front() != '{' || part.back() != '}' ||
          part.find_first_of("{}", 1) != part.size() - 1) {
        return Status(ErrorCode::kInvalidArgument,
                      "http route '" + route.pattern + "': a placeholder must be a whole segment like {id}");
      }
      route.segments.push_back({std::string(part.substr(1, part.size() - 2)), true});
    } else {
      route.segments.push_back({std::string(part), false});
    }
  }
  for (const Route& other : routes_) {
    if (other.method != route.method || other.segments.size() != route.segments.size()) continue;
    bool same_shape = true;
    for (size_t i = 0; i < route.segments.size() && same_shape; ++i) {
      const Segment& a = route.segments[i];
      const Segment& b = other.segments[i];
      same_shape = a.placeholder == b.placeholder && (a.placeholder || a.literal == b.literal);
    }
    if (same_shape) {
      return Status(ErrorCode::kInvalidArgument, "http route " + route.method + " '" + route.pattern +
                                                     "' clashes with '" + other.pattern + "'");
    }
  }
  routes_.push_back(std::move(route));
  return Status::ok();
}

bool Router::matches(const Route& route, const std::vector<std::string_view>& raw) {
  if (route.segments.size() != raw.size()) return false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.placeholder ? raw[i].empty() : s.literal != raw[i]) return false;
  }
  return true;
}

bool Router::moreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].placeholder != b.segments[i].placeholder) return !a.segments[i].placeholder;
  }
  return false;
}

HttpResponse Router::dispatch(HttpRequest& request) const {
  std::string_view path = request.raw_path.empty() ? std::string_view(request.path)
                                                   : std::string_view(request.raw_path);
  // Literal segments compare encoded; route patterns are plain ASCII, so the
  // only difference would be a client needlessly escaping a letter.
  std::vector<std::string_view> raw = splitPath(path);

  const Route* best = nullptr;
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (!matches(route, raw)) continue;
    allowed.insert(route.method);
    if (route.method == request.method && (best == nullptr || moreSpecific(route, *best))) {
      best = &route;
    }
  }
  if (best == nullptr) {
    if (allowed.empty()) return HttpResponse::error(404, "no such resource: " + request.path);
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse r = HttpResponse::error(405, "method " + request.method + " not allowed on " +
                                                  request.path + "; allowed: " + allow);
    r.headers.emplace_back("Allow", allow);
    return r;
  }

  request.path_params.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!best->segments[i].placeholder) continue;
    auto decoded = urlDecode(raw[i], false);
    if (!decoded) return HttpResponse::error(400, "malformed percent-encoding in path");
    request.path_params.push_back(std::move(*decoded));
  }
  return best->handler(request);
}

}  // namespace storepulse::http
