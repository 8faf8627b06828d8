#include "PolicyGenerator.h"

namespace route::testing {

namespace {
const std::vector<std::string> kHosts = {"a.example.com", "b.example.com", "api.example.com",
                                         "Example.COM"};
const std::vector<std::string> kPaths = {
    "/",   "/api/v1/users/7", "/api/v2/orders", "/old/x/y", "/static/app.js", "/admin", "/a%20b",
    "/api"};
const std::vector<std::string> kWords = {"/api", "/api/", "/old", "users",  ".js",
                                         "a",    "",      "x-y",  "/admin", "example"};
const std::vector<std::string> kHeaders = {"x-user", "x-tier", "cookie", "accept", "x-empty"};
} // namespace

std::string PolicyGenerator::stringExpr(int depth) {
  if (depth <= 0 || chance(30)) {
    switch (pick(inCapture_ ? 8 : 7)) {
    case 0:
      return "\"" + oneOf(kWords) + "\"";
    case 1:
      return "req.path";
    case 2:
      return "req.host";
    case 3:
      return "req.header[\"" + oneOf(kHeaders) + "\"]";
    case 4:
      return "req.query";
    case 5:
      return "tiers[req.header[\"x-tier\"]]";
    case 6:
      return "req.arg[\"q\"]";
    default:
      return chance(50) ? "match.rest" : "match[1]";
    }
  }
  switch (pick(9)) {
  case 0:
    return stringExpr(depth - 1) + " + " + stringExpr(depth - 1);
  case 1:
    return "lower(" + stringExpr(depth - 1) + ")";
  case 2:
    return "str(" + intExpr(depth - 1) + ")";
  case 3:
    return "substr(" + stringExpr(depth - 1) + ", " + intExpr(depth - 1) + ", " +
           intExpr(depth - 1) + ")";
  case 4:
    return "replace(" + stringExpr(depth - 1) + ", \"/\", \"_\")";
  case 5:
    return "regex_replace(" + stringExpr(depth - 1) + ", r\"([a-z]+)\", \"<$1>\")";
  case 6:
    return "join(split(" + stringExpr(depth - 1) + ", \"/\"), \"-\")";
  case 7:
    return "greet(" + stringExpr(depth - 1) + ")";
  default:
    return "split(" + stringExpr(depth - 1) + ", \"/\")[" + intExpr(depth - 1) + "]";
  }
}

std::string PolicyGenerator::intExpr(int depth) {
  if (depth <= 0 || chance(30)) {
    switch (pick(4)) {
    case 0:
      return std::to_string(static_cast<int64_t>(pick(7)) - 2);
    case 1:
      return "client.port";
    case 2:
      return "limit";
    default:
      return "len(" + stringExpr(0) + ")";
    }
  }
  static const std::vector<std::string> ops = {" + ", " - ", " * ", " / ", " % "};
  switch (pick(4)) {
  case 0:
    return "(" + intExpr(depth - 1) + oneOf(ops) + intExpr(depth - 1) + ")";
  case 1:
    return "hash64(" + stringExpr(depth - 1) + ") % 10";
  case 2:
    return "parse_int(" + stringExpr(depth - 1) + ", -1)";
  default:
    return "len(" + stringExpr(depth - 1) + ")";
  }
}

std::string PolicyGenerator::condition(int depth) {
  if (depth <= 0 || chance(40)) {
    switch (pick(12)) {
    case 0:
      return stringExpr(1) + " == " + stringExpr(1);
    case 1:
      return stringExpr(1) + " starts_with \"" + oneOf(kWords) + "\"";
    case 2:
      return stringExpr(1) + " ends_with \"" + oneOf(kWords) + "\"";
    case 3:
      return stringExpr(1) + " contains \"" + oneOf(kWords) + "\"";
    case 4:
      return "client.ip in office";
    case 5:
      return "client.ip in 10.0.0.0/8";
    case 6:
      return intExpr(1) + (chance(50) ? " < " : " >= ") + intExpr(1);
    case 7:
      return "\"" + oneOf(kHeaders) + "\" in req.header";
    case 8:
      return "req.header[\"x-tier\"] in tiers";
    case 9:
      return stringExpr(1) + " in [\"/\", \"/admin\", \"a.example.com\"]";
    case 10:
      return "req.path !~ r\"^/api/v[0-9]+/\"";
    default:
      return "is_api(" + stringExpr(1) + ")";
    }
  }
  switch (pick(3)) {
  case 0:
    return "(" + condition(depth - 1) + " and " + condition(depth - 1) + ")";
  case 1:
    return "(" + condition(depth - 1) + " or " + condition(depth - 1) + ")";
  default:
    return "not (" + condition(depth - 1) + ")";
  }
}

std::string PolicyGenerator::edit(const std::string &phase) {
  std::string value = stringExpr(2);
  if (phase == "request") {
    switch (pick(4)) {
    case 0:
      return "req.header[\"x-gen\"] = " + value;
    case 1:
      return "req.path = " + value;
    case 2:
      return "delete req.header[\"" + oneOf(kHeaders) + "\"]";
    default:
      return "let _v" + std::to_string(lets_++) + " = " + value;
    }
  }
  if (phase == "upstream_request")
    return chance(50) ? "upstream.req.header[\"x-up\"] = " + value
                      : "delete upstream.req.header[\"" + oneOf(kHeaders) + "\"]";
  if (phase == "response")
    return chance(70) ? "resp.header[\"x-resp\"] = " + value + " + upstream.name"
                      : "resp.status = " + std::to_string(200 + pick(300));
  if (phase == "error")
    return "error.status = " + std::to_string(500 + pick(5));
  return "upstream.resp.header[\"x-origin\"] = str(upstream.resp.status)";
}

std::string PolicyGenerator::action(const std::string &phase) {
  if (phase == "request") {
    switch (pick(5)) {
    case 0:
      return "respond " + std::to_string(200 + pick(300)) + " " + stringExpr(2);
    case 1:
      return "redirect 301 \"https://x.example\" + " + stringExpr(1);
    case 2:
      return "route by_host[req.host]";
    default:
      return "route " + std::string(chance(50) ? "web" : "api");
    }
  }
  if (phase == "error")
    return chance(50) ? "retry" : "respond 503 error.kind + \" \" + str(upstream.attempt)";
  return "return";
}

std::string PolicyGenerator::block(const std::string &phase, int depth, bool mayEnd) {
  bool ends = false;
  return block(phase, depth, mayEnd, ends);
}

// Nothing may follow a statement that always ends the phase: the checker calls it
// unreachable. `ends` says whether the block always ends.
std::string PolicyGenerator::block(const std::string &phase, int depth, bool mayEnd, bool &ends) {
  std::string out;
  ends = false;
  int statements = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < statements && !ends; ++i) {
    if (depth > 0 && chance(45)) {
      bool capture = phase != "error" && chance(30);
      std::string cond =
          capture ? "req.path ~ r\"^/(?P<first>[a-z]+)(?P<rest>/.*)?$\" and " + condition(1)
                  : condition(2);
      bool saved = inCapture_;
      inCapture_ = inCapture_ || capture;
      bool thenEnds = false, elseEnds = false;
      out += "if " + cond + " {\n" + block(phase, depth - 1, true, thenEnds) + "}";
      inCapture_ = saved;
      if (chance(40)) {
        out += " else {\n" + block(phase, depth - 1, true, elseEnds) + "}";
        ends = thenEnds && elseEnds;
      }
      out += "\n";
    } else {
      out += edit(phase) + "\n";
    }
  }
  if (!ends && mayEnd && chance(60)) {
    out += action(phase) + "\n";
    ends = true;
  }
  return out;
}

