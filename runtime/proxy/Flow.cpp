#include "proxy/Flow.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace turnout::proxy {

using route::schema::Phase;
using Clock = std::chrono::steady_clock;

namespace {

const Fields kNoFields;
// Attempts more on the same peer after a stale connection.
constexpr int kStaleRetries = 3;

// RFC 9110 9.2.2.
bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

const char *defaultBody(int64_t status) {
  switch (status) {
  case 503:
    return "service unavailable\n";
  case 504:
    return "gateway timeout\n";
  default:
    return "bad gateway\n";
  }
}

// What the upstream's connections speak, as upstream.protocol says it before one is made.
const char *protocolOf(upstream::ConnectSettings::Protocol protocol) {
  using Protocol = upstream::ConnectSettings::Protocol;
  return protocol == Protocol::Http1 ? "HTTP/1.1" : protocol == Protocol::Auto ? "" : "HTTP/2";
}

} // namespace

void Flow::finish(route::Exchange &x) {
  replay_ = Replay{};
  passedTrailers_.clear();
  x.durationNs =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_).count();
  policy_->runPhase(x, Phase::Log);
}

awaitable<bool> Flow::answerLocally(route::Exchange &x) {
  if (!x.fault)
    policy_->runPhase(x, Phase::Response);
  if (x.fault) {
    std::string where = policy_->describe(*x.fault);
    spdlog::error("request {}: {}; answered 500", x.requestId, where);
    record(x, Error(ErrorKind::PolicyFault, std::move(where)));
    x.answerFault();
  }
  int status = static_cast<int>(x.response.status);
  if (x.request.method != "HEAD" && status >= 200 && status != 204 && status != 304)
    x.responseBytes = static_cast<int64_t>(x.response.body.size());
  return down_.answer(x);
}

void Flow::fail(route::Exchange &x, const Error &error) {
  spdlog::warn("request {}: upstream {} attempt {}: {}: {}", x.requestId, x.upstreamName,
               x.upstreamAttempt, error.name(), error.message);
  record(x, error);
  lastRetry_ = error.retry;
}

void Flow::record(route::Exchange &x, const Error &error) {
  x.errorStatus = error.status();
  x.errorKind = error.name();
  x.errorMessage = error.message;
}

const Fields &Flow::passedTrailers() {
  passedTrailers_.clear();
  for (const auto &field : down_.trailers())
    for (const std::string &name : config_.upstreams.passRequestTrailers)
      if (route::sameFieldName(field.first, name))
        passedTrailers_.push_back(field);
  return passedTrailers_;
}

awaitable<BodyRead> Flow::bufferBody() {
  size_t limit = config_.limits.replayBufferBytes;
  while (!down_.requestComplete() && replay_.bytes.size() < limit) {
    BodyRead read = co_await down_.readBody();
    if (read != BodyRead::Ok)
      co_return read;
    replay_.bytes += down_.bodyPiece();
    down_.bodyPiece().clear();
  }
  co_return BodyRead::Ok;
}

