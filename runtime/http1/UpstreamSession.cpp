#include "http1/UpstreamSession.h"

#include "http1/Serialize.h"
#include "metrics/WorkerMetrics.h"

#include <fmt/format.h>

namespace turnout::http1 {

using proxy::Error;
using proxy::ErrorKind;

namespace {

// The output buffer kept between requests, at most: a small head's worth.
constexpr size_t kKeptOutputBytes = 4096;

} // namespace

bool UpstreamSession::reuse(const std::string &peer, const upstream::ConnectSettings &settings,
                            bool retryable) {
  settings_ = &settings;
  // Each wait is bounded by its own timeout and by what is left of total_timeout.
  deadline_.start(settings);
  // Pooled connections are keyed by everything that makes one: address and TLS settings.
  identity_ = settings.tls ? fmt::format("{} tls {} {} {} {}", peer, settings.sni, settings.verify,
                                         settings.ca, settings.clientCert)
                           : peer;
  socket_ = pool_.take(identity_, retryable);
  reused_ = socket_.has_value();
  if (reused_)
    hold();
  in_.clear();
  return reused_;
}

void UpstreamSession::adopt(upstream::Stream stream) {
  socket_.emplace(std::move(stream));
  reused_ = false;
  ++metrics::local().opened[static_cast<size_t>(metrics::Side::Upstream)]
                           [static_cast<size_t>(metrics::Protocol::Http1)];
  hold();
}

void UpstreamSession::hold() {
  if (!holding_)
    ++metrics::local().open[static_cast<size_t>(metrics::Side::Upstream)]
                           [static_cast<size_t>(metrics::Protocol::Http1)];
  holding_ = true;
}

awaitable<std::optional<Error>>
UpstreamSession::connect(const std::string &peer, const std::string &host, uint16_t port,
                         const upstream::ConnectSettings &settings) {
  socket_.emplace(TcpSocket(context_.get_executor()));
  std::string why;
  IoStatus status =
      co_await upstream::connect(*socket_, host, port, settings, tls_, &identity_, buffers_, dog_,
                                 deadline_.within(settings.connectTimeout), why);
  if (status == IoStatus::TimedOut)
    co_return Error(ErrorKind::ConnectTimeout, fmt::format("connecting to {} timed out", peer));
  if (status != IoStatus::Ok)
    co_return Error(ErrorKind::ConnectFailed, fmt::format("connecting to {}: {}", peer, why));
  ++metrics::local().opened[static_cast<size_t>(metrics::Side::Upstream)]
                           [static_cast<size_t>(metrics::Protocol::Http1)];
  hold();
  co_return std::nullopt;
}

void UpstreamSession::frame(std::string_view piece, bool last, const Fields &trailers) {
  appendChunk(out_, piece);
  if (last)
    appendLastChunk(out_, trailers);
}

awaitable<IoStatus> UpstreamSession::sendHead(const route::Exchange &x,
                                              const proxy::BodyShape &shape, std::string_view body,
                                              bool complete, const Fields &trailers) {
  std::string &out = out_;
  out.clear();
  std::string_view path = x.upstreamPath(), query = x.upstreamQuery();
  // What the policy adds is a little more, roughly.
  out.reserve(path.size() + query.size() + fieldsSize(x.request.headers.fields()) + 256);
  appendRequestLine(out, x.upstreamMethod(), path, query);
  forEachForwardedField(
      x, [&](std::string_view name, std::string_view value) { appendField(out, name, value); });
  if (!x.tunnel.empty()) { // the upgrade the proxy honours, its hop-by-hop fields made anew
    appendField(out, "connection", "upgrade");
    appendField(out, "upgrade", x.tunnel);
  }
  chunked_ = shape.present && !shape.length;
  if (chunked_)
    appendField(out, "transfer-encoding", "chunked");
  else if (shape.present)
    appendField(out, "content-length", std::to_string(*shape.length));
  appendFieldsEnd(out);
  if (chunked_ && (!body.empty() || complete))
    frame(body, complete, trailers);
  else if (!body.empty())
    return writeAll(*socket_, gather(out, body), dog_, deadline_.within(settings_->writeTimeout));
  return writeAll(*socket_, std::string_view(out), dog_, deadline_.within(settings_->writeTimeout));
}

awaitable<IoStatus> UpstreamSession::sendBody(std::string_view piece, bool last,
                                              const Fields &trailers) {
  if (tunnel_) {
    IoStatus status = IoStatus::Ok;
    if (!piece.empty()) // not in a conditional expression: GCC 12 miscompiles that
      status = co_await tunnel_->write(piece, tunnelIdle_);
    if (status == IoStatus::Ok && last)
      socket_->shutdownSend(); // the client's half close, passed on
    co_return status;
  }
  if (chunked_) {
    out_.clear();
    frame(piece, last, trailers);
    piece = out_;
  }
  co_return co_await writeAll(*socket_, piece, dog_, deadline_.within(settings_->writeTimeout));
}

// Between pieces of the body only over plain TCP: over TLS, bytes that wait may be the
// server's session tickets, not an answer; after a write that failed, they are the answer.
bool UpstreamSession::answeredEarly(bool afterFailedWrite) {
  return socket_ && (!socket_->tls() || afterFailedWrite) &&
         pending(socket_->lowest().native_handle()) == Pending::Bytes;
}

awaitable<std::optional<Error>> UpstreamSession::readHead(route::Exchange &x) {
  const std::string &peer = x.upstreamPeer;
  // The response head; interim 1xx responses are read and dropped.
  Parser &response = response_;
  response.reset();
  // What frames the upstream's answer is the method that went upstream.
  bool head = x.upstreamMethod() == "HEAD";
  if (head)
    response.expectNoBody();
  while (!response.headComplete() ||
         (response.head().status < 200 &&
          (response.messageComplete() || response.head().status == 101))) {
    if (response.headComplete() && response.head().status == 101) {
      // What follows is not HTTP: a tunnel, if the request asked for this one; else the
      // connection is closed.
      if (x.tunnel.empty() ||
          !route::sameFieldName(route::joinedValue(response.head().fields, "upgrade"), x.tunnel))
        co_return Error(ErrorKind::BadResponse,
                        fmt::format("{} switched protocols to '{}', which the request did not "
                                    "ask for",
                                    peer, route::joinedValue(response.head().fields, "upgrade")));
      switched_ = true;
      break;
    }
    if (response.headComplete()) { // an interim response, complete: the next message
      response.next();
      if (head)
        response.expectNoBody();
      continue;
    }
    if (in_.empty()) {
      Duration timeout = deadline_.within(settings_->readTimeout);
      IoStatus read = co_await readSome(*socket_, in_, dog_, timeout);
      if (read == IoStatus::TimedOut)
        co_return Error(ErrorKind::ReadTimeout,
                        fmt::format("{} sent no response in {} ms", peer, timeout.count()));
      if (read != IoStatus::Ok) {
        if (reused_ && !response.started())
          co_return Error::staleConnection();
        co_return Error(ErrorKind::UpstreamReset,
                        fmt::format("{} closed the connection before a response", peer));
      }
    }
    in_.consume(response.feed(in_.data(), in_.size()));
    if (response.failed())
      co_return Error(ErrorKind::BadResponse,
                      fmt::format("{} sent a bad response: {}", peer, response.errorReason()));
  }
  x.upstreamResponse.status = response.head().status;
  x.upstreamResponse.headers = route::HeaderList(std::move(response.head().fields));
  bodyDone_ = !switched_ && (!response.hasBody() || response.messageComplete());
  // A body of known length goes from the read buffer as it is: the parser has nothing to
  // check in it.
  streamed_ = !bodyDone_ && response.hasContentLength();
  remaining_ = streamed_ ? response.contentLength() : 0;
  handedOut_ = 0;
  started_ = false;
  co_return std::nullopt;
}

void UpstreamSession::startTunnel(Duration idle) {
  tunnelIdle_ = idle;
  tunnel_.emplace(*socket_, context_.get_executor());
}

proxy::BodyShape UpstreamSession::responseBody() const {
  proxy::BodyShape shape;
  if (switched_) {
    shape.present = true;
    return shape;
  }
  shape.present = response_.hasBody();
  if (response_.hasContentLength())
    shape.length = response_.contentLength();
  return shape;
}

std::optional<proxy::Upstream::Piece> UpstreamSession::nextPiece() {
  in_.consume(handedOut_);
  handedOut_ = 0;
  if (switched_) { // a tunnel: whatever came, as it came
    if (in_.empty())
      return std::nullopt;
    handedOut_ = in_.size();
    return Piece::data(std::string_view(in_.data(), in_.size()), false);
  }
  if (streamed_) {
    if (remaining_ == 0)
      return Piece::data({}, true);
    if (in_.empty())
      return std::nullopt;
    size_t n = static_cast<size_t>(std::min<uint64_t>(in_.size(), remaining_));
    handedOut_ = n;
    remaining_ -= n;
    bodyDone_ = remaining_ == 0;
    return Piece::data(std::string_view(in_.data(), n), bodyDone_);
  }
  std::string &piece = response_.body();
  piece.clear();
  // The first piece is what came with the head, if anything: the head goes downstream at
  // once, not with the first bytes that come later.
  if (started_ && !bodyDone_ && in_.empty())
    return std::nullopt;
  started_ = true;
  if (!bodyDone_) {
    in_.consume(response_.feed(in_.data(), in_.size()));
    if (response_.failed())
      return Piece::failure();
    bodyDone_ = response_.messageComplete();
  }
  return Piece::data(piece, bodyDone_);
}

std::optional<proxy::Upstream::Piece> UpstreamSession::bufferedBody() {
  return nextPiece();
}

awaitable<proxy::Upstream::Piece> UpstreamSession::readBody() {
  if (std::optional<Piece> piece = nextPiece())
    co_return *piece;
  if (tunnel_) {
    IoStatus read = co_await tunnel_->read(in_, false, tunnelIdle_);
    if (read == IoStatus::TimedOut)
      co_return Piece::quiet();
    if (read == IoStatus::Closed)
      co_return Piece::data({}, true);
    if (read != IoStatus::Ok)
      co_return Piece::failure();
    co_return nextPiece().value_or(Piece::failure());
  }
  IoStatus read = co_await readSome(*socket_, in_, dog_, deadline_.within(settings_->readTimeout));
  if (read == IoStatus::Closed && !streamed_) {
    // A body delimited by the connection's end, or one cut short.
    response_.finish();
    bodyDone_ = response_.messageComplete();
    co_return bodyDone_ ? Piece::data(response_.body(), true) : Piece::failure();
  }
  if (read != IoStatus::Ok)
    co_return Piece::failure();
  co_return nextPiece().value_or(Piece::failure());
}

void UpstreamSession::release(bool reusable) {
  if (!socket_)
    return;
  if (holding_)
    --metrics::local().open[static_cast<size_t>(metrics::Side::Upstream)]
                           [static_cast<size_t>(metrics::Protocol::Http1)];
  holding_ = false;
  in_.consume(handedOut_);
  handedOut_ = 0;
  if (reusable && bodyDone_ && !switched_ && response_.keepAlive() && in_.empty() &&
      !response_.bodyUntilClose())
    pool_.put(identity_, std::move(*socket_), settings_->idleTimeout);
  tunnel_.reset();
  switched_ = false;
  socket_.reset();
  in_.clear();
  bodyDone_ = false;
  if (out_.capacity() > kKeptOutputBytes)
    std::string().swap(out_);
}

} // namespace turnout::http1
