// The request flow, apart from any protocol, as Pingora's proxy over its sessions: the
// phases of the policy version a request started on, routing, balancing, attempts and
// their retries, the error phase, local answers, and the response relayed downstream with
// bounded memory. A downstream session (HTTP/1 today) reads a request's head into the
// exchange and hands it here; the flow talks to the client and the peer only through
// Session.h's two interfaces.
#pragma once

#include "config/ServerConfig.h"
#include "policy/Policy.h"
#include "proxy/Grpc.h"
#include "proxy/Session.h"
#include "upstream/Balancer.h"

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace turnout::metrics {
struct PeerCounters;
} // namespace turnout::metrics

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

  // What became of the rest of a request body sent on from the client.
  struct Forwarded {
    IoStatus status = IoStatus::Ok;   // of the last write upstream
    bool answeredEarly = false;       // half duplex: the peer answered before the body's end
    std::optional<Error> clientError; // the client broke off mid-body
  };
  // The request body running beside the response (full duplex), in a coroutine of its own.
  struct Pump {
    explicit Pump(const Executor &executor) : done(executor) {}
    Signal done;
    bool running = false;
    Forwarded result;
  };

  // Reads the body's start into the replay buffer; `streaming`: only what is here.
  awaitable<BodyRead> bufferBody(bool streaming);
  awaitable<Attempt> attempt(route::Exchange &x, upstream::Balancer &balancer, int peer);
  // Sends the rest of the request body upstream as the client sends it. Half duplex, it
  // stops when the peer answers early; full duplex, when the read is interrupted.
  awaitable<Forwarded> forwardBody(route::Exchange &x, bool duplex);
  awaitable<void> pump(route::Exchange &x, Pump &pump);
  // Runs pump() beside the caller; `pump` says when it has ended.
  void startPump(route::Exchange &x, Pump &pump);
  // The next piece of the request body, as it goes upstream (gRPC-Web decoded).
  awaitable<BodyRead> readPiece();
  // The response, its head already run through the response phases, to the client.
  awaitable<bool> relay(route::Exchange &x);
  awaitable<Attempt> tunnel(route::Exchange &x);
  // Stops the pump (its read interrupted, the upstream stream `cancelled` if asked) and
  // waits for its end.
  awaitable<void> stopPump(Pump &pump, bool cancel);
  // An answer of the proxy's own, after the response phase had its say; a 500 when the
  // policy made a run-time error.
  awaitable<bool> answerLocally(route::Exchange &x);
  // A failed attempt: logged, recorded, and its retry rule kept for the next decision.
  void fail(route::Exchange &x, const Error &error);
  // What ended the exchange, for the log phase (error.kind) and the error phase.
  void record(route::Exchange &x, const Error &error);
  // Continues the trace of `incoming` (the client's traceparent), or starts one: x.traceId,
  // and the traceparent that goes upstream.
  void startTrace(route::Exchange &x, std::optional<std::string_view> incoming);
  // The current attempt's peer failed: passive health counts it, and may eject the peer.
  void peerFailed(const route::Exchange &x);
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
  // A gRPC call's grpc-timeout, from the request's start, and its upstream's settings with
  // total_timeout bounded by it.
  std::optional<std::chrono::steady_clock::time_point> callDeadline_;
  upstream::ConnectSettings boundedSettings_;
  // A gRPC-Web call translated to gRPC, and its response piece as it goes down.
  std::optional<GrpcWebCall> web_;
  std::string webOut_;
  // When bytes last went through a full-duplex exchange either way (a tunnel's idleness).
  std::chrono::steady_clock::time_point tunnelActive_;
  ErrorRetry lastRetry_ = ErrorRetry::Never; // the last failed attempt's
  // The peer the current attempt went to, whose failures passive health counts; null
  // before the attempt reaches for a connection.
  std::string traceParent_; // what goes upstream; "" when tracing is off
  bool traceContinued_ = false;
  upstream::Balancer *attemptBalancer_ = nullptr;
  int attemptPeer_ = -1;
  metrics::PeerCounters *attemptCounters_ = nullptr; // its worker's counters of that peer
};

} // namespace turnout::proxy