// One coroutine from the request phase to the response's end: each nested one would cost a
// frame per request.
awaitable<void> Flow::run(route::Exchange &x, Routing routing) {
  started_ = Clock::now();
  policy_ = &routing.policy;
  policy_->runPhase(x, Phase::Request);
  if (x.fault || x.decision.kind != route::Decision::Kind::Route) {
    // A fault is answered 500 by answerLocally.
    if (!x.fault && (x.decision.kind == route::Decision::Kind::Respond ||
                     x.decision.kind == route::Decision::Kind::Redirect))
      x.answer(x.decision);
    else if (!x.fault)
      x.response = {404, "no route\n"};
    co_await answerLocally(x);
    co_return;
  }
  uint32_t upstreamIndex = x.decision.upstream;
  const upstream::UpstreamSpec &spec = policy_->upstreams()[upstreamIndex];
  upstream_ = &spec;
  x.upstreamName = spec.name;
  upstream::Balancer &balancer = *routing.balancers[upstreamIndex];
  policy_->balanceKey(x, upstreamIndex, key_);
  std::vector<bool> tried; // sized only when a request goes to a second peer
  // The start of the body is read before any peer is contacted: a malformed or oversized
  // body that shows itself there gets its 4xx and reaches no upstream, and a small body
  // can be sent again to another peer. (finish() emptied the replay buffer.)
  BodyRead body = down_.requestComplete() ? BodyRead::Ok : co_await bufferBody();
  if (body == BodyRead::Gone) {
    record(x, Error(ErrorKind::ClientGone, "the client left during its request body"));
    co_return;
  }
  if (body != BodyRead::Ok) {
    Error error(body == BodyRead::Bad       ? ErrorKind::BadRequestBody
                : body == BodyRead::TooSlow ? ErrorKind::RequestBodyTooSlow
                                            : ErrorKind::RequestBodyTooLarge,
                "");
    const char *why = body == BodyRead::Bad       ? "bad request body\n"
                      : body == BodyRead::TooSlow ? "request body too slow\n"
                                                  : "request body too large\n";
    record(x, error);
    co_await down_.refuse(error.status(), why);
    x.response.status = error.status();
    co_return;
  }
  bool rewritten = false;
  bool errorPhaseRan = false; // on the last failure: it runs once for each

  for (int64_t attempt = 1;; ++attempt) {
    int peer = balancer.pick(key_, tried, Clock::now());
    Attempt result = Attempt::Failed;
    if (peer == upstream::Balancer::kNoPeer) {
      // Every peer was tried: the last one's error stands.
      if (attempt == 1)
        fail(x, Error(ErrorKind::NoPeer,
                      fmt::format("no peer of upstream '{}' can take a request", x.upstreamName)));
      if (errorPhaseRan) {
        // The error phase asked for a retry no peer is left for.
        x.response = {x.errorStatus, defaultBody(x.errorStatus)};
        co_await answerLocally(x);
        co_return;
      }
    } else {
      errorPhaseRan = false;
      x.upstreamPeer = balancer.address(peer);
      if (x.upstreamProtocol.empty()) // ALPN settles `auto` at the connect
        x.upstreamProtocol = protocolOf(spec.connect.protocol);
      x.upstreamAttempt = attempt;
      if (!rewritten) {
        policy_->runPhase(x, Phase::UpstreamRequest);
        rewritten = true;
        if (x.fault) { // nothing of the request goes upstream
          co_await answerLocally(x);
          co_return;
        }
      }
      result = co_await this->attempt(x, balancer, peer);
      // A pooled connection the peer had closed is not the peer's fault: again, for a
      // request that may be sent twice, a few times (each of a pool's connections may be
      // going away). Another (a POST) may have been acted on; it goes again only if the
      // error phase asks (nginx's proxy_next_upstream without non_idempotent). A request the
      // peer refused unprocessed (HTTP/2) goes again whatever its method.
      for (int again = 0; again < kStaleRetries && !replay_.overflowed &&
                          ((result == Attempt::Stale && idempotent(x.upstreamMethod())) ||
                           result == Attempt::Refused);
           ++again)
        result = co_await this->attempt(x, balancer, peer);
      if (result == Attempt::Stale || result == Attempt::Refused)
        fail(x, Error(ErrorKind::UpstreamReset,
                      fmt::format("{} closed the connection", x.upstreamPeer)));
    }
    if (result == Attempt::Done || down_.gone())
      co_return;
    if (peer != upstream::Balancer::kNoPeer) {
      tried.resize(balancer.size());
      tried[peer] = true;
    }
    bool again =
        attempt <= spec.retries && !replay_.overflowed && peer != upstream::Balancer::kNoPeer;
    if (again && lastRetry_ == ErrorRetry::NextPeer)
      continue; // nothing reached the peer: the next one, without asking the policy
    const route::Decision &onError = policy_->runErrorPhase(x);
    errorPhaseRan = true;
    if (x.fault) {
      co_await answerLocally(x);
      co_return;
    }
    if (onError.kind == route::Decision::Kind::Respond ||
        onError.kind == route::Decision::Kind::Redirect) {
      x.answer(onError);
      co_await answerLocally(x);
      co_return;
    }
    bool retry = onError.kind == route::Decision::Kind::Retry ||
                 onError.kind == route::Decision::Kind::Route;
    if (retry && again && lastRetry_ != ErrorRetry::Never)
      continue;
    x.response = {x.errorStatus, defaultBody(x.errorStatus)};
    co_await answerLocally(x);
    co_return;
  }
}

