// W3C traceparent: what is valid, what a later version keeps, and what the proxy sends on.
#include "exchange/TraceContext.h"

#include <gtest/gtest.h>

#include <random>

namespace route::trace {
namespace {

constexpr std::string_view kValid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TraceContext, ParsesAndPrintsAValidTraceparent) {
  auto parent = parseTraceParent(kValid);
  ASSERT_TRUE(parent);
  EXPECT_EQ(hex(parent->traceId.data(), 16), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(parent->flags, 1);
  EXPECT_EQ(formatTraceParent(*parent), kValid);
}

TEST(TraceContext, RefusesWhatTheSpecRefuses) {
  for (std::string_view bad :
       {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", // 00 is 55 long
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",       // version ff
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",       // zero trace
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",       // zero parent
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",       // uppercase
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",        // short
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x", // later: '-' after
        ""})
    EXPECT_FALSE(parseTraceParent(bad)) << bad;
  EXPECT_TRUE(parseTraceParent("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"));
}

TEST(TraceContext, ContinuesTheTraceWithANewSpanOrStartsOne) {
  std::mt19937_64 random(7);
  auto incoming = parseTraceParent(kValid);
  TraceParent continued = continueOrStart(incoming, 0.0, random);
  EXPECT_EQ(continued.traceId, incoming->traceId);
  EXPECT_EQ(continued.flags, 1); // the caller's sampling decision stands
  EXPECT_NE(continued.parentId, incoming->parentId);
  TraceParent started = continueOrStart(std::nullopt, 0.0, random);
  EXPECT_NE(started.traceId, incoming->traceId);
  EXPECT_EQ(started.flags, 0);
  EXPECT_EQ(continueOrStart(std::nullopt, 1.0, random).flags, 1);
}

} // namespace
} // namespace route::trace
