#include "connectors/http/router.h"

#include <gtest/gtest.h>

namespace storepulse::http {
namespace {

HttpRequest request(std::string method, std::string raw_path) {
  HttpRequest r;
  r.method = std::move(method);
  r.raw_path = raw_path;
  r.path = urlDecode(raw_path, false).value_or(raw_path);
  return r;
}

Handler named(std::string name) {
  return [name](const HttpRequest& req) {
    nlohmann::json params = req.path_params;
    return HttpResponse::json(200, {{"route", name}, {"params", params}});
  };
}

nlohmann::json bodyOf(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

TEST(RouterTest, CapturesPlaceholdersInOrderAndUrlDecodesThem) {
  Router router;
  ASSERT_TRUE(router.add("POST", "/v1/alerts/{id}/ack/{by}", named("ack")).isOk());
  HttpRequest req = request("POST", "/v1/alerts/a%20b/ack/guide%2F7");
  HttpResponse res = router.dispatch(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(bodyOf(res)["params"], nlohmann::json::array({"a b", "guide/7"}));
}

TEST(RouterTest, LiteralSegmentWinsOverPlaceholderWhateverTheOrderOfAdding) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/alerts/{id}", named("one")).isOk());
  ASSERT_TRUE(router.add("GET", "/v1/alerts/stream", named("stream")).isOk());
  HttpRequest stream = request("GET", "/v1/alerts/stream");
  EXPECT_EQ(bodyOf(router.dispatch(stream))["route"], "stream");
  HttpRequest one = request("GET", "/v1/alerts/a1");
  EXPECT_EQ(bodyOf(router.dispatch(one))["route"], "one");
}

TEST(RouterTest, RootAndTrailingSlashAreDistinctPaths) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/", named("root")).isOk());
  ASSERT_TRUE(router.add("GET", "/healthz", named("health")).isOk());
  HttpRequest root = request("GET", "/");
  EXPECT_EQ(bodyOf(router.dispatch(root))["route"], "root");
  HttpRequest slash = request("GET", "/healthz/");
  EXPECT_EQ(router.dispatch(slash).status, 404);
}

TEST(RouterTest, EmptySegmentDoesNotMatchPlaceholder) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/customers/{id}", named("c")).isOk());
  HttpRequest req = request("GET", "/v1/customers/");
  EXPECT_EQ(router.dispatch(req).status, 404);
}

TEST(RouterTest, UnknownPathIs404WithJsonError) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/healthz", named("h")).isOk());
  HttpRequest req = request("GET", "/nope");
  HttpResponse res = router.dispatch(req);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_TRUE(bodyOf(res)["error"].is_string());
}

TEST(RouterTest, KnownPathWithOtherMethodIs405ListingAllowedMethods) {
  Router router;
  ASSERT_TRUE(router.add("POST", "/v1/rules/reload", named("r")).isOk());
  ASSERT_TRUE(router.add("GET", "/v1/rules/{name}", named("g")).isOk());
  HttpRequest req = request("DELETE", "/v1/rules/reload");
  HttpResponse res = router.dispatch(req);
  EXPECT_EQ(res.status, 405);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].first, "Allow");
  EXPECT_EQ(res.headers[0].second, "GET, POST");
  EXPECT_TRUE(bodyOf(res)["error"].is_string());
}

TEST(RouterTest, RejectsMalformedPatternsAndClashingRoutes) {
  Router router;
  EXPECT_EQ(router.add("GET", "healthz", named("x")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/v1/x{id}", named("x")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/v1/{}", named("x")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/v1/x", Handler()).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(router.add("GET", "/v1/customers/{id}", named("a")).isOk());
  Status clash = router.add("GET", "/v1/customers/{cid}", named("b"));
  EXPECT_EQ(clash.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(clash.message().find("/v1/customers/{id}"), std::string::npos);
  EXPECT_TRUE(router.add("PUT", "/v1/customers/{id}", named("c")).isOk());
}

TEST(RouterTest, MalformedEscapeInParameterIs400) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/customers/{id}", named("c")).isOk());
  HttpRequest req;
  req.method = "GET";
  req.raw_path = "/v1/customers/%zz";
  EXPECT_EQ(router.dispatch(req).status, 400);
}

TEST(UrlDecodeTest, DecodesEscapesAndPlusOnlyInQueries) {
  EXPECT_EQ(urlDecode("a%20b+c%2f", false), "a b+c/");
  EXPECT_EQ(urlDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(urlDecode("%e4%b8%ad", false), "\xe4\xb8\xad");
  EXPECT_FALSE(urlDecode("%2", false).has_value());
  EXPECT_FALSE(urlDecode("%g0", false).has_value());
  EXPECT_FALSE(urlDecode("abc%", false).has_value());
}

TEST(UrlDecodeTest, ParsesQueryKeepingFirstOccurrenceAndBareKeys) {
  auto q = parseQuery("n=5&store_id=S%201&flag&&n=9&q=a+b");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->at("n"), "5");
  EXPECT_EQ(q->at("store_id"), "S 1");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("q"), "a b");
  EXPECT_FALSE(parseQuery("a=%zz").has_value());
}

TEST(HttpResponseTest, ErrorIsJsonObjectWithMessage) {
  HttpResponse r = HttpResponse::error(418, "short and stout");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body), (nlohmann::json{{"error", "short and stout"}}));
}

TEST(HttpResponseTest, JsonWithInvalidUtf8DoesNotThrow) {
  HttpResponse r = HttpResponse::json(200, {{"x", std::string("\xff\xfe")}});
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
}

}  // namespace
}  // namespace storepulse::http
