// The interpreter defines Route's meaning: these tests pin the run-time semantics that
// dsl/README.md promises, through the simulated exchange. Every exchange also runs on the
// JIT, which must leave it exactly as the interpreter does.
#include "driver/Compilation.h"
#include "exchange/Exchange.h"
#include "interp/OnExchange.h"
#include "jit/Jit.h"
#include "policy/PolicyLoader.h"
#include "proxy/Simulation.h"

#include <gtest/gtest.h>

#include <set>

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
  turnout::proxy::simulate(
      prepared, *turnout::policyOf(program, nullptr,
                                   [&](schema::Phase phase, RouteCtx *ctx,
                                       std::vector<SourceRange> *) { jit->runPhase(phase, ctx); }));
  EXPECT_EQ(prepared.decision.kind, interpreted.decision.kind);
  EXPECT_EQ(prepared.decision.upstream, interpreted.decision.upstream);
  EXPECT_EQ(prepared.response.status, interpreted.response.status);
  EXPECT_EQ(prepared.response.body, interpreted.response.body);
  EXPECT_EQ(fields(prepared.response.headers()), fields(interpreted.response.headers()));
  EXPECT_EQ(prepared.upstreamRequest().path, interpreted.upstreamRequest().path);
  EXPECT_EQ(fields(prepared.upstreamRequest().headers),
            fields(interpreted.upstreamRequest().headers));
  EXPECT_EQ(prepared.errorDecisions.size(), interpreted.errorDecisions.size());
  ASSERT_EQ(prepared.fault.has_value(), interpreted.fault.has_value());
  if (prepared.fault) {
    EXPECT_EQ(prepared.fault->what, interpreted.fault->what);
    EXPECT_EQ(prepared.fault->where.begin, interpreted.fault->where.begin);
    EXPECT_EQ(prepared.fault->phase, interpreted.fault->phase);
  }
}

