#include "interp/OnExchange.h"

namespace route {

PhaseRunner interpreted(const Interpreter &interpreter) {
  return [&interpreter](schema::Phase phase, RouteCtx *ctx, std::vector<SourceRange> *trace) {
    interpreter.runPhase(phase, ctx, trace);
  };
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
