#include "engine/app/http_api.h"

#include <nlohmann/json.hpp>

#include "engine/app/engine.h"
#include "engine/app/rules_controller.h"
#include "engine/state/customer_state.h"

namespace storepulse::app {

namespace {
// Route patterns are constants of this file: a rejected one is a bug here.
void mustAdd(http::Router& router, const char* method, const char* pattern, http::Handler handler) {
  Status added = router.add(method, pattern, std::move(handler));
  if (!added.isOk()) throw std::logic_error(added.toString());
}
}  // namespace

http::Router makeRouter(Engine& engine) {
  http::Router router;
  mustAdd(router, "GET", "/healthz", [](const http::HttpRequest&) {
    return http::HttpResponse::json(200, {{"status", "ok"}});
  });
  mustAdd(router, "GET", "/readyz", [&engine](const http::HttpRequest&) {
    // Ready once both pipelines received their partitions and read the
    // offsets to resume from; until then the state API could answer stale.
    if (!engine.ready()) return http::HttpResponse::json(503, {{"status", "starting"}});
    return http::HttpResponse::json(200, {{"status", "ready"}});
  });
  mustAdd(router, "GET", "/metrics", [&engine](const http::HttpRequest&) {
    http::HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = engine.metrics().scrape();
    return response;
  });
  mustAdd(router, "GET", "/v1/customers/{id}", [&engine](const http::HttpRequest& request) {
    const std::string& id = request.path_params.at(0);
    // A customer lives in one partition; which one depends on the
    // producers' partitioner, so look in each partition this instance owns.
    for (int32_t partition : engine.ownedPartitions()) {
      auto stored = engine.store().get(StateTable::kCustomer, partition, id);
      if (!stored.isOk()) return http::HttpResponse::error(500, stored.status().message());
      if (!stored.value()) continue;
      auto state = decodeCustomerState(*stored.value());
      if (!state.isOk()) return http::HttpResponse::error(500, state.status().message());
      nlohmann::json body = customerStateToJson(id, state.value());
      body["partition"] = partition;
      return http::HttpResponse::json(200, body);
    }
    return http::HttpResponse::error(404, "no customer '" + id + "' in the partitions this instance owns");
  });
  mustAdd(router, "GET", "/v1/rules", [&engine](const http::HttpRequest&) {
    if (engine.rules() == nullptr) return http::HttpResponse::error(404, "no rules: rules.dir is empty");
    return http::HttpResponse::json(200, engine.rules()->describe());
  });
  mustAdd(router, "POST", "/v1/rules/reload", [&engine](const http::HttpRequest&) {
    if (engine.rules() == nullptr) return http::HttpResponse::error(404, "no rules: rules.dir is empty");
    Status reloaded = engine.rules()->reload("POST /v1/rules/reload");
    if (!reloaded.isOk()) {
      // The running set stays; the body says why the new one was refused.
      return http::HttpResponse::json(422, {{"error", "the new rule set has errors; the running set stays"},
                                            {"diagnostics", reloaded.message()}});
    }
    return http::HttpResponse::json(200, engine.rules()->describe());
  });
  return router;
}

}  // namespace storepulse::app
