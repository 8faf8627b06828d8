#include "proxy/Flow.h"

#include "exchange/TraceContext.h"
#include "metrics/WorkerMetrics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

namespace turnout::proxy {

using route::schema::Phase;
using Clock = std::chrono::steady_clock;

namespace {

const Fields kNoFields;
// Attempts more on the same peer after a stale connection, and after a refused stream (the
// peer acted on nothing: a busy peer sending GOAWAY after every few streams refuses the
// same request several times over).
constexpr int kStaleRetries = 3;
constexpr int kRefusedRetries = 10;

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
  if (x.grpc != route::grpc::Wire::None)
    answerAsCall(x);
  int status = static_cast<int>(x.response.status);
  if (x.request.method != "HEAD" && status >= 200 && status != 204 && status != 304)
    x.responseBytes = static_cast<int64_t>(x.response.body.size());
  return down_.answer(x);
}

void Flow::fail(route::Exchange &x, const Error &error) {
  spdlog::warn("request {}: upstream {} attempt {}: {}: {}", x.requestId, x.upstreamName,
               x.upstreamAttempt, error.name(), error.message);
  if (error.side() == ErrorSide::Upstream && attemptBalancer_) {
    ++attemptCounters_->failures;
    if (error.kind == ErrorKind::ConnectTimeout || error.kind == ErrorKind::ReadTimeout ||
        error.kind == ErrorKind::WriteTimeout)
      ++attemptCounters_->timeouts;
    peerFailed(x);
  }
  record(x, error);
  lastRetry_ = error.retry;
}

void Flow::peerFailed(const route::Exchange &x) {
  upstream::PeerStates *states = attemptBalancer_->shared();
  if (!states || !states->attemptFailed(static_cast<size_t>(attemptPeer_), Clock::now()))
    return;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      states->ejectedUntil(static_cast<size_t>(attemptPeer_)) - Clock::now());
  spdlog::warn("upstream {} peer {} ejected for {:.1f} s after {} failures in a row",
               x.upstreamName, x.upstreamPeer, static_cast<double>(left.count()) / 1000,
               states->outlier().failures);
}

void Flow::startTrace(route::Exchange &x, std::optional<std::string_view> incoming) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  if (config_.tracing.seed)
    random.seed(config_.tracing.seed);
  std::optional<route::trace::TraceParent> parent;
  if (incoming)
    parent = route::trace::parseTraceParent(*incoming);
  route::trace::TraceParent ours =
      route::trace::continueOrStart(parent, config_.tracing.sampleRatio, random);
  traceContinued_ = parent.has_value();
  x.traceId = route::trace::hex(ours.traceId.data(), ours.traceId.size());
  traceParent_ = route::trace::formatTraceParent(ours);
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

