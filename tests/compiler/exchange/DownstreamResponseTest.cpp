#include "exchange/Exchange.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>

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
  response.removeHeader("server");
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

TEST(DownstreamResponse, EditsOverAViewReadAsTheSameChangesToACopy) {
  HttpResponse from{200, {}, ""};
  for (const char *name : {"server", "date", "x-a", "Set-Cookie", "x-b", "set-cookie"})
    from.headers.add(name, std::string("v-") + name);
  const char *names[] = {"x-a", "X-A", "set-cookie", "SET-COOKIE", "x-new", "X-New", "server", "x-other"};
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    HeaderList copy = from.headers;
    DownstreamResponse response;
    response.viewUpstream(from);
    int steps = static_cast<int>(random() % 6);
    for (int step = 0; step < steps; ++step) {
      const char *name = names[random() % std::size(names)];
      std::string value = "w" + std::to_string(round) + "." + std::to_string(step);
      if (random() % 3 == 0) {
        copy.remove(name);
        response.removeHeader(name);
      } else {
        copy.set(name, value);
        response.setHeader(name, value);
      }
      HeaderFields sent;
      response.forEachField([&](std::string_view n, std::string_view v) { sent.emplace_back(n, v); });
      ASSERT_EQ(sent, copy.fields()) << "round " << round << " step " << step;
      ASSERT_EQ(response.headers().fields(), copy.fields()) << "round " << round << " step " << step;
    }
  }
  EXPECT_EQ(from.headers.fields().size(), 6u) << "the upstream's fields are left as they came";
}

TEST(DownstreamResponse, EditsAreNotCopiesOfTheUpstreamFields) {
  HttpResponse from = upstream();
  DownstreamResponse response;
  response.viewUpstream(from);
  response.setHeader("x-served-by", "turnout");
  response.removeHeader("server");
  HeaderFields sent;
  response.forEachField([&](std::string_view n, std::string_view v) { sent.emplace_back(n, v); });
  EXPECT_EQ(sent, (HeaderFields{{"date", "Sat, 28 Nov 2026 12:00:00 GMT"}, {"x-served-by", "turnout"}}));
  // The date went out from the upstream's own string.
  const char *date = nullptr;
  response.forEachField([&](std::string_view n, std::string_view v) {
    if (n == "date")
      date = v.data();
  });
  EXPECT_EQ(date, from.headers.fields()[1].second.data());
}

} // namespace
} // namespace route
