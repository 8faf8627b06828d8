// The exchange's own bookkeeping of what a policy changes: the response over the
// upstream's, and the request going upstream over the client's.
#include "exchange/Exchange.h"

#include <gtest/gtest.h>

namespace route {
namespace {

Exchange clientRequest() {
  Exchange x;
  x.request.method = "GET";
  x.request.path = "/a";
  x.request.query = "q=1";
  x.request.headers.add("host", "example.com");
  x.request.headers.add("cookie", "id=7");
  return x;
}

HeaderFields upstreamFields(const Exchange &x) {
  HeaderFields out;
  x.forEachUpstreamField([&](std::string_view n, std::string_view v) { out.emplace_back(n, v); });
  return out;
}

TEST(Exchange, AResponseOfItsOwnDropsTheUpstreamView) {
  HttpResponse from{200, {}, ""};
  from.headers.add("server", "origin");
  DownstreamResponse response;
  response.viewUpstream(from);
  EXPECT_EQ(&response.headers(), &from.headers);
  response = {503, "busy\n"};
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "busy\n");
  EXPECT_TRUE(response.headers().fields().empty());
}

TEST(Exchange, UpstreamReqIsTheClientRequestUntilChanged) {
  Exchange x = clientRequest();
  EXPECT_EQ(&x.upstreamHeaders(), &x.request.headers);
  x.request.path = "/b"; // a request phase's rewrite shows upstream
  EXPECT_EQ(x.upstreamPath(), "/b");
  x.changeUpstreamHeaders().set("host", "backend");
  x.changeUpstreamHeaders().remove("cookie");
  EXPECT_EQ(upstreamFields(x), (HeaderFields{{"host", "backend"}}));
  EXPECT_EQ(x.request.headers.get("host"), "example.com")
      << "the client's request is left as it came";
  EXPECT_EQ(x.request.headers.get("cookie"), "id=7");
  EXPECT_EQ(x.upstreamMethod(), "GET");
  EXPECT_EQ(x.upstreamQuery(), "q=1");
}

TEST(Exchange, ChangesToTheClientRequestAfterAnUpstreamChangeStayOutOfUpstreamReq) {
  Exchange x = clientRequest();
  x.changeUpstreamHeaders().set("x-a", "1");
  x.setUpstreamPath("/up");
  x.changeRequestHeaders().remove("host");
  x.changeRequestHeaders().add("x-late", "2");
  x.request.path = "/late";
  EXPECT_EQ(upstreamFields(x),
            (HeaderFields{{"host", "example.com"}, {"cookie", "id=7"}, {"x-a", "1"}}));
  EXPECT_EQ(x.upstreamPath(), "/up");
  HttpRequest up = x.upstreamRequest();
  EXPECT_EQ(up.path, "/up");
  EXPECT_EQ(up.query, "q=1");
  EXPECT_EQ(up.headers.fields(), upstreamFields(x));
}

TEST(Exchange, ACopiedExchangeKeepsItsUpstreamReq) {
  auto x = std::make_unique<Exchange>(clientRequest());
  x->changeUpstreamHeaders().set("x-a", "1");
  Exchange copy = *x;
  x.reset();
  EXPECT_EQ(upstreamFields(copy),
            (HeaderFields{{"host", "example.com"}, {"cookie", "id=7"}, {"x-a", "1"}}));
}

TEST(Exchange, ChangingUpstreamRespLeavesTheResponseAsItRead) {
  Exchange x;
  x.upstreamResponse = {200, {}, ""};
  x.upstreamResponse.headers.add("server", "origin");
  x.response.viewUpstream(x.upstreamResponse);
  x.response.changeHeaders().set("x-served-by", "turnout");
  x.changeUpstreamResponseHeaders().remove("server");
  EXPECT_EQ(x.response.headers().fields(),
            (HeaderFields{{"server", "origin"}, {"x-served-by", "turnout"}}));
}

} // namespace
} // namespace route
