// The request flow, apart from any protocol, as Pingora's proxy over its sessions: the
// phases of the policy version a request started on, routing, balancing, attempts and
// their retries, the error phase, local answers, and the response relayed downstream with
// bounded memory. A downstream session (HTTP/1 today) reads a request's head into the
// exchange and hands it here; the flow talks to the client and the peer only through
// Session.h's two interfaces.
#pragma once

#include "config/ServerConfig.h"
#include "policy/Policy.h"
#include "proxy/Session.h"
#include "upstream/Balancer.h"

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace turnout::proxy {

// What a request runs on: a policy and its upstreams' balancers (by upstream index).
struct Routing {
  const Policy &policy;
  std::span<const std::shared_ptr<upstream::Balancer>> balancers;
};

class Flow {
public:
  Flow(Downstream &downstream, Upstream &upstream, const ServerConfig &config)
      : down_(downstream), up_(upstream), config_(config) {}

  // Runs the phases on `x`, whose request head is in: answers it locally or forwards it,
  // as the policy says. Then finish(), however run() ended. `routing` is taken by value: a
  // coroutine keeps its parameters, and a temporary passed by reference would be gone by
  // the time a spawned one runs.
  awaitable<void> run(route::Exchange &x, Routing routing);
  // The exchange is over: the log phase.
  void finish(route::Exchange &x);

private:
  // Stale: the connection had gone, or the peer refused the request unprocessed (Refused):
  // the request may go again.
  enum class Attempt { Done, Failed, Stale, Refused };
  // The request body bytes sent upstream so far, while they fit the replay buffer: a
  // request is retried on another peer only if all of its body can be sent again.
  struct Replay {
    std::string bytes;       // the body's start, or all of it once the request is complete
    bool overflowed = false; // part of the body went upstream and is gone
  };

  awaitable<BodyRead> bufferBody();
  awaitable<Attempt> attempt(route::Exchange &x, upstream::Balancer &balancer, int peer);
  // An answer of the proxy's own, after the response phase had its say; a 500 when the
  // policy made a run-time error.
  awaitable<bool> answerLocally(route::Exchange &x);
  // A failed attempt: logged, recorded, and its retry rule kept for the next decision.
  void fail(route::Exchange &x, const Error &error);
  // What ended the exchange, for the log phase (error.kind) and the error phase.
  void record(route::Exchange &x, const Error &error);
  // The request's trailers that go upstream (upstreams.pass_request_trailers).
  const Fields &passedTrailers();

  Downstream &down_;
  Upstream &up_;
  const ServerConfig &config_;
  const Policy *policy_ = nullptr; // the current request's
  std::chrono::steady_clock::time_point started_;
  const upstream::UpstreamSpec *upstream_ = nullptr; // where the current request goes
  Replay replay_;
  Fields passedTrailers_;
  std::string key_; // the current request's balancing key (its capacity kept)
  ErrorRetry lastRetry_ = ErrorRetry::Never; // the last failed attempt's
};

} // namespace turnout::proxy
