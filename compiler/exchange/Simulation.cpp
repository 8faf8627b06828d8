#include "exchange/Simulation.h"

namespace route {

namespace {

// Every phase but log, as the proxy runs them; a fault ends the walk where it happened.
void runPhases(Exchange &x, const Program &program, const PhaseRunner &policy) {
  x.runPhase(policy, schema::Phase::Request);
  if (x.fault)
    return;
  switch (x.decision.kind) {
  case Decision::Kind::Route: {
    const ast::UpstreamDecl *upstream = program.upstreams[x.decision.upstream];
    x.upstreamName = upstream->name;
    if (!upstream->config.servers.empty()) {
      const ast::ServerSpec &server = upstream->config.servers.front();
      x.upstreamPeer = server.address();
    }
    x.upstreamAttempt = 1;
    x.runPhase(policy, schema::Phase::UpstreamRequest);
    if (x.fault)
      return;
    if (x.originError.empty()) {
      x.upstreamResponse = x.origin;
      x.runPhase(policy, schema::Phase::UpstreamResponse);
      if (x.fault)
        return;
      x.response.viewUpstream(x.upstreamResponse);
      break;
    }
    // The kind's status and retry rule, as the proxy's (dsl/schema/error_kinds.def).
    const schema::ErrorKindInfo *kind = schema::findErrorKind(x.originError);
    x.errorKind = x.originError;
    x.errorStatus = kind ? kind->status : 502;
    x.errorMessage = "simulated " + x.originError;
    // A peer that cannot be connected to is left for the next one without asking the
    // policy, while the upstream's retries allow; in a simulation every attempt fails.
    if (kind && kind->retry == schema::ErrorRetry::NextPeer)
      x.upstreamAttempt = 1 + upstream->config.retries;
    // Every attempt fails the same way in a simulation; the error phase may answer, or
    // retry until the upstream's retries are spent.
    for (;;) {
      const Decision &onError = x.runErrorPhase(policy);
      if (x.fault)
        return;
      if (onError.kind == Decision::Kind::Respond || onError.kind == Decision::Kind::Redirect) {
        x.answer(onError);
        break;
      }
      bool again = onError.kind == Decision::Kind::Retry || onError.kind == Decision::Kind::Route;
      if (!again || x.upstreamAttempt > upstream->config.retries) {
        x.response = {x.errorStatus, x.errorStatus == 504 ? "gateway timeout\n" : "bad gateway\n"};
        break;
      }
      ++x.upstreamAttempt;
    }
    break;
  }
  case Decision::Kind::Respond:
  case Decision::Kind::Redirect:
    x.answer(x.decision);
    break;
  default:
    x.response = {404, "no route\n"};
    break;
  }
  x.runPhase(policy, schema::Phase::Response);
}
} // namespace

PhaseRunner interpreted(const Interpreter &interpreter) {
  return [&interpreter](schema::Phase phase, RouteCtx *ctx, std::vector<SourceRange> *trace) {
    interpreter.runPhase(phase, ctx, trace);
  };
}

void simulate(Exchange &x, const Program &program, const PhaseRunner &policy) {
  runPhases(x, program, policy);
  if (x.fault)
    x.answerFault();
  x.responseBytes = static_cast<int64_t>(x.response.body.size());
  x.runPhase(policy, schema::Phase::Log);
}

bool check(Exchange &x, const Interpreter &interpreter, const ast::Expr &condition) {
  bool result = false;
  x.evaluate([&](RouteCtx *ctx) { result = interpreter.evaluateCondition(condition, ctx); });
  return result;
}

std::string balanceKey(Exchange &x, const Interpreter &interpreter, const ast::Expr &key) {
  std::string result;
  x.evaluate([&](RouteCtx *ctx) { result = interpreter.evaluateKey(key, ctx); });
  return result;
}

} // namespace route
