// A policy as the proxy runs it: the phase entry points behind route/abi.h (native code, or
// the interpreter where the JIT declines a construct), a balancing-key function per hashed
// upstream, its upstreams as plain data, and a way to name the place of a run-time error.
// Immutable once loaded and shared by every worker thread; a request holds the version it
// started with. The loader (PolicyLoader.h) makes it; nothing here knows the compiler.
#pragma once

#include "exchange/Exchange.h"
#include "upstream/UpstreamSpec.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace turnout {

class Policy {
public:
  // Writes the balancing key into `out` (a buffer kept from request to request).
  using KeyFunction = std::function<void(route::Exchange &, std::string &out)>;

  // A rule of the policy (an `if` branch taken, an assignment, an answer, a route: what
  // `routec run` lists as fired), by the number its code counts it by (route_rule_hit).
  struct Rule {
    route::FileId file = route::kNoFile;
    uint32_t line = 0, column = 0;
    std::string action; // "if", "set", "delete", "respond", "redirect", "route", "retry"
  };

  // What a loader makes a policy of.
  struct Parts {
    std::string path, id, backend;
    std::vector<upstream::UpstreamSpec> upstreams;
    route::PhaseRunner runner;
    std::vector<KeyFunction> balanceKeys; // by upstream; empty where it hashes on nothing
    std::function<std::string(const route::Fault &)> describe;
    std::vector<Rule> rules;
    const route::SourceManager *sources = nullptr; // its files, if it has them (in owner)
    std::shared_ptr<const void> owner; // what the runner, keys, describe and sources use
  };
  explicit Policy(Parts parts) : parts_(std::move(parts)) {}

  const std::string &path() const { return parts_.path; }
  // The version id: a hash of the sources (the root file and its imports).
  const std::string &id() const { return parts_.id; }
  // "jit", "artifact", or "interpreter" with the JIT's reason.
  const std::string &backend() const { return parts_.backend; }
  const std::vector<Rule> &rules() const { return parts_.rules; }
  // The sources it was compiled from (the root first), when they are known.
  const route::SourceManager *sources() const { return parts_.sources; }
  // By upstream index, as the policy's decisions name them.
  const std::vector<upstream::UpstreamSpec> &upstreams() const { return parts_.upstreams; }

  void runPhase(route::Exchange &exchange, route::schema::Phase phase) const {
    exchange.runPhase(parts_.runner, phase);
  }
  const route::Decision &runErrorPhase(route::Exchange &exchange) const {
    return exchange.runErrorPhase(parts_.runner);
  }
  // A run-time error of this policy, for the log: "FILE:LINE:COL: run-time error in ...".
  std::string describe(const route::Fault &fault) const { return parts_.describe(fault); }
  // The balancing key of upstream `upstream` for this exchange, into `out`; "" when it has
  // none.
  void balanceKey(route::Exchange &exchange, uint32_t upstream, std::string &out) const {
    out.clear();
    if (const KeyFunction &key = parts_.balanceKeys[upstream])
      key(exchange, out);
  }

private:
  Parts parts_;
};

} // namespace turnout
