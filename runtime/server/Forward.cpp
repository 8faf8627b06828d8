// The upstream side of a connection: choosing peers, connecting or reusing a pooled
// connection, sending the request (its body streamed, and kept for a retry while it is
// small), reading the response head, and streaming the response body downstream.
#include "server/Connection.h"

#include "http1/Serialize.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace turnout {

using route::schema::Phase;
using Clock = std::chrono::steady_clock;

namespace {

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

} // namespace

// The framed request body bytes sent upstream so far, while they fit the replay buffer:
// a request is retried on another peer only if all of its body can be sent again.
struct Connection::Replay {
  std::string bytes;       // framed; the whole body when `complete`, else its start
  bool complete = false;   // the whole body is in `bytes`
  bool overflowed = false; // part of the body went upstream and is gone
};

awaitable<Connection::BodyRead> Connection::bufferBody(Replay &replay) {
  size_t limit = worker_.config().limits.replayBufferBytes;
  while (request_.hasBody() && !request_.messageComplete() && replay.bytes.size() < limit) {
    BodyRead read = co_await readBody();
    if (read != BodyRead::Ok)
      co_return read;
    frameBody(replay.bytes);
  }
  replay.complete = !request_.hasBody() || request_.messageComplete();
  co_return BodyRead::Ok;
}

void Connection::fail(route::Exchange &x, int64_t status, const char *kind, std::string message) {
  spdlog::warn("request {}: upstream {} attempt {}: {}: {}", x.requestId, x.upstreamName,
               x.upstreamAttempt, kind, message);
  x.errorStatus = status;
  x.errorKind = kind;
  x.errorMessage = std::move(message);
}

awaitable<void> Connection::forward(route::Exchange &x) {
  uint32_t upstream = x.decision.upstream;
  const route::ast::UpstreamDecl &decl = *policy_->program().upstreams[upstream];
  upstream::Balancer &balancer = *version_->balancers[upstream];
  std::string key = policy_->balanceKey(x, upstream);
  std::vector<bool> tried; // sized only when a request goes to a second peer
  x.upstreamName = decl.name;
  Replay replay;
  // The start of the body is read before any peer is contacted: a malformed or oversized
  // body that shows itself there gets its 4xx and reaches no upstream, and a small body
  // can be sent again to another peer.
  replay.complete = !request_.hasBody();
  BodyRead body =
      replay.complete ? BodyRead::Ok : co_await bufferBody(replay); // no frame when bodiless
  if (body == BodyRead::Gone)
    co_return;
  if (body != BodyRead::Ok) {
    int status = body == BodyRead::Bad ? 400 : body == BodyRead::TooSlow ? 408 : 413;
    const char *why = body == BodyRead::Bad       ? "bad request body\n"
                      : body == BodyRead::TooSlow ? "request body too slow\n"
                                                  : "request body too large\n";
    co_await writeClient(http1::localResponse(status, why, true));
    x.response.status = status;
    co_return;
  }
  bool rewritten = false;

  for (int64_t attempt = 1;; ++attempt) {
    int peer = balancer.pick(key, tried, Clock::now());
    Attempt result = Attempt::Failed;
    if (peer == upstream::Balancer::kNoPeer) {
      // Every peer was tried: the last one's error stands.
      if (attempt == 1)
        fail(x, 503, "no_peer",
             fmt::format("no peer of upstream '{}' can take a request", decl.name));
    } else {
      x.upstreamPeer = balancer.address(peer);
      x.upstreamAttempt = attempt;
      if (!rewritten) {
        policy_->runPhase(x, Phase::UpstreamRequest);
        rewritten = true;
        if (x.fault) { // nothing of the request goes upstream
          co_await answerLocally(x);
          co_return;
        }
      }
      result = co_await this->attempt(x, upstream, peer, replay);
      // A pooled connection the peer had closed is not the peer's fault: once more, fresh,
      // for a request that may be sent twice. Another (a POST) may have been acted on; it
      // goes again only if the error phase asks (nginx's proxy_next_upstream without
      // non_idempotent).
      if (result == Attempt::Stale && !replay.overflowed && idempotent(x.upstreamMethod()))
        result = co_await this->attempt(x, upstream, peer, replay);
      if (result == Attempt::Stale)
        fail(x, 502, "upstream_reset", fmt::format("{} closed the connection", x.upstreamPeer));
    }
    if (result == Attempt::Done)
      co_return;
    if (clientGone_)
      co_return;
    if (peer != upstream::Balancer::kNoPeer) {
      tried.resize(balancer.size());
      tried[peer] = true;
    }
    bool again =
        attempt <= decl.config.retries && !replay.overflowed && peer != upstream::Balancer::kNoPeer;
    if (again && (x.errorKind == "connect_failed" || x.errorKind == "connect_timeout"))
      continue; // nothing reached the peer: the next one, without asking the policy
    const route::Decision &onError = policy_->runErrorPhase(x);
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
    if (retry && again)
      continue;
    x.response = {x.errorStatus, defaultBody(x.errorStatus)};
    co_await answerLocally(x);
    co_return;
  }
}

