// The proxy's request flow without a network, for `routec run`, `routec test` and the back
// ends' tests: the same Flow the proxy runs, over a simulated client and a simulated origin,
// so that the phase order, balancing, attempts, retries and the error phase are written
// once. The client sends the exchange's request (without a body) and takes every byte; the
// origin answers every attempt with x.origin, or fails it with x.originError (an upstream
// error kind: one that reaches no peer fails the connect, the others the response).
#pragma once

#include "policy/Policy.h"

namespace turnout::proxy {

// Runs `x`, whose request head is in, through the flow and its log phase, as the proxy's
// first worker would with fresh balancers. x.response is then what the client got, its
// body included.
void simulate(route::Exchange &x, const Policy &policy);

} // namespace turnout::proxy