awaitable<Flow::Attempt> Flow::attempt(route::Exchange &x, upstream::Balancer &balancer, int peer) {
  const upstream::PeerSpec &address = balancer.peer(peer);
  bool retryable = down_.requestComplete() && idempotent(x.upstreamMethod());
  std::optional<Error> error;
  const upstream::ConnectSettings &settings = upstream_->connect;
  if (!up_.reuse(x.upstreamPeer, settings, retryable))
    error = co_await up_.connect(x.upstreamPeer, address.host, address.port, settings);
  struct Release { // whatever way the attempt ends, its connection is pooled or closed
    Upstream &up;
    ~Release() { up.release(false); }
  } release{up_};
  if (!error)
    x.upstreamProtocol = up_.protocol();
  if (error) {
    balancer.failed(peer, Clock::now());
    fail(x, *error);
    co_return Attempt::Failed;
  }
  balancer.started(peer);
  struct Finished {
    upstream::Balancer &balancer;
    int peer;
    ~Finished() { balancer.finished(peer); }
  } finished{balancer, peer};

  // The request: its head, then its body, streamed from the client unless a previous
  // attempt already holds all of it.
  BodyShape shape = down_.requestBody();
  bool complete = down_.requestComplete();
  IoStatus status = co_await up_.sendHead(x, shape, replay_.bytes, complete,
                                          complete ? passedTrailers() : kNoFields);
  size_t replayLimit = config_.limits.replayBufferBytes;
  // An upstream may answer before it has read the whole body (a 401, a 413): that answer is
  // the client's, not a 502, whether it comes between two pieces of the body or the
  // upstream stopped reading (a write that fails or times out) once it had answered.
  bool answeredEarly = false;
  while (status == IoStatus::Ok && !down_.requestComplete()) {
    if (up_.answeredEarly(false)) {
      answeredEarly = true;
      break;
    }
    if (BodyRead read = co_await down_.readBody(); read != BodyRead::Ok) {
      // Mid-body, with part of it upstream: no answer can be framed, the connection ends.
      record(x, Error(read == BodyRead::Bad        ? ErrorKind::BadRequestBody
                      : read == BodyRead::TooSlow  ? ErrorKind::RequestBodyTooSlow
                      : read == BodyRead::TooLarge ? ErrorKind::RequestBodyTooLarge
                                                   : ErrorKind::ClientGone,
                      "the request body ended early, part of it upstream"));
      down_.abort();
      co_return Attempt::Done;
    }
    std::string &piece = down_.bodyPiece();
    if (!replay_.overflowed && replay_.bytes.size() + piece.size() <= replayLimit) {
      replay_.bytes += piece;
    } else {
      replay_.overflowed = true;
      replay_.bytes.clear();
    }
    bool last = down_.requestComplete();
    status = co_await up_.sendBody(piece, last, last ? passedTrailers() : kNoFields);
    piece.clear();
  }
  if (status != IoStatus::Ok && !down_.requestComplete() && up_.answeredEarly(true))
    answeredEarly = true;
  if (status != IoStatus::Ok && !answeredEarly) {
    if (status == IoStatus::TimedOut) {
      fail(x,
           Error(ErrorKind::WriteTimeout, fmt::format("writing to {} timed out", x.upstreamPeer)));
      co_return Attempt::Failed;
    }
    if (up_.reused())
      co_return Attempt::Stale;
    fail(x, Error(ErrorKind::UpstreamReset, fmt::format("writing to {} failed", x.upstreamPeer)));
    co_return Attempt::Failed;
  }

  error = co_await up_.readHead(x);
  if (error) {
    if (error->stale)
      co_return error->unprocessed ? Attempt::Refused : Attempt::Stale;
    fail(x, *error);
    co_return Attempt::Failed;
  }
  balancer.succeeded(peer);

  // From here on the response belongs to the client: no retry, no error phase.
  policy_->runPhase(x, Phase::UpstreamResponse);
  x.response.viewUpstream(x.upstreamResponse);
  if (!x.fault)
    policy_->runPhase(x, Phase::Response);
  if (x.fault) {
    // The response is not relayed: its connection closes with this attempt, unread.
    co_await answerLocally(x);
    co_return Attempt::Done;
  }
  if (!down_.requestComplete())
    down_.endAfterThis();

  // The body, as it arrives: memory stays at one read buffer whatever its length.
  BodyShape body = up_.responseBody();
  if (!down_.startResponse(x, body) && body.present) {
    // A body the client will not get: left unread, and its connection closes with the
    // attempt (its bytes must never reach another request).
    co_await down_.sendBody({}, true, kNoFields);
    co_return Attempt::Done;
  }
  for (;;) {
    std::optional<Upstream::Piece> buffered = up_.bufferedBody();
    Upstream::Piece piece = buffered ? *buffered : co_await up_.readBody();
    if (piece.failed) {
      // The upstream failed mid-body: the client cannot be told but by the connection's end.
      record(x, Error(ErrorKind::UpstreamReset,
                      fmt::format("{} failed in the middle of the response body", x.upstreamPeer)));
      down_.abort();
      co_return Attempt::Done;
    }
    x.responseBytes += static_cast<int64_t>(piece.bytes.size());
    if (!co_await down_.sendBody(piece.bytes, piece.last,
                                 piece.last ? up_.trailers() : kNoFields)) {
      record(x, Error(ErrorKind::ClientGone, "the client left during the response"));
      co_return Attempt::Done;
    }
    if (piece.last)
      break;
  }
  // The upstream read a request whose body it did not take whole only if it answered early:
  // what it left unread would be read as the next request.
  up_.release(!answeredEarly);
  co_return Attempt::Done;
}

} // namespace turnout::proxy
