#include "exchange/Exchange.h"

#include <gtest/gtest.h>

namespace route {
namespace {

HttpResponse upstream() {
  HttpResponse r{200, {}, ""};
  r.headers.add("server", "origin");
  r.headers.add("date", "Sat, 28 Nov 2026 12:00:00 GMT");
  return r;
}

TEST(DownstreamResponse, ReadsTheUpstreamFieldsUntilChanged) {
  HttpResponse from = upstream();
  DownstreamResponse response;
  response.viewUpstream(from);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(&response.headers(), &from.headers); // read in place, not copied
  response.changeHeaders().remove("server");
  EXPECT_FALSE(response.headers().has("server"));
  EXPECT_TRUE(from.headers.has("server")) << "the upstream's response is left as it came";
  EXPECT_EQ(response.headers().get("date"), "Sat, 28 Nov 2026 12:00:00 GMT");
}

TEST(DownstreamResponse, ACopyOwnsItsFields) {
  auto from = std::make_unique<HttpResponse>(upstream());
  DownstreamResponse response;
  response.viewUpstream(*from);
  DownstreamResponse copy = response;
  DownstreamResponse assigned;
  assigned = response;
  from.reset();
  EXPECT_EQ(copy.headers().get("server"), "origin");
  EXPECT_EQ(assigned.headers().get("server"), "origin");
}

TEST(DownstreamResponse, AnAnswerOfItsOwnDropsTheView) {
  HttpResponse from = upstream();
  DownstreamResponse response;
  response.viewUpstream(from);
  response = {503, "busy\n"};
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "busy\n");
  EXPECT_TRUE(response.headers().fields().empty());
}

} // namespace
} // namespace route
