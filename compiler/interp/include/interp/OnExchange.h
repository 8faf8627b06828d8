// The interpreter over an exchange, for the tools: as a phase runner that can record the
// rules that fired (routec run and test run it through the proxy's flow,
// runtime/proxy/Simulation.h), and a policy's expressions evaluated over an exchange as it
// is (a test's `expect`, a balancing key).
#pragma once

#include "exchange/Exchange.h"
#include "interp/Interpreter.h"

#include <string>

namespace route {

// The interpreter as a phase runner (it records the rules that fired in the exchange's
// trace).
PhaseRunner interpreted(const Interpreter &interpreter);

// A bool expression over the exchange as it is (a test's `expect`).
bool check(Exchange &x, const Interpreter &interpreter, const ast::Expr &condition);
// An upstream's balancing key over the exchange as it is.
std::string balanceKey(Exchange &x, const Interpreter &interpreter, const ast::Expr &key);

} // namespace route
