// Exchanges without a network, for `routec run`, `routec test` and the differential tests:
// a policy's phases run over an exchange as the proxy runs them, against a simulated
// origin (Exchange::origin, or its failure Exchange::originError), and a policy's
// expressions evaluated over an exchange. The proxy does not use this: it links the
// exchange alone.
#pragma once

#include "exchange/Exchange.h"
#include "interp/Interpreter.h"

#include <string>

namespace route {

// The interpreter as a phase runner (it can also record the rules that fired).
PhaseRunner interpreted(const Interpreter &interpreter);

// Runs the phases as the proxy would: request; then upstream_request, the origin's answer
// or error (and the error phase), upstream_response when routed; response; log.
void simulate(Exchange &x, const Program &program, const PhaseRunner &policy);
inline void simulate(Exchange &x, const Program &program, const Interpreter &interpreter) {
  simulate(x, program, interpreted(interpreter));
}

// A bool expression over the exchange as it is (a test's `expect`).
bool check(Exchange &x, const Interpreter &interpreter, const ast::Expr &condition);
// An upstream's balancing key over the exchange as it is.
std::string balanceKey(Exchange &x, const Interpreter &interpreter, const ast::Expr &key);

} // namespace route