awaitable<BodyRead> Flow::bufferBody(bool streaming) {
  size_t limit = config_.limits.replayBufferBytes;
  while (!down_.requestComplete() && replay_.bytes.size() < limit &&
         (!streaming || down_.bodyReady())) {
    BodyRead read = co_await readPiece();
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
  callDeadline_.reset();
  // One pass over the request's fields for what the flow reads of them itself.
  const bool tracing = config_.tracing.enabled;
  std::optional<std::string_view> contentType, grpcTimeout, traceParent;
  int traceParents = 0;
  for (const auto &[name, value] : x.request.headers.fields()) {
    if (!contentType && route::sameFieldName(name, "content-type"))
      contentType = value;
    else if (!grpcTimeout && route::sameFieldName(name, "grpc-timeout"))
      grpcTimeout = value;
    else if (tracing && route::sameFieldName(name, "traceparent") && traceParents++ == 0)
      traceParent = value;
  }
  if (contentType)
    x.grpc = route::grpc::wireOf(*contentType);
  if (tracing)
    startTrace(x, traceParents == 1 ? traceParent : std::nullopt); // two: neither is valid
  if (x.grpc != route::grpc::Wire::None && grpcTimeout)
    if (auto timeout = route::grpc::parseTimeout(*grpcTimeout))
      callDeadline_ = started_ + std::chrono::duration_cast<Clock::duration>(*timeout);
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
  // can be sent again to another peer. (finish() emptied the replay buffer.) A stream that
  // may run full duplex (to an HTTP/2 peer) goes with what is here: its client may wait for
  // the peer to speak first.
  bool streaming =
      down_.duplex() && spec.connect.protocol != upstream::ConnectSettings::Protocol::Http1;
  // gRPC-Web to an HTTP/2 upstream is translated; to an HTTP/1.1 one it goes as it is (a
  // gRPC-Web server of its own).
  web_.reset();
  if ((x.grpc == route::grpc::Wire::Web || x.grpc == route::grpc::Wire::WebText) &&
      spec.connect.protocol != upstream::ConnectSettings::Protocol::Http1)
    web_.emplace(x.grpc);
  BodyRead body = down_.requestComplete() ? BodyRead::Ok : co_await bufferBody(streaming);
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
    if (x.grpc != route::grpc::Wire::None) {
      x.response = {error.status(), why};
      answerAsCall(x);
      co_await down_.answer(x);
      co_return;
    }
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
      if (attempt > 1)
        ++metrics::local().peer(x.upstreamName, x.upstreamPeer).retries;
      if (x.upstreamProtocol.empty()) // ALPN settles `auto` at the connect
        x.upstreamProtocol = protocolOf(spec.connect.protocol);
      x.upstreamAttempt = attempt;
      if (!rewritten) {
        if (!traceParent_.empty()) {
          route::EditedHeaders &fields = x.changeUpstreamHeaders();
          fields.set("traceparent", traceParent_);
          if (!traceContinued_) // tracestate belongs to the traceparent it came with
            fields.remove("tracestate");
        }
        policy_->runPhase(x, Phase::UpstreamRequest);
        rewritten = true;
        if (web_) { // the call goes upstream as gRPC
          route::EditedHeaders &fields = x.changeUpstreamHeaders();
          fields.set("content-type", "application/grpc");
          fields.remove("content-length");
        }
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
      for (int stale = 0, refused = 0;
           !replay_.overflowed && ((result == Attempt::Stale && idempotent(x.upstreamMethod()) &&
                                    stale++ < kStaleRetries) ||
                                   (result == Attempt::Refused && refused++ < kRefusedRetries));)
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
  attemptBalancer_ = nullptr; // until it reaches for a connection: a call past its deadline
  bool retryable = down_.requestComplete() && idempotent(x.upstreamMethod());
  std::optional<Error> error;
  const upstream::ConnectSettings *bounded = &upstream_->connect;
  if (callDeadline_) {
    // A gRPC call's grpc-timeout bounds the attempt, as total_timeout does.
    auto left = std::chrono::duration_cast<Duration>(*callDeadline_ - Clock::now());
    if (left <= Duration(0)) {
      fail(x, Error(ErrorKind::ReadTimeout, "the call's grpc-timeout passed"));
      co_return Attempt::Failed;
    }
    boundedSettings_ = upstream_->connect;
    Duration &total = boundedSettings_.totalTimeout;
    total = total.count() ? std::min(total, left) : left;
    bounded = &boundedSettings_;
  }
  if (!x.tunnel.empty() && bounded->protocol == upstream::ConnectSettings::Protocol::Auto) {
    // A tunnel is an HTTP/1.1 upgrade: `auto` asks the peer for HTTP/1.1 alone.
    if (bounded != &boundedSettings_)
      boundedSettings_ = *bounded;
    boundedSettings_.protocol = upstream::ConnectSettings::Protocol::Http1;
    bounded = &boundedSettings_;
  }
  const upstream::ConnectSettings &settings = *bounded;
  attemptBalancer_ = &balancer;
  attemptPeer_ = peer;
  metrics::UpstreamCounters &upstreamCounted = metrics::local().upstreams[x.upstreamName];
  metrics::PeerCounters &counted = upstreamCounted.peers[x.upstreamPeer];
  attemptCounters_ = &counted;
  if (up_.reuse(x.upstreamPeer, settings, retryable)) {
    ++counted.reuses;
  } else {
    error = co_await up_.connect(x.upstreamPeer, address.host, address.port, settings);
    ++(error ? counted.connectFailures : counted.connects);
  }
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
  if (web_ && web_->text())
    shape.length.reset(); // decoded, it is shorter
  bool complete = down_.requestComplete();
  const Clock::time_point sent = Clock::now();
  IoStatus status = co_await up_.sendHead(x, shape, replay_.bytes, complete,
                                          complete ? passedTrailers() : kNoFields);
  // Full duplex (HTTP/2 both ways: a gRPC stream), the body goes on beside the response,
  // each side at its own pace. Half duplex (HTTP/1), it goes first; an upstream may answer
  // before it has read the whole body (a 401, a 413): that answer is the client's, not a
  // 502, whether it comes between two pieces of the body or the upstream stopped reading
  // (a write that fails or times out) once it had answered.
  std::optional<Pump> pumping; // its timer made only when it runs
  bool answeredEarly = false;
  if (status == IoStatus::Ok && !down_.requestComplete() && down_.duplex() && up_.duplex()) {
    Executor executor = co_await asio::this_coro::executor;
    startPump(x, pumping.emplace(executor));
  } else if (status == IoStatus::Ok && !down_.requestComplete()) {
    Forwarded forwarded = co_await forwardBody(x, false);
    if (forwarded.clientError) {
      // Mid-body, with part of it upstream: no answer can be framed, the connection ends.
      record(x, *forwarded.clientError);
      down_.abort();
      co_return Attempt::Done;
    }
    status = forwarded.status;
    answeredEarly = forwarded.answeredEarly;
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
  if (error && pumping) {
    // What the client sent meanwhile is in the replay buffer, as it would be half duplex.
    co_await stopPump(*pumping, false);
    if (pumping->result.clientError) {
      record(x, *pumping->result.clientError);
      down_.abort();
      co_return Attempt::Done;
    }
  }
  if (error) {
    if (down_.gone()) {
      record(x, Error(ErrorKind::ClientGone, "the client left before the response"));
      co_return Attempt::Done;
    }
    if (error->stale)
      co_return error->unprocessed ? Attempt::Refused : Attempt::Stale;
    fail(x, *error);
    co_return Attempt::Failed;
  }
  balancer.succeeded(peer);
  if (upstream::PeerStates *states = balancer.shared()) {
    if (states->outlier().count5xx && x.upstreamResponse.status >= 500)
      peerFailed(x);
    else
      states->attemptSucceeded(static_cast<size_t>(peer));
  }
  x.upstreamFirstByteNs =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sent).count();
  upstreamCounted.firstByte.observe(static_cast<double>(x.upstreamFirstByteNs) / 1e9);

  // From here on the response belongs to the client: no retry, no error phase.
  policy_->runPhase(x, Phase::UpstreamResponse);
  x.response.viewUpstream(x.upstreamResponse);
  if (!x.fault)
    policy_->runPhase(x, Phase::Response);
  if (x.fault) {
    // The response is not relayed: its connection closes with this attempt, unread.
    if (pumping)
      co_await stopPump(*pumping, true);
    co_await answerLocally(x);
    co_return Attempt::Done;
  }
  if (up_.switched())
    co_return co_await tunnel(x);
  if (!down_.requestComplete() && !pumping)
    down_.endAfterThis();
  bool relayed = co_await relay(x);
  if (pumping)
    co_await stopPump(*pumping, true);
  if (!relayed) {
    // The client's own failure mid-body (too slow, too large) is what ended it.
    if (pumping && pumping->result.clientError &&
        pumping->result.clientError->kind != ErrorKind::ClientGone)
      record(x, *pumping->result.clientError);
    co_return Attempt::Done;
  }
  // The upstream read a request whose body it did not take whole only if it answered early:
  // what it left unread would be read as the next request.
  up_.release(!answeredEarly);
  co_return Attempt::Done;
}

// The response body, as it arrives: memory stays at one read buffer whatever its length.
// False when it could not be relayed whole (recorded; the client told by the end).
awaitable<bool> Flow::relay(route::Exchange &x) {
  BodyShape body = up_.responseBody();
  std::string upstreamType =
      web_ ? route::joinedValue(x.upstreamResponse.headers.fields(), "content-type") : "";
  if (web_ && route::grpc::wireOf(upstreamType) != route::grpc::Wire::Grpc)
    web_.reset(); // not a gRPC answer (an HTTP error page): it goes as it is
  if (web_) {
    x.response.changeHeaders().set("content-type", web_->responseType(upstreamType));
    body.length.reset(); // the trailers' frame follows, and -text is longer
  }
  if (!down_.startResponse(x, body) && body.present) {
    // A body the client will not get: left unread, and its connection closes with the
    // attempt (its bytes must never reach another request).
    co_await down_.sendBody({}, true, kNoFields);
    co_return false;
  }
  for (;;) {
    std::optional<Upstream::Piece> buffered = up_.bufferedBody();
    Upstream::Piece piece = buffered ? *buffered : co_await up_.readBody();
    if (piece.failed) {
      // The upstream failed mid-body: the client cannot be told but by the connection's end.
      record(x, Error(ErrorKind::UpstreamReset,
                      fmt::format("{} failed in the middle of the response body", x.upstreamPeer)));
      down_.abort();
      co_return false;
    }
    std::string_view bytes = piece.bytes;
    const Fields *trailers = piece.last ? &up_.trailers() : &kNoFields;
    if (web_ && (web_->text() || piece.last)) {
      webOut_.clear();
      web_->encodeResponse(piece.bytes, piece.last, *trailers, webOut_);
      bytes = webOut_;
      trailers = &kNoFields; // in the body now
    }
    x.responseBytes += static_cast<int64_t>(bytes.size());
    if (!co_await down_.sendBody(bytes, piece.last, *trailers)) {
      record(x, Error(ErrorKind::ClientGone, "the client left during the response"));
      co_return false;
    }
    if (piece.last) {
      if (x.grpc != route::grpc::Wire::None) {
        x.grpcStatus = grpcStatusIn(up_.trailers());
        if (x.grpcStatus < 0) // a trailers-only response
          x.grpcStatus = grpcStatusIn(x.upstreamResponse.headers.fields());
      }
      co_return true;
    }
  }
}

// The peer switched protocols: the client's bytes go up in the pump, the peer's come down
// here, until both sides have ended or nothing went either way for tunnel_idle_timeout.
// A tunnel is past the policy: hot loads leave it be.
awaitable<Flow::Attempt> Flow::tunnel(route::Exchange &x) {
  if (x.response.status != 101) {
    // The response phase made the switch something else: the peer's bytes that follow are
    // not that, and go nowhere.
    x.response = {502, defaultBody(502)};
    co_await answerLocally(x);
    co_return Attempt::Done;
  }
  if (!co_await down_.startTunnel(x)) {
    record(x, Error(ErrorKind::ClientGone, "the client left before its tunnel opened"));
    co_return Attempt::Done;
  }
  Duration idle = config_.timeouts.tunnelIdleTimeout;
  up_.startTunnel(idle);
  replay_.overflowed = true; // the tunnel's bytes are never sent again
  replay_.bytes.clear();
  tunnelActive_ = Clock::now();
  Executor executor = co_await asio::this_coro::executor;
  Pump pumping(executor);
  startPump(x, pumping);
  for (;;) {
    std::optional<Upstream::Piece> buffered = up_.bufferedBody();
    Upstream::Piece piece = buffered ? *buffered : co_await up_.readBody();
    if (piece.idle) {
      if (Clock::now() - tunnelActive_ < idle)
        continue; // the client's side was busy
      spdlog::info("request {}: the tunnel to {} was idle for {} ms; closed", x.requestId,
                   x.upstreamPeer, idle.count());
      down_.abort();
      break;
    }
    if (piece.failed) {
      record(x, Error(ErrorKind::UpstreamReset,
                      fmt::format("{} broke the tunnel off", x.upstreamPeer)));
      down_.abort();
      break;
    }
    tunnelActive_ = Clock::now();
    x.responseBytes += static_cast<int64_t>(piece.bytes.size());
    if (!co_await down_.sendBody(piece.bytes, piece.last, kNoFields)) {
      record(x, Error(ErrorKind::ClientGone, "the client left the tunnel"));
      break;
    }
    if (piece.last)
      break;
  }
  co_await stopPump(pumping, true);
  co_return Attempt::Done;
}

awaitable<Flow::Forwarded> Flow::forwardBody(route::Exchange &x, bool duplex) {
  Forwarded out;
  size_t replayLimit = config_.limits.replayBufferBytes;
  // Until the body's end has gone: an HTTP/2 client's END_STREAM can come after the last
  // piece was taken, which then goes as an empty one.
  bool ended = false;
  while (out.status == IoStatus::Ok && !ended) {
    if (!duplex && up_.answeredEarly(false)) {
      out.answeredEarly = true;
      break;
    }
    BodyRead read = co_await readPiece();
    if (read == BodyRead::Interrupted)
      break;
    if (read != BodyRead::Ok) {
      out.clientError = Error(read == BodyRead::Bad        ? ErrorKind::BadRequestBody
                              : read == BodyRead::TooSlow  ? ErrorKind::RequestBodyTooSlow
                              : read == BodyRead::TooLarge ? ErrorKind::RequestBodyTooLarge
                                                           : ErrorKind::ClientGone,
                              "the request body ended early, part of it upstream");
      break;
    }
    std::string &piece = down_.bodyPiece();
    if (duplex)
      tunnelActive_ = Clock::now();
    if (!replay_.overflowed && replay_.bytes.size() + piece.size() <= replayLimit) {
      replay_.bytes += piece;
    } else {
      replay_.overflowed = true;
      replay_.bytes.clear();
    }
    bool last = down_.requestComplete();
    out.status = co_await up_.sendBody(piece, last, last ? passedTrailers() : kNoFields);
    piece.clear();
    ended = last;
  }
  co_return out;
}

awaitable<BodyRead> Flow::readPiece() {
  BodyRead read = co_await down_.readBody();
  if (read == BodyRead::Ok && web_ &&
      !web_->decodeRequest(down_.bodyPiece(), down_.requestComplete()))
    co_return BodyRead::Bad;
  co_return read;
}

awaitable<void> Flow::pump(route::Exchange &x, Pump &pump) {
  pump.result = co_await forwardBody(x, true);
  // The client broke off: the peer is told, and the response side learns it at once.
  if (pump.result.clientError)
    up_.cancel();
}

void Flow::startPump(route::Exchange &x, Pump &pump) {
  pump.running = true;
  asio::co_spawn(pump.done.executor(), this->pump(x, pump), [&pump](std::exception_ptr) {
    pump.running = false;
    pump.done.notify();
  });
}

awaitable<void> Flow::stopPump(Pump &pump, bool cancel) {
  if (!pump.running)
    co_return;
  down_.interruptRead();
  if (cancel)
    up_.cancel();
  while (pump.running)
    co_await pump.done.wait(std::chrono::hours(1));
}

} // namespace turnout::proxy
