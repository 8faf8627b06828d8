// The shadowed-rule lint must warn where a later rule can never match, and stay silent
// where it can: a false warning trains operators to ignore the real ones.
#include "driver/Compilation.h"

#include <gtest/gtest.h>

namespace route {
namespace {

size_t shadowWarnings(const std::string &body) {
  Compilation compilation;
  std::string text =
      "upstream a { servers = [\"127.0.0.1:1\"] }\non request {\n" + body + "\n  route a\n}\n";
  compilation.loadText("t.route", text);
  size_t count = 0;
  for (const Diagnostic &d : compilation.diags().diagnostics())
    count += d.code == "shadowed-rule";
  return count;
}

TEST(ShadowedRules, WarnsForIdenticalConditions) {
  EXPECT_EQ(shadowWarnings(R"(if req.host == "a" { route a }
                              if req.host == "a" { respond 404 })"),
            1u);
}

TEST(ShadowedRules, WarnsForCoveredPathPrefixesAndExactPaths) {
  EXPECT_EQ(shadowWarnings(R"(if req.path starts_with "/api" { route a }
                              if req.path starts_with "/api/v1" { respond 404 }
                              if req.path == "/api/health" { respond 200 })"),
            2u);
}

TEST(ShadowedRules, WarnsWhenAnEarlierDisjunctCovers) {
  EXPECT_EQ(shadowWarnings(R"(if req.path == "/x" or req.host == "h" { route a }
                              if req.host == "h" and req.method == "GET" { respond 404 })"),
            1u);
}

TEST(ShadowedRules, SilentForDifferentPrefixes) {
  EXPECT_EQ(shadowWarnings(R"(if req.path starts_with "/api/v1" { route a }
                              if req.path starts_with "/api" { respond 404 })"),
            0u);
}

TEST(ShadowedRules, SilentWhenTheEarlierRuleDoesNotAlwaysEnd) {
  EXPECT_EQ(shadowWarnings(R"(if req.path starts_with "/api" { req.header["x"] = "1" }
                              if req.path starts_with "/api/v1" { respond 404 })"),
            0u);
}

TEST(ShadowedRules, SilentWhenARewriteComesBetween) {
  EXPECT_EQ(shadowWarnings(R"(if req.path == "/a" { route a }
                              req.path = "/a"
                              if req.path == "/a" { respond 404 })"),
            0u);
}

TEST(ShadowedRules, SilentForImpureConditions) {
  EXPECT_EQ(shadowWarnings(R"(if random(10) == 0 { route a }
                              if random(10) == 0 { respond 404 })"),
            0u);
}

} // namespace
} // namespace route
