// The HTTP/1 side of an attempt upstream: a connection from the worker's pool or a new one
// (TLS when the upstream says so), the request serialised as it goes upstream, and the
// response parsed, its body handed on piece by piece: a body of known length straight
// from the read buffer, without passing through the parser. A connection goes back to the
// pool only when its response was read to its exact end.
#pragma once

#include "http1/Parser.h"
#include "io/DuplexChannel.h"
#include "io/Io.h"
#include "proxy/Session.h"
#include "upstream/Pool.h"
#include "upstream/Stream.h"

#include <chrono>
#include <optional>
#include <string>

namespace turnout::http1 {

// The request fields that go upstream, whatever the protocol, as fn(name, value): the
// policy's upstream.req fields less hop-by-hop ones, Content-Length, Expect and
// X-Forwarded-Proto; then Host when there was none (the peer's address), X-Forwarded-For
// appended to, and X-Forwarded-Proto.
template <typename Fn> void forEachForwardedField(const route::Exchange &x, Fn fn) {
  bool host = false;
  std::string forwardedFor;
  HopByHop hopByHop(x.request.headers.fields());
  x.forEachUpstreamField([&](std::string_view name, std::string_view value) {
    if (hopByHop(name) || route::sameFieldName(name, "content-length") ||
        route::sameFieldName(name, "expect") || route::sameFieldName(name, "x-forwarded-proto"))
      return;
    if (route::sameFieldName(name, "x-forwarded-for")) {
      forwardedFor.append(value).append(", ");
      return;
    }
    host = host || route::sameFieldName(name, "host");
    fn(name, value);
  });
  if (!host)
    fn("host", x.upstreamPeer);
  fn("x-forwarded-for", forwardedFor + x.clientIp);
  fn("x-forwarded-proto", x.request.scheme);
}

class UpstreamSession final : public proxy::Upstream {
public:
  UpstreamSession(asio::io_context &context, upstream::Pool &pool, upstream::TlsContexts &tls,
                  BufferPool &buffers)
      : context_(context), pool_(pool), tls_(tls), buffers_(buffers), dog_(context.get_executor()),
        in_(buffers) {}

  bool reuse(const std::string &peer, const upstream::ConnectSettings &settings,
             bool retryable) override;
  awaitable<std::optional<proxy::Error>>
  connect(const std::string &peer, const std::string &host, uint16_t port,
          const upstream::ConnectSettings &settings) override;
  bool reused() const override { return reused_; }
  bool duplex() const override { return switched_; }
  void cancel() override {
    if (socket_)
      cancelIo(*socket_);
  }
  const char *protocol() const override { return "HTTP/1.1"; }
  // Takes `stream`, a connection just made for the peer reuse() named, on which ALPN
  // settled HTTP/1.1 (`protocol = auto`).
  void adopt(upstream::Stream stream);
  awaitable<IoStatus> sendHead(const route::Exchange &x, const proxy::BodyShape &shape,
                               std::string_view body, bool complete,
                               const Fields &trailers) override;
  awaitable<IoStatus> sendBody(std::string_view piece, bool last, const Fields &trailers) override;
  bool answeredEarly(bool afterFailedWrite) override;
  awaitable<std::optional<proxy::Error>> readHead(route::Exchange &x) override;
  bool switched() const override { return switched_; }
  void startTunnel(Duration idle) override;
  proxy::BodyShape responseBody() const override;
  std::optional<Piece> bufferedBody() override;
  awaitable<Piece> readBody() override;
  const Fields &trailers() const override { return response_.trailers(); }
  void release(bool reusable) override;

  // Takes back the response head's fields, to fill them again in the next attempt.
  void recycle(Fields fields) { response_.recycle(std::move(fields)); }

private:
  // Frames `piece` (and the body's end) as the request declared its body, into out_.
  void frame(std::string_view piece, bool last, const Fields &trailers);
  // The next piece from what is buffered: none when a read must come first.
  std::optional<Piece> nextPiece();

  asio::io_context &context_;
  upstream::Pool &pool_;
  upstream::TlsContexts &tls_;
  BufferPool &buffers_;
  std::optional<upstream::Stream> socket_; // the current attempt's connection
  Watchdog dog_;                           // and its timeouts
  InputBuffer in_;                         // its unparsed bytes
  // What goes out (the request head, body pieces), kept from request to request while small.
  std::string out_;
  Parser response_{Parser::Kind::Response};
  std::string identity_; // the pool's key: address and TLS settings
  const upstream::ConnectSettings *settings_ = nullptr;
  upstream::AttemptDeadline deadline_;
  uint64_t remaining_ = 0; // a body of known length: its bytes yet to come
  size_t handedOut_ = 0;   // bytes of in_ the last piece was, consumed at the next read
  bool reused_ = false, chunked_ = false, streamed_ = false, bodyDone_ = false;
  // Whether socket_ is a live connection, counted open (the pool counts its idle ones).
  bool holding_ = false;
  void hold();
  bool started_ = false; // a body piece was handed out
  // After a 101 to the upgrade the request asked for: the connection is a tunnel, read and
  // written at once.
  bool switched_ = false;
  std::optional<DuplexChannel<TcpSocket>> tunnel_;
  Duration tunnelIdle_{};
};

} // namespace turnout::http1