// Runs an exchange on the interpreter, then the same on the JIT, and returns the first.
Exchange runBoth(const Program &program, const Exchange &prepared) {
  Interpreter interpreter(program);
  Exchange x = prepared;
  turnout::proxy::simulate(x, *turnout::policyOf(program, nullptr, interpreted(interpreter)));
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
std::unique_ptr<PolicyRun>
run(const std::string &decls, const std::string &body,
    const std::string &url = "http://example.com/a/b?x=1&y=two",
    const std::vector<std::pair<std::string, std::string>> &headers = {}) {
  auto r = std::make_unique<PolicyRun>();
  std::string text =
      "upstream u { servers = [\"127.0.0.1:1\"] }\n" + decls + "\non request {\n" + body + "\n}\n";
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
  EXPECT_EQ(shown("const min = -9223372036854775807 - 1", "str(min / -1)"), "-9223372036854775808");
  EXPECT_EQ(shown("", "str(-7 / 2) + \",\" + str(-7 % 2)"), "-3,-1");
}

TEST(Interpreter, MapsFallBackToDefaultThenZero) {
  std::string decls = "map m { \"a\" => 1, default => 9 }\nmap n { \"a\" => \"x\" }";
  EXPECT_EQ(shown(decls, "str(m[\"a\"]) + str(m[\"zz\"]) + \"[\" + n[\"zz\"] + \"]\""), "19[]");
  EXPECT_EQ(shown(decls, "str(len(split(\"a,b\", \",\"))) + split(\"a,b\", \",\")[5] + \"|\""),
            "2|");
}

TEST(Interpreter, ReadsRequestFieldsQueryArgumentsAndCookies) {
  auto r = run("",
               "respond 200 req.host + \" \" + req.path + \" \" + req.query + \" \" + "
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
  EXPECT_EQ(x.upstreamRequest().headers.get("x-step"), "request,upstream_request");
  EXPECT_EQ(x.upstreamRequest().path, "/rewritten");
  EXPECT_EQ(x.request.path, "/original");
  EXPECT_EQ(x.response.headers().get("x-seen"), "upstream_response,u");
  EXPECT_EQ(x.response.status, 299);
}

TEST(Interpreter, ErrorPhaseRetriesThenAnswers) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", R"(
    upstream u { servers = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"] retries = 2 }
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

TEST(Interpreter, AWriteThatCannotGoOnTheWireIsARunTimeErrorOfItsStatement) {
  // Each write refused: the phase ends at it, the exchange is answered 500, and nothing the
  // policy wrote is kept. Both back ends stop at the same statement.
  struct Case {
    const char *body;
    const char *what;
  };
  for (const Case &c : {
           Case{"redirect 302 req.arg[\"to\"]", "redirect to \"/a\\x0d\\x0ab\""},
           Case{"req.path = url_decode(req.arg[\"to\"])",
                "req.path = \"/a\\x0d\\x0ab\": a request target"},
           Case{"req.header[\"x\"] = url_decode(req.arg[\"to\"])",
                "req.header[\"x\"] = \"/a\\x0d\\x0ab\""},
           Case{"req.header[req.arg[\"n\"]] = \"v\"",
                "req.header[\"a b\"]: a header name is a token"},
           Case{"req.method = req.arg[\"n\"]", "req.method = \"a b\": a method is a token"},
           Case{"respond s \"x\"", "respond 99: a status is from 200 to 599"},
       }) {
    SCOPED_TRACE(c.body);
    auto r =
        run("",
            std::string("req.header[\"kept\"] = \"no\"\nlet s = parse_int(req.arg[\"s\"], 200)\n"
                        "if req.host != \"\" {\n") +
                c.body + "\n}\nrespond 200 \"unreached\"",
            "http://example.com/p?to=/a%0d%0ab&n=a%20b&s=99");
    const Exchange &x = r->exchange;
    ASSERT_TRUE(x.fault.has_value());
    EXPECT_NE(x.fault->what.find(c.what), std::string::npos) << x.fault->what;
    EXPECT_EQ(x.fault->phase, schema::Phase::Request);
    EXPECT_EQ(describe(*x.fault, r->compilation.sources()).substr(0, 11), "t.route:7:1");
    EXPECT_EQ(x.response.status, 500);
    EXPECT_EQ(x.response.body, "internal server error\n");
    EXPECT_TRUE(x.response.headers().fields().empty());
  }
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

// Runs of prefix rules become a trie walk in the JIT (nested prefixes, rules whose other
// conditions fail, rules without a prefix in the run, host buckets holding prefix runs):
// the first rule to match must be the interpreter's.
TEST(Jit, PrefixRunsKeepFirstMatchOrder) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", R"(
    on request {
      if req.path starts_with "/api/v1/" and req.method == "POST" { respond 201 "post v1" }
      if req.path starts_with "/api/" { respond 200 "api" }
      if req.path starts_with "/api/v1/users" { respond 200 "never: /api/ wins" }
      if req.header["x-debug"] == "1" { respond 299 "debug" }
      if req.path starts_with "" and req.query == "all" { respond 298 "all" }
      if req.path starts_with "/static" { respond 200 "static" }
      if req.host == "a.example" and req.path starts_with "/x" { respond 210 "a x" }
      if req.host == "a.example" and req.path starts_with "/xy" { respond 211 "a xy" }
      if req.host == "a.example" and req.path starts_with "/" and req.query == "q" {
        respond 212 "a q"
      }
      if req.host == "a.example" and req.path ~ r"^/re(?P<n>[0-9]+)$" {
        respond 213 "a re " + match.n
      }
      if req.host == "b.example" and req.path starts_with "/x" { respond 220 "b x" }
      if req.host == "b.example" { respond 221 "b" }
      if req.host == "b.example" and req.path starts_with "/y" { respond 222 "b y" }
      if req.host == "b.example" and req.path starts_with "/z" { respond 223 "b z" }
      respond 404 "none"
    }
  )");
  ASSERT_TRUE(policy->ok) << compilation.diags().renderText();
  const char *urls[] = {"http://h/api/v1/users", "http://h/api/v2",       "http://h/ap",
                        "http://h/static/x.css", "http://h/other?all",    "http://h/",
                        "http://a.example/xyz",  "http://a.example/x",    "http://a.example/q?q",
                        "http://a.example/re42", "http://a.example/none", "http://b.example/x",
                        "http://b.example/y",    "http://c.example/x"};
  for (const char *url : urls) {
    for (const char *method : {"GET", "POST"}) {
      for (bool debug : {false, true}) {
        Exchange prepared;
        ASSERT_TRUE(prepared.setUrl(url));
        prepared.request.method = method;
        if (debug)
          prepared.request.headers.add("x-debug", "1");
        runBoth(policy->program, prepared);
      }
    }
  }
  Exchange prepared;
  prepared.setUrl("http://h/api/v1/users");
  prepared.request.method = "POST";
  EXPECT_EQ(runBoth(policy->program, prepared).response.body, "post v1");
  prepared.setUrl("http://a.example/re42");
  EXPECT_EQ(runBoth(policy->program, prepared).response.body, "a re 42");
}

// Runs of regex rules become one RE2::Set pass in the JIT; the rules whose regex matches
// are tried in order, with their captures, and a failing rest of a condition moves on.
TEST(Jit, RegexRunsKeepFirstMatchOrderAndCaptures) {
  std::string policy = "on request {\n";
  for (int i = 0; i < 12; ++i)
    policy += "  if req.path ~ r\"^/r" + std::to_string(i) +
              "/(?P<rest>.*)$\" and req.query != \"skip" + std::to_string(i) +
              "\" { respond 200 \"" + std::to_string(i) + " \" + match.rest }\n";
  policy += "  if req.path ~ r\"/r1\" { respond 201 \"any r1\" }\n";
  policy += "  if req.path ~ r\"x\" and req.path ~ r\"(?P<tail>y+)$\" { respond 202 \"xy \" + "
            "match.tail }\n";
  policy += "  respond 404 \"none\"\n}\n";
  Compilation compilation;
  LoadedPolicy *loaded = compilation.loadText("t.route", policy);
  ASSERT_TRUE(loaded->ok) << compilation.diags().renderText();
  const char *urls[] = {"http://h/r3/a/b",    "http://h/r11/z",    "http://h/r1/q?skip1",
                        "http://h/r1x?skip1", "http://h/zr1",      "http://h/xyy",
                        "http://h/nothing",   "http://h/r7/?skip3"};
  for (const char *url : urls) {
    Exchange prepared;
    ASSERT_TRUE(prepared.setUrl(url));
    runBoth(loaded->program, prepared);
  }
  Exchange prepared;
  prepared.setUrl("http://h/r3/a/b");
  EXPECT_EQ(runBoth(loaded->program, prepared).response.body, "3 a/b");
  prepared.setUrl("http://h/r1/q?skip1");
  EXPECT_EQ(runBoth(loaded->program, prepared).response.body, "any r1");
  prepared.setUrl("http://h/xyy");
  EXPECT_EQ(runBoth(loaded->program, prepared).response.body, "xy yy");
}

// Two compilations of one program, whose tables, regexes and ACLs sit at different
// addresses, give the same object code: it names them by symbol (issue 5's artifacts
// rest on this).
TEST(Jit, ObjectCodeIsTheSameWhereverTheTablesAre) {
  std::string policy =
      "acl office { 10.0.0.0/8 }\nupstream u { servers = [\"127.0.0.1:1\"] }\non request {\n";
  for (int i = 0; i < 20; ++i)
    policy += "  if req.host == \"h" + std::to_string(i) +
              ".example\" and req.path starts_with \"/p" + std::to_string(i) + "\" { route u }\n";
  policy += "  if req.path ~ r\"^/old/(?P<rest>.*)$\" { redirect 301 \"/new/\" + match.rest }\n";
  policy += "  if client.ip in office { respond 200 \"office\" }\n  respond 404 \"none\"\n}\n";
  Compilation compilation;
  LoadedPolicy *loaded = compilation.loadText("t.route", policy);
  ASSERT_TRUE(loaded->ok) << compilation.diags().renderText();
  std::string why;
  JitOptions options;
  options.keepObject = true;
  std::unique_ptr<JitPolicy> first = JitPolicy::compile(loaded->program, why, options);
  ASSERT_NE(first, nullptr) << why;
  std::unique_ptr<JitPolicy> second = JitPolicy::compile(loaded->program, why, options);
  ASSERT_NE(second, nullptr) << why;
  EXPECT_GT(first->object().size(), 1000u);
  EXPECT_EQ(first->object(), second->object());
}

// A hashed upstream's key has a native function of its own: it gives the bytes the
// interpreter gives, for a string, an int and an ip key.
TEST(Jit, BalancingKeysAreTheInterpretersBytes) {
  Compilation compilation;
  LoadedPolicy *policy = compilation.loadText("t.route", R"(
upstream byHeader { servers = ["127.0.0.1:1"]
  balance = hash(lower(req.header["x-user"]) + "/" + req.path) }
upstream byLength { servers = ["127.0.0.1:1"]
  balance = ketama(len(req.path) * 7) }
upstream byClient { servers = ["127.0.0.1:1"]
  balance = hash(client.ip) }
upstream plain { servers = ["127.0.0.1:1"] }
on request { route plain }
)");
  ASSERT_TRUE(policy->ok) << compilation.diags().renderText();
  const Program &program = policy->program;
  std::string why;
  std::unique_ptr<JitPolicy> jit = JitPolicy::compile(program, why);
  ASSERT_NE(jit, nullptr) << why;
  Interpreter interpreter(program);
  Exchange x;
  ASSERT_TRUE(x.setUrl("http://example.com/some/path"));
  x.request.headers.add("x-user", "Alice");
  x.clientIp = "2001:db8::7";
  EXPECT_FALSE(jit->hasBalanceKey(3));
  for (uint32_t u = 0; u < 3; ++u) {
    ASSERT_TRUE(jit->hasBalanceKey(u)) << u;
    std::string native;
    x.evaluate([&](RouteCtx *ctx) {
      RouteStr key = jit->balanceKey(u, ctx);
      native.assign(key.data, static_cast<size_t>(key.size));
    });
    std::string interpreted = balanceKey(x, interpreter, *program.upstreams[u]->config.balanceKey);
    EXPECT_EQ(native, interpreted) << program.upstreams[u]->name;
    EXPECT_FALSE(native.empty());
  }
}

// An artifact's way in: the object code, with its tables rebuilt from the encoded image,
// linked after the program is gone, answers as the compilation it came from. The policy
// has a table of every kind: rule-run and map indexes (string and int keys), a prefix
// trie, a regex set, single regexes and an ACL, and a hashed upstream.
TEST(Jit, LinksTheObjectWithItsImageWithoutTheProgram) {
  std::string policy = "acl office { 10.0.0.0/8, 2001:db8::/32 }\n"
                       "map weights { 1 => \"one\", 7 => \"seven\", default => \"many\" }\n"
                       "upstream u { servers = [\"127.0.0.1:1\"] balance = hash(req.path) }\n"
                       "on request {\n";
  for (int i = 0; i < 12; ++i)
    policy += "  if req.host == \"h" + std::to_string(i % 3) +
              ".example\" and req.path starts_with \"/p" + std::to_string(i) +
              "\" { respond 200 \"rule " + std::to_string(i) + "\" }\n";
  for (int i = 0; i < 9; ++i)
    policy += "  if req.path ~ r\"^/r" + std::to_string(i) +
              "/(?P<rest>[a-z]+)$\" and true { respond 200 \"regex " + std::to_string(i) +
              " \" + match.rest }\n";
  policy += "  if client.ip in office { respond 200 \"office \" + weights[len(req.path)] }\n"
            "  route u\n}\n";
  std::unique_ptr<JitPolicy> compiled, linked;
  {
    Compilation compilation;
    LoadedPolicy *loaded = compilation.loadText("t.route", policy);
    ASSERT_TRUE(loaded->ok) << compilation.diags().renderText();
    std::string why;
    JitOptions options;
    options.keepObject = true;
    compiled = JitPolicy::compile(loaded->program, why, options);
    ASSERT_NE(compiled, nullptr) << why;
  }
  image::PolicyImage image = compiled->image();
  EXPECT_EQ(image.phases, std::vector<schema::Phase>{schema::Phase::Request});
  ASSERT_EQ(image.upstreams.size(), 1u);
  EXPECT_TRUE(image.upstreams[0].keyed);
  std::set<image::Table::Kind> kinds;
  for (const image::Table &table : image.tables)
    kinds.insert(table.kind);
  EXPECT_EQ(kinds.size(), 5u);
  std::string error;
  std::optional<image::PolicyImage> decoded = image::decode(image::encode(image), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(image::encode(*decoded), image::encode(image));
  linked = JitPolicy::link(compiled->object(), *decoded, error);
  ASSERT_NE(linked, nullptr) << error;
  struct Case {
    const char *url, *client;
  };
  for (Case c : {Case{"http://h1.example/p4/x", "192.0.2.1"},
                 {"http://h2.example/p4", "192.0.2.1"},
                 {"http://h0.example/p9", "192.0.2.1"},
                 {"http://x/r5/abc", "192.0.2.1"},
                 {"http://x/r8/q", "192.0.2.1"},
                 {"http://x/seven", "10.1.2.3"},
                 {"http://x/a", "2001:db8::1"},
                 {"http://x/other/path", "192.0.2.9"}}) {
    Exchange a, b;
    ASSERT_TRUE(a.setUrl(c.url));
    a.clientIp = c.client;
    b = a;
    a.runPhase([&](schema::Phase phase, RouteCtx *ctx,
                   std::vector<SourceRange> *) { compiled->runPhase(phase, ctx); },
               schema::Phase::Request);
    b.runPhase([&](schema::Phase phase, RouteCtx *ctx,
                   std::vector<SourceRange> *) { linked->runPhase(phase, ctx); },
               schema::Phase::Request);
    EXPECT_EQ(a.decision.kind, b.decision.kind) << c.url;
    EXPECT_EQ(a.decision.status, b.decision.status) << c.url;
    EXPECT_EQ(a.decision.body, b.decision.body) << c.url;
    auto key = [](Exchange &x, const JitPolicy &jit) {
      std::string out;
      x.evaluate([&](RouteCtx *ctx) {
        RouteStr bytes = jit.balanceKey(0, ctx);
        out.assign(bytes.data, bytes.size);
      });
      return out;
    };
    EXPECT_EQ(key(a, *compiled), key(b, *linked));
    EXPECT_EQ(key(a, *compiled), a.request.path) << c.url;
  }
}

// A damaged image is refused with a reason, never half-read.
TEST(Jit, ADamagedImageIsRefused) {
  std::string error;
  EXPECT_FALSE(image::decode("\xa1\x61x\x01", error));
  EXPECT_NE(error.find("a damaged policy image"), std::string::npos);
  image::PolicyImage bad;
  bad.tables.push_back({image::Table::Kind::Acl, {{"short", 8}}, {}});
  std::optional<image::PolicyImage> decoded = image::decode(image::encode(bad), error);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(JitPolicy::link("", *decoded, error), nullptr);
  EXPECT_EQ(error, "a table of the artifact does not build");
}

} // namespace
} // namespace route
