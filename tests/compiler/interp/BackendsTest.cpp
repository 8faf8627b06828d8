// The interpreter defines Route's meaning: these tests pin the run-time semantics that
// dsl/README.md promises, through the simulated exchange. Every exchange also runs on the
// JIT, which must leave it exactly as the interpreter does.
#include "driver/Compilation.h"
#include "jit/Jit.h"
#include "exchange/Exchange.h"

#include <gtest/gtest.h>

namespace route {
namespace {

std::string fields(const HeaderList &headers) {
  std::string out;
  for (const auto &[name, value] : headers.fields())
    out += name + ": " + value + "\n";
  return out;
}

// Runs `prepared` (an exchange set up but not run) on the JIT and expects the outcome the
// interpreter reached in `interpreted`.
void expectJitAgrees(const Program &program, Exchange prepared, const Exchange &interpreted) {
  std::string why;
  std::unique_ptr<JitPolicy> jit = JitPolicy::compile(program, why);
  ASSERT_NE(jit, nullptr) << why;
  prepared.run(program, [&](schema::Phase phase, RouteCtx *ctx, std::vector<SourceRange> *) {
    jit->runPhase(phase, ctx);
  });
  EXPECT_EQ(prepared.decision.kind, interpreted.decision.kind);
  EXPECT_EQ(prepared.decision.upstream, interpreted.decision.upstream);
  EXPECT_EQ(prepared.response.status, interpreted.response.status);
  EXPECT_EQ(prepared.response.body, interpreted.response.body);
  EXPECT_EQ(fields(prepared.response.headers), fields(interpreted.response.headers));
  EXPECT_EQ(prepared.upstreamRequest.path, interpreted.upstreamRequest.path);
  EXPECT_EQ(fields(prepared.upstreamRequest.headers), fields(interpreted.upstreamRequest.headers));
  EXPECT_EQ(prepared.errorDecisions.size(), interpreted.errorDecisions.size());
}

// Runs an exchange on the interpreter, then the same on the JIT, and returns the first.
Exchange runBoth(const Program &program, const Exchange &prepared) {
  Interpreter interpreter(program);
  Exchange x = prepared;
  x.run(program, interpreter);
  expectJitAgrees(program, prepared, x);
  return x;
}

struct PolicyRun {
  Compilation compilation;
  LoadedPolicy *policy = nullptr;
  Exchange exchange;
};

// Runs `body` as the request phase and returns the exchange; the policy declares an
// upstream `u` and answers with `respond 200 <expr>` to show values.
std::unique_ptr<PolicyRun> run(const std::string &decls, const std::string &body,
                         const std::string &url = "http://example.com/a/b?x=1&y=two",
                         const std::vector<std::pair<std::string, std::string>> &headers = {}) {
  auto r = std::make_unique<PolicyRun>();
  std::string text = "upstream u { servers = [\"127.0.0.1:1\"] }\n" + decls +
                     "\non request {\n" + body + "\n}\n";
  r->policy = r->compilation.loadText("t.route", text);
  EXPECT_TRUE(r->policy->ok) << r->compilation.diags().renderText();
  if (!r->policy->ok)
    return r;
  EXPECT_TRUE(r->exchange.setUrl(url));
  for (const auto &[name, value] : headers)
    r->exchange.request.headers.add(name, value);
  r->exchange = runBoth(r->policy->program, r->exchange);
  return r;
}

std::string shown(const std::string &decls, const std::string &expr) {
  auto r = run(decls, "respond 200 " + expr);
  return r->exchange.response.body;
}

TEST(Interpreter, IntegerArithmeticWrapsAndDivisionByZeroIsZero) {
  EXPECT_EQ(shown("const big = 9223372036854775807", "str(big + 1)"), "-9223372036854775808");
  EXPECT_EQ(shown("const zero = 0", "str(7 / zero) + \",\" + str(7 % zero)"), "0,0");
  EXPECT_EQ(shown("const min = -9223372036854775807 - 1", "str(min / -1)"),
            "-9223372036854775808");
  EXPECT_EQ(shown("", "str(-7 / 2) + \",\" + str(-7 % 2)"), "-3,-1");
}

TEST(Interpreter, MapsFallBackToDefaultThenZero) {
  std::string decls = "map m { \"a\" => 1, default => 9 }\nmap n { \"a\" => \"x\" }";
  EXPECT_EQ(shown(decls, "str(m[\"a\"]) + str(m[\"zz\"]) + \"[\" + n[\"zz\"] + \"]\""), "19[]");
  EXPECT_EQ(shown(decls, "str(len(split(\"a,b\", \",\"))) + split(\"a,b\", \",\")[5] + \"|\""),
            "2|");
}

TEST(Interpreter, ReadsRequestFieldsQueryArgumentsAndCookies) {
  auto r = run("", "respond 200 req.host + \" \" + req.path + \" \" + req.query + \" \" + "
                   "req.arg[\"y\"] + \" \" + req.cookie[\"sid\"] + \" \" + req.header[\"x-a\"]",
               "http://Example.COM:8080/a/b?x=1&y=two",
               {{"cookie", "theme=dark; sid=42"}, {"x-a", "1"}, {"X-A", "2"}});
  EXPECT_EQ(r->exchange.response.body, "example.com /a/b x=1&y=two two 42 1, 2");
}

TEST(Interpreter, CapturesAndRegexReplace) {
  auto r = run("", R"route(if req.path ~ r"^/(?P<first>[a-z]+)/(.*)$" {
      respond 200 match.first + "|" + match[2] + "|" + regex_replace(req.path, r"/([a-z])", "<$1>")
    })route");
  EXPECT_EQ(r->exchange.response.body, "a|b|<a><b>");
}

TEST(Interpreter, AclsCidrsAndMappedAddresses) {
  std::string decls = "acl inside { 10.0.0.0/8, 2001:db8::/32 }";
  auto check = [&](const std::string &client) {
    auto r = std::make_unique<PolicyRun>();
    r->policy = r->compilation.loadText(
        "t.route", "upstream u { servers = [\"127.0.0.1:1\"] }\n" + decls +
                       "\non request {\n if client.ip in inside and client.ip in 10.1.0.0/16 "
                       "{ respond 200 \"in\" }\n respond 200 \"out\"\n}\n");
    r->exchange.setUrl("http://h/");
    r->exchange.clientIp = client;
    return runBoth(r->policy->program, r->exchange).response.body;
  };
  EXPECT_EQ(check("10.1.2.3"), "in");
  EXPECT_EQ(check("::ffff:10.1.2.3"), "in");
  EXPECT_EQ(check("10.2.0.1"), "out");
  EXPECT_EQ(check("192.0.2.1"), "out");
}

TEST(Interpreter, FunctionsLetBindingsAndShortCircuit) {
  auto r = run("fn twice(s: string) -> string { let t = s + s\n return t }\n"
               "fn pick(n: int) -> string { if n > 1 { return \"many\" } else { return \"one\" } }",
               "if false and random(0) == 1 { respond 500 }\n"
               "respond 200 twice(\"ab\") + pick(2) + pick(1)");
  EXPECT_EQ(r->exchange.response.body, "ababmanyone");
}

TEST(Interpreter, PhasesRunInOrderOnTheSameExchange) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", R"(
    upstream u { servers = ["127.0.0.1:1"] }
    on request { req.header["x-step"] = "request"
                 route u }
    on upstream_request { upstream.req.header["x-step"] = req.header["x-step"] + ",upstream_request"
                          upstream.req.path = "/rewritten" }
    on upstream_response { upstream.resp.header["x-step"] = "upstream_response" }
    on response { resp.header["x-seen"] = upstream.resp.header["x-step"] + "," + upstream.name
                  resp.status = 299 }
  )");
  ASSERT_TRUE(policy->ok) << compilation.diags().renderText();
  Exchange prepared;
  prepared.setUrl("http://h/original");
  Exchange x = runBoth(policy->program, prepared);
  EXPECT_EQ(x.upstreamRequest.headers.get("x-step"), "request,upstream_request");
  EXPECT_EQ(x.upstreamRequest.path, "/rewritten");
  EXPECT_EQ(x.request.path, "/original");
  EXPECT_EQ(x.response.headers.get("x-seen"), "upstream_response,u");
  EXPECT_EQ(x.response.status, 299);
}