void Connection::upstreamHead(const route::Exchange &x, const std::string &peerName,
                              std::string &out) const {
  std::string_view path = x.upstreamPath(), query = x.upstreamQuery();
  // What the policy adds is a little more, roughly.
  out.reserve(out.size() + path.size() + query.size() +
              http1::fieldsSize(x.request.headers.fields()) + 256);
  http1::appendRequestLine(out, x.upstreamMethod(), path, query);
  bool host = false;
  std::string forwardedFor;
  http1::HopByHop hopByHop(x.request.headers.fields());
  x.forEachUpstreamField([&](std::string_view name, std::string_view value) {
    if (hopByHop(name) || route::sameFieldName(name, "content-length") ||
        route::sameFieldName(name, "expect") || route::sameFieldName(name, "x-forwarded-proto"))
      return;
    if (route::sameFieldName(name, "x-forwarded-for")) {
      forwardedFor.append(value).append(", ");
      return;
    }
    host = host || route::sameFieldName(name, "host");
    http1::appendField(out, name, value);
  });
  if (!host)
    http1::appendField(out, "host", peerName);
  http1::appendField(out, "x-forwarded-for", forwardedFor + x.clientIp);
  http1::appendField(out, "x-forwarded-proto", x.request.scheme);
  if (request_.chunked())
    http1::appendField(out, "transfer-encoding", "chunked");
  else if (request_.hasBody())
    http1::appendField(out, "content-length", std::to_string(request_.contentLength()));
  http1::appendFieldsEnd(out);
}

