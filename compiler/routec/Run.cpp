#include "Commands.h"
#include "Support.h"
#include "ast/Printer.h"
#include "interp/OnExchange.h"
#include "policy/PolicyLoader.h"
#include "proxy/Simulation.h"
#include "schema/Schema.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace routec {

namespace {

nlohmann::json headersJson(const route::HeaderList &headers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto &[name, value] : headers.fields())
    out.push_back({name, value});
  return out;
}

std::string headersText(const route::HeaderList &headers) {
  std::string out;
  for (const auto &[name, value] : headers.fields())
    out += fmt::format("    {}: {}\n", name, value);
  return out;
}

} // namespace

int run(const RunOptions &options) {
  route::Exchange exchange;
  size_t space = options.request.find(' ');
  std::string url = space == std::string::npos ? "" : options.request.substr(space + 1);
  url.erase(0, url.find_first_not_of(' '));
  if (space == std::string::npos || !exchange.setUrl(url)) {
    std::fprintf(stderr, "routec run: --request is 'METHOD http://host/path?query', not '%s'\n",
                 options.request.c_str());
    return kExitUsage;
  }
  exchange.request.method = options.request.substr(0, space);
  for (const std::string &header : options.headers) {
    size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      std::fprintf(stderr, "routec run: a header is 'name: value', not '%s'\n", header.c_str());
      return kExitUsage;
    }
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    exchange.request.headers.add(header.substr(0, colon), value);
  }
  if (!options.from.empty()) {
    if (!isAddress(options.from)) {
      std::fprintf(stderr, "routec run: --from takes an IP address, not '%s'\n",
                   options.from.c_str());
      return kExitUsage;
    }
    exchange.clientIp = options.from;
  }
  exchange.origin.status = options.status;
  if (!options.error.empty()) {
    const route::schema::ErrorKindInfo *kind = route::schema::findErrorKind(options.error);
    if (!kind || kind->side != route::schema::ErrorSide::Upstream) {
      std::string known;
      for (const route::schema::ErrorKindInfo &k : route::schema::errorKinds())
        if (k.side == route::schema::ErrorSide::Upstream)
          known += std::string(known.empty() ? "" : ", ") + k.name;
      std::fprintf(stderr, "routec run: --error is one of %s, not '%s'\n", known.c_str(),
                   options.error.c_str());
      return kExitUsage;
    }
  }
  exchange.originError = options.error;
  const route::TlsFacts &given = options.tls;
  route::TlsFacts tls = simulatedTls(exchange.request);
  bool tlsGiven = given.resumed;
  for (auto [field, value] : {std::pair{&tls.version, &given.version},
                              {&tls.cipher, &given.cipher},
                              {&tls.sni, &given.sni},
                              {&tls.alpn, &given.alpn},
                              {&tls.clientSubject, &given.clientSubject},
                              {&tls.clientIssuer, &given.clientIssuer},
                              {&tls.clientFingerprint, &given.clientFingerprint}}) {
    if (!value->empty())
      *field = *value;
    tlsGiven |= !value->empty();
  }
  tls.resumed = given.resumed;
  tls.clientVerified = !tls.clientSubject.empty();
  if (exchange.request.scheme == "https")
    exchange.tls = &tls;
  else if (tlsGiven) {
    std::fprintf(stderr, "routec run: --tls-* options describe an https:// request\n");
    return kExitUsage;
  }

  route::Compilation compilation;
  int exitCode = kExitClean;
  route::LoadedPolicy *policy = loadPolicy(compilation, options.policy, exitCode);
  if (!policy)
    return exitCode;

  // The proxy's own flow, on the interpreter (which names the rules that fired).
  route::Interpreter interpreter(policy->program);
  const route::SourceManager &sources = compilation.sources();
  turnout::proxy::simulate(
      exchange, *turnout::policyOf(policy->program, &sources, route::interpreted(interpreter)));
  // A run-time error before the request went upstream leaves nothing to show of it.
  bool faultedEarly =
      exchange.fault && (exchange.fault->phase == route::schema::Phase::Request ||
                         exchange.fault->phase == route::schema::Phase::UpstreamRequest);
  bool routed = exchange.decision.kind == route::Decision::Kind::Route && !faultedEarly;
  // A refused write in the request phase ended it before any decision.
  std::string decision = exchange.fault && exchange.fault->phase == route::schema::Phase::Request
                             ? "none: a run-time error (500)"
                             : describeDecision(exchange, policy->program);

  if (options.json) {
    nlohmann::json out;
    out["decision"] = decision;
    if (exchange.fault)
      out["error"] = route::describe(*exchange.fault, sources);
    if (routed) {
      const route::HttpRequest &up = exchange.upstreamRequest();
      out["upstream"] = {{"name", exchange.upstreamName}, {"peer", exchange.upstreamPeer}};
      out["upstream_request"] = {{"method", up.method},
                                 {"path", up.path},
                                 {"query", up.query},
                                 {"headers", headersJson(up.headers)}};
    }
    out["response"] = {{"status", exchange.response.status},
                       {"headers", headersJson(exchange.response.headers())},
                       {"body", exchange.response.body}};
    nlohmann::json rules = nlohmann::json::array();
    for (const route::SourceRange &r : exchange.trace) {
      route::LineColumn lc = sources.lineColumn(r.file, r.begin);
      rules.push_back(
          {{"file", sources.path(r.file)},
           {"line", lc.line},
           {"column", lc.column},
           {"source", std::string(sources.slice(r).substr(0, sources.slice(r).find('\n')))}});
    }
    out["rules"] = std::move(rules);
    std::puts(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitClean;
  }

  std::string text = fmt::format("decision: {}\n", decision);
  if (exchange.fault)
    text += route::describe(*exchange.fault, sources) + "; answered 500\n";
  if (routed) {
    const route::HttpRequest &up = exchange.upstreamRequest();
    text += fmt::format("upstream: {} (peer {}, attempt {})\n", exchange.upstreamName,
                        exchange.upstreamPeer, exchange.upstreamAttempt);
    text += fmt::format("upstream request: {} {}{}{}\n{}", up.method, up.path,
                        up.query.empty() ? "" : "?", up.query, headersText(up.headers));
    if (!exchange.errorKind.empty())
      text += fmt::format("origin failed: {} ({})\n", exchange.errorKind, exchange.errorStatus);
  }
  text += fmt::format("response: {}\n{}", exchange.response.status,
                      headersText(exchange.response.headers()));
  if (!exchange.response.body.empty())
    text += fmt::format("    body: {}\n", route::ast::stringLiteral(exchange.response.body));
  text += "rules fired:\n";
  if (exchange.trace.empty())
    text += "    (none)\n";
  for (const route::SourceRange &r : exchange.trace)
    text += "    " + describeSource(sources, r) + "\n";
  std::fputs(text.c_str(), stdout);
  return kExitClean;
}

} // namespace routec