TEST(Interpreter, ErrorPhaseRetriesThenAnswers) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", R"(
    upstream u { servers = ["127.0.0.1:1"] retries = 2 }
    on request { route u }
    on error {
      if upstream.attempt < 3 { retry }
      respond 503 "gave up after " + str(upstream.attempt) + " " + error.kind
    }
  )");
  ASSERT_TRUE(policy->ok) << compilation.diags().renderText();
  Exchange prepared;
  prepared.setUrl("http://h/");
  prepared.originError = "read_timeout";
  Exchange x = runBoth(policy->program, prepared);
  EXPECT_EQ(x.response.status, 503);
  EXPECT_EQ(x.response.body, "gave up after 3 read_timeout");
  EXPECT_EQ(x.errorDecisions.size(), 3u);
}

TEST(Interpreter, ConnectFailuresMoveToTheNextPeerBeforeTheErrorPhase) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", R"(
    upstream u { servers = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"] retries = 2 }
    on request { route u }
    on error { respond 503 "gave up after " + str(upstream.attempt) }
  )");
  ASSERT_TRUE(policy->ok) << compilation.diags().renderText();
  Exchange prepared;
  prepared.setUrl("http://h/");
  prepared.originError = "connect_failed";
  Exchange x = runBoth(policy->program, prepared);
  EXPECT_EQ(x.response.body, "gave up after 3");
  EXPECT_EQ(x.errorDecisions.size(), 1u);
}

TEST(Interpreter, UnroutedRequestsGet404) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", "on request { return }\n");
  ASSERT_TRUE(policy->ok);
  Exchange prepared;
  prepared.setUrl("http://h/");
  Exchange x = runBoth(policy->program, prepared);
  EXPECT_EQ(x.response.status, 404);
}

} // namespace
} // namespace route