awaitable<Connection::Attempt> Connection::attempt(route::Exchange &x, uint32_t upstream, int peer,
                                                   Replay &replay) {
  const route::ast::UpstreamConfig &config = policy_->program().upstreams[upstream]->config;
  upstream::Balancer &balancer = *version_->balancers[upstream];
  const upstream::PeerSpec &spec = balancer.peer(peer);
  const std::string &peerName = x.upstreamPeer;
  // Each wait is bounded by its own timeout and by what is left of total_timeout.
  Clock::time_point deadline = config.totalTimeoutNs
                                   ? Clock::now() + std::chrono::nanoseconds(config.totalTimeoutNs)
                                   : Clock::time_point::max();
  auto within = [&](int64_t timeoutNs) {
    Duration own = fromNanoseconds(timeoutNs);
    if (deadline == Clock::time_point::max())
      return own;
    auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    return std::max(Duration(1), std::min(own, left));
  };

  // Pooled connections are keyed by everything that makes one: address and TLS settings.
  std::string identity =
      config.tls ? fmt::format("{} tls {} {}", peerName, config.sni, config.verify) : peerName;
  // The connection and its watchdog are the Connection's, not this frame's: a coroutine
  // frame over 1 KiB is never recycled by Asio, and this one would be.
  upstreamSocket_ =
      worker_.pool().take(identity, request_.messageComplete() && idempotent(x.upstreamMethod()));
  bool reused = upstreamSocket_.has_value();
  if (!reused)
    upstreamSocket_.emplace(worker_.context().get_executor());
  struct Release { // whatever way the attempt ends, its connection is pooled or closed
    std::optional<upstream::Stream> &socket;
    ~Release() { socket.reset(); }
  } release{upstreamSocket_};
  upstream::Stream &socket = *upstreamSocket_;
  Watchdog &dog = upstreamDog_;
  if (!reused) {
    error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(spec.host, ec), spec.port);
    if (ec) {
      fail(x, 502, "connect_failed", fmt::format("{}: not an IP address", spec.host));
      co_return Attempt::Failed;
    }
    dog.arm(socket, within(config.connectTimeoutNs));
    auto [connectError] =
        co_await socket.lowest().async_connect(endpoint, asio::as_tuple(use_awaitable));
    if (!connectError && config.tls) {
      // The handshake counts against the connect timeout, as nginx's proxy_connect_timeout.
      socket.lowest().set_option(tcp::no_delay(true), ec);
      socket.startTls(worker_.tls().get(config.verify), config.sni.empty() ? spec.host : config.sni,
                      config.verify);
      connectError = co_await socket.handshake();
      if (connectError && !dog.fired()) {
        dog.disarm();
        balancer.failed(peer, Clock::now());
        fail(x, 502, "connect_failed",
             fmt::format("TLS with {}: {}", peerName, connectError.message()));
        co_return Attempt::Failed;
      }
    }
    dog.disarm();
    if (connectError) {
      balancer.failed(peer, Clock::now());
      if (dog.fired())
        fail(x, 504, "connect_timeout", fmt::format("connecting to {} timed out", peerName));
      else
        fail(x, 502, "connect_failed",
             fmt::format("connecting to {}: {}", peerName, connectError.message()));
      co_return Attempt::Failed;
    }
    socket.lowest().set_option(tcp::no_delay(true), ec);
  }
  balancer.started(peer);
  struct Finished {
    upstream::Balancer &balancer;
    int peer;
    ~Finished() { balancer.finished(peer); }
  } finished{balancer, peer};

  // The request: its head, then its body, streamed from the client unless a previous
  // attempt already holds all of it.
  std::string &out = upstreamOut_;
  out.clear();
  upstreamHead(x, peerName, out);
  IoStatus status = replay.bytes.empty()
                        ? co_await writeAll(socket, out, dog, within(config.writeTimeoutNs))
                        : co_await writeAll(socket, gather(out, replay.bytes), dog,
                                            within(config.writeTimeoutNs));
  size_t replayLimit = worker_.config().limits.replayBufferBytes;
  // An upstream may answer before it has read the whole body (a 401, a 413): that answer is
  // the client's, not a 502, whether it comes between two pieces of the body or the
  // upstream stopped reading (a write that fails or times out) once it had answered.
  // Between pieces only over plain TCP: over TLS, bytes that wait may be the server's
  // session tickets, not an answer.
  // (Few locals here: this frame must stay under the 1 KiB that Asio recycles.)
  bool answeredEarly = false;
  while (status == IoStatus::Ok && !request_.messageComplete()) {
    if (!socket.tls() && pending(socket.lowest().native_handle()) == Pending::Bytes) {
      answeredEarly = true;
      break;
    }
    if (co_await readBody() != BodyRead::Ok) {
      // Mid-body, with part of it upstream: no answer can be framed, the connection ends.
      clientGone_ = true;
      keepAlive_ = false;
      co_return Attempt::Done;
    }
    out.clear();
    frameBody(out);
    if (!replay.overflowed && replay.bytes.size() + out.size() <= replayLimit) {
      replay.bytes += out;
    } else {
      replay.overflowed = true;
      replay.bytes.clear();
    }
    status = co_await writeAll(socket, out, dog, within(config.writeTimeoutNs));
  }
  replay.complete = !replay.overflowed;
  if (status != IoStatus::Ok && !request_.messageComplete() &&
      pending(socket.lowest().native_handle()) == Pending::Bytes)
    answeredEarly = true;
  if (status != IoStatus::Ok && !answeredEarly) {
    if (status == IoStatus::TimedOut) {
      fail(x, 504, "write_timeout", fmt::format("writing to {} timed out", peerName));
      co_return Attempt::Failed;
    }
    if (reused)
      co_return Attempt::Stale;
    fail(x, 502, "upstream_reset", fmt::format("writing to {} failed", peerName));
    co_return Attempt::Failed;
  }

  // The response head; interim 1xx responses are read and dropped.
  http1::Parser &response = upstreamParser_;
  response.reset();
  // What frames the upstream's answer is the method that went upstream.
  if (x.upstreamMethod() == "HEAD")
    response.expectNoBody();
  InputBuffer &in = upstreamIn_;
  in.clear();
  while (!response.headComplete() || (response.head().status < 200 && response.messageComplete())) {
    if (response.headComplete() && response.head().status == 101) {
      // What follows is not HTTP, and this proxy opens no tunnel: the connection is closed.
      fail(x, 502, "bad_response",
           fmt::format("{} switched protocols, which this proxy does not do", peerName));
      co_return Attempt::Failed;
    }
    if (response.headComplete()) { // an interim response, complete: the next message
      response.next();
      if (x.upstreamMethod() == "HEAD")
        response.expectNoBody();
      continue;
    }
    if (in.empty()) {
      Duration timeout = within(config.readTimeoutNs);
      IoStatus read = co_await readSome(socket, in, dog, timeout);
      if (read == IoStatus::TimedOut) {
        fail(x, 504, "read_timeout",
             fmt::format("{} sent no response in {} ms", peerName, timeout.count()));
        co_return Attempt::Failed;
      }
      if (read != IoStatus::Ok) {
        if (reused && !response.started())
          co_return Attempt::Stale;
        fail(x, 502, "upstream_reset",
             fmt::format("{} closed the connection before a response", peerName));
        co_return Attempt::Failed;
      }
    }
    in.consume(response.feed(in.data(), in.size()));
    if (response.failed()) {
      fail(x, 502, "bad_response",
           fmt::format("{} sent a bad response: {}", peerName, response.errorReason()));
      co_return Attempt::Failed;
    }
  }
  balancer.succeeded(peer);

  // From here on the response belongs to the client: no retry, no error phase.
  x.upstreamResponse.status = response.head().status;
  x.upstreamResponse.headers = route::HeaderList(std::move(response.head().fields));
  policy_->runPhase(x, Phase::UpstreamResponse);
  x.response.viewUpstream(x.upstreamResponse);
  if (!x.fault)
    policy_->runPhase(x, Phase::Response);
  if (x.fault) {
    // The response is not relayed: its connection closes with this attempt, unread.
    co_await answerLocally(x);
    co_return Attempt::Done;
  }

  if (request_.hasBody() && !request_.messageComplete())
    keepAlive_ = false;
  // The response downstream is framed by what is sent: the status going down and the
  // client's own method (RFC 9110 6.4.1), whatever the policy rewrote upstream. A HEAD,
  // 204 or 304 answer carries no body; a body the upstream sends with one is not relayed.
  // An answer that must carry one while the upstream's has none (a GET sent upstream as
  // HEAD, a 304 the policy made a 200) carries an empty one.
  int code = static_cast<int>(x.response.status);
  enum class Framing { None, Length, Chunked, Close } framing;
  if (request_.head().method == "HEAD" || code == 204 || code == 304)
    framing = Framing::None;
  else if (!response.hasBody() || response.hasContentLength())
    framing = Framing::Length;
  else if (request_.head().versionMinor >= 1)
    framing = Framing::Chunked;
  else
    framing = Framing::Close;
  if (framing == Framing::Close)
    keepAlive_ = false;

  out.clear();
  out.reserve(http1::fieldsSize(x.upstreamResponse.headers.fields()) +
              256); // what the policy adds, roughly
  http1::appendStatusLine(out, code);
  http1::HopByHop hopByHop(x.upstreamResponse.headers.fields());
  x.response.forEachField([&](std::string_view name, std::string_view value) {
    if (!hopByHop(name) && !route::sameFieldName(name, "content-length"))
      http1::appendField(out, name, value);
  });
  if (framing == Framing::Length)
    http1::appendField(out, "content-length",
                       std::to_string(response.hasBody() ? response.contentLength() : 0));
  else if (code != 204 && response.hasContentLength()) // HEAD and 304: the length a GET would get
    http1::appendField(out, "content-length", std::to_string(response.contentLength()));
  if (framing == Framing::Chunked)
    http1::appendField(out, "transfer-encoding", "chunked");
  if (!keepAlive_)
    http1::appendField(out, "connection", "close");
  else if (request_.head().versionMinor == 0)
    http1::appendField(out, "connection", "keep-alive");
  http1::appendFieldsEnd(out);

  // The body, as it arrives: memory stays at one read buffer whatever its length. A body
  // of known length goes from the read buffer to the client as it is, without passing
  // through the parser (which has nothing to check in it) or a copy.
  bool upstreamDone = !response.hasBody() || response.messageComplete();
  if (framing == Framing::None && !upstreamDone) {
    // A body the client will not get: left unread, and its connection closes with the
    // attempt (its bytes must never reach another request).
    co_await writeClient(out);
    co_return Attempt::Done;
  }
  bool streamed = !upstreamDone && framing == Framing::Length;
  if (streamed) {
    uint64_t remaining = response.contentLength();
    while (remaining > 0) {
      if (in.empty()) {
        IoStatus read = co_await readSome(socket, in, dog, within(config.readTimeoutNs));
        if (read != IoStatus::Ok)
          break;
      }
      size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), remaining));
      // The head goes with the body's first bytes.
      bool written = co_await writeClient(out, std::string_view(in.data(), n));
      out.clear();
      if (!written)
        co_return Attempt::Done;
      in.consume(n);
      remaining -= n;
      x.responseBytes += static_cast<int64_t>(n);
    }
    upstreamDone = remaining == 0;
  }
  while (!streamed) {
    if (!upstreamDone) {
      in.consume(response.feed(in.data(), in.size()));
      if (response.failed())
        break;
    }
    std::string &piece = response.body();
    x.responseBytes += static_cast<int64_t>(piece.size());
    upstreamDone = upstreamDone || response.messageComplete();
    if (framing == Framing::Chunked) {
      http1::appendChunk(out, piece);
      if (upstreamDone)
        http1::appendLastChunk(out, response.trailers());
      if (!co_await writeClient(out))
        co_return Attempt::Done;
    } else if (!co_await writeClient(out, piece)) { // the head, if not sent yet, then the piece
      co_return Attempt::Done;
    }
    out.clear();
    piece.clear();
    if (upstreamDone)
      break;
    if (in.empty()) {
      IoStatus read = co_await readSome(socket, in, dog, within(config.readTimeoutNs));
      if (read == IoStatus::Closed) {
        response.finish();
        upstreamDone = response.messageComplete();
        if (!upstreamDone)
          break;
        continue;
      }
      if (read != IoStatus::Ok)
        break;
    }
  }
  if (!upstreamDone) {
    // The upstream failed mid-body: the client cannot be told but by the connection's end.
    keepAlive_ = false;
    clientGone_ = true;
    co_return Attempt::Done;
  }
  // The upstream read a request whose body it did not take whole only if it answered early:
  // what it left unread would be read as the next request.
  if (!answeredEarly && response.keepAlive() && in.empty() && !response.bodyUntilClose())
    worker_.pool().put(identity, std::move(socket), fromNanoseconds(config.idleTimeoutNs));
  co_return Attempt::Done;
}

} // namespace turnout