std::string PolicyGenerator::ruleTable() {
  static const std::vector<std::string> prefixes = {
      "/", "/api", "/api/", "/api/v1", "/api/v2/orders", "/old", "/static/", "/admin", "", "/a%"};
  std::string out;
  int rules = 4 + static_cast<int>(pick(9));
  int shape = static_cast<int>(pick(3)); // mostly one shape, so that runs form
  for (int i = 0; i < rules; ++i) {
    int kind = chance(80) ? shape : static_cast<int>(pick(3));
    std::string prefix = oneOf(prefixes);
    if (kind == 0)
      out += "if req.host == \"" + oneOf(kHosts) + "\" and req.path starts_with \"" + prefix +
             "\"" + (chance(30) ? " and " + condition(1) : "") + " {\n" + action("request") +
             "\n}\n";
    else if (kind == 1)
      out += "if req.path starts_with \"" + prefix + "\"" +
             (chance(30) ? " and " + condition(1) : "") + " {\n" + action("request") + "\n}\n";
    else
      out += "if req.path ~ r\"^" + (prefix == "/a%" ? "/a" : prefix) + "(?P<rest>.*)$\"" +
             (chance(30) ? " and " + condition(1) : "") +
             " {\nrespond 200 \"m \" + match.rest\n}\n";
  }
  return out;
}

std::string PolicyGenerator::policy() {
  std::string out = R"(upstream web { servers = ["127.0.0.1:8081", "127.0.0.1:8082"] retries = 2 }
upstream api { servers = ["127.0.0.1:9090"] retries = 1 }
acl office { 203.0.113.0/24, 2001:db8::/32, 10.1.0.0/16 }
map tiers { "gold" => "g", "silver" => "s", default => "none" }
map by_host { "api.example.com" => api, default => web }
const limit = 3
fn greet(s: string) -> string { return "hi " + s }
fn is_api(s: string) -> bool { if s starts_with "/api" { return true } return len(s) > 20 }
)";
  for (const char *phase :
       {"request", "upstream_request", "upstream_response", "response", "error"})
    out += std::string("on ") + phase + " {\n" +
           (phase == std::string("request") && chance(50) ? ruleTable() : "") +
           block(phase, 3, true) + "}\n";
  return out;
}

GeneratedRequest PolicyGenerator::request() {
  GeneratedRequest r;
  static const std::vector<std::string> methods = {"GET", "POST", "HEAD"};
  static const std::vector<std::string> clients = {"203.0.113.7", "10.1.2.3", "192.0.2.1",
                                                   "2001:db8::5", "::ffff:10.1.0.9"};
  static const std::vector<std::string> queries = {"", "?q=1", "?q=a+b&x=%41", "?q"};
  r.method = oneOf(methods);
  r.url = std::string(chance(20) ? "https://" : "http://") + oneOf(kHosts) + oneOf(kPaths) +
          oneOf(queries);
  r.clientIp = oneOf(clients);
  static const std::vector<std::string> values = {"gold", "silver", "bob",         "12",
                                                  "",     "a/b/c",  "sid=1; uid=2"};
  for (const std::string &name : kHeaders)
    if (chance(50))
      r.headers.emplace_back(name, oneOf(values));
  r.originStatus = chance(80) ? 200 : 500;
  if (chance(15))
    r.originError = chance(50) ? "connect_failed" : "read_timeout";
  return r;
}

} // namespace route::testing
