#pragma once
// The request and response values that handlers see. They are plain data, not
// Beast types, so handlers (and their tests) never depend on Beast.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace storepulse::http {

struct HttpRequest {
  std::string method;  // as sent; HTTP methods are case-sensitive
  std::string path;    // percent-decoded, without the query
  // The path as received, still percent-encoded. The router splits this one,
  // so that an encoded "/" (%2F) stays inside one path parameter. Empty for
  // requests built in code: the router then uses `path`.
  std::string raw_path;
  std::map<std::string, std::string> query;  // decoded; first occurrence wins
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined by ", "
  std::vector<std::string> path_params;        // filled by the router, in pattern order

  // The header's value, or `fallback` when absent. `name` must be lower-case.
  std::string header(const std::string& name, std::string fallback = "") const;
  // The query parameter's value, or `fallback` when absent.
  std::string queryParam(const std::string& name, std::string fallback = "") const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers (e.g. Allow, Cache-Control). Content-Type goes in
  // `content_type`; Server and Content-Length are set by the server.
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse json(int status, const nlohmann::json& body);
  // `{"error": message}` — the one error shape of the whole API.
  static HttpResponse error(int status, std::string message);
  static HttpResponse text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
};

// Percent-decodes `in`; with `plus_as_space` (query strings) '+' becomes ' '.
// nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> urlDecode(std::string_view in, bool plus_as_space);

// Parses "a=1&b=x%20y&flag" into a map; nullopt on a malformed escape.
std::optional<std::map<std::string, std::string>> parseQuery(std::string_view query);

}  // namespace storepulse::http
