// The HTTP/2 side of an attempt upstream (`protocol = h2`, `h2c`, or `auto` when ALPN
// settles h2): a stream on a connection of the worker's UpstreamPool, which carries as many
// at once as the peer's SETTINGS_MAX_CONCURRENT_STREAMS allows; another connection opens
// when every one is full. Flow control follows the client: a response stream's window
// opens as its pieces are taken downstream, and request pieces are lent to nghttp2 as the
// peer's window lets it. A GOAWAY from the peer lets the streams it took finish; those it
// did not (REFUSED_STREAM) fail as a stale connection's, which the flow sends again.
#pragma once

#include "http2/FrameChannel.h"
#include "http2/OutgoingBody.h"
#include "proxy/Session.h"
#include "upstream/Stream.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct nghttp2_session;

namespace turnout::http2 {

using proxy::Fields;

class UpstreamSession;
class UpstreamPool;

// One HTTP/2 connection to a peer, shared by the streams on it; its reader and writer
// coroutines keep it alive until it closes.
class UpstreamConnection : public std::enable_shared_from_this<UpstreamConnection> {
public:
  // A connection yet to be made: streams may be submitted to it at once, nghttp2 holding
  // their frames until open() has connected it.
  UpstreamConnection(asio::io_context &context, BufferPool &buffers, std::string identity,
                     const upstream::ConnectSettings &settings, UpstreamPool &pool);
  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection &) = delete;
  UpstreamConnection &operator=(const UpstreamConnection &) = delete;

  // Connects (TCP, TLS with ALPN) and starts reading and writing; on failure every stream
  // on it fails as refused. Under `protocol = auto`, a peer whose ALPN says HTTP/1.1 leaves
  // the connection in `http1`.
  awaitable<std::optional<proxy::Error>> open(const std::string &peer, const std::string &host,
                                              uint16_t port,
                                              const upstream::ConnectSettings &settings,
                                              upstream::TlsContexts &tls,
                                              std::optional<upstream::Stream> &http1);
  // Whether a new stream may go on it now: open, no GOAWAY, below the peer's limit, and
  // heard from lately: one idle for a while is asked first (PING), and taken once it answers.
  bool available();
  const std::string &identity() const { return identity_; }
  // Closes the connection (idle too long, or the pool is closing it).
  void close();

private:
  friend class UpstreamSession;
  struct Callbacks;

  void start();
  awaitable<void> readFrames();
  awaitable<void> writeFrames();
  void fail();
  void wakeWriter() { writer_.notify(); }

  upstream::Stream stream_;
  std::string identity_;
  Duration idleTimeout_;
  UpstreamPool &pool_;
  nghttp2_session *session_ = nullptr;
  BufferPool &buffers_;
  FrameChannel<TcpSocket> io_;
  InputBuffer in_;
  Signal writer_;
  size_t streams_ = 0;                             // open streams
  std::unordered_set<UpstreamSession *> attached_; // the sessions of streams on it
  bool dead_ = false, goaway_ = false, closing_ = false;
  bool settled_ = false;                                        // the peer's SETTINGS came
  std::chrono::steady_clock::time_point heard_;                 // the last frame from the peer
  std::optional<std::chrono::steady_clock::time_point> pinged_; // a PING awaits its ACK
  std::chrono::steady_clock::time_point idleSince_;
};

// The worker's HTTP/2 connections by identity (a peer and its settings).
class UpstreamPool {
public:
  UpstreamPool() = default;
  UpstreamPool(const UpstreamPool &) = delete;
  UpstreamPool &operator=(const UpstreamPool &) = delete;
  ~UpstreamPool();

  // A connection with room for another stream, or null.
  std::shared_ptr<UpstreamConnection> find(const std::string &identity);
  void add(std::shared_ptr<UpstreamConnection> connection);
  void remove(UpstreamConnection *connection);
  // Connections open now, and how many were ever opened (for the tests and stats).
  size_t open() const;
  uint64_t opened() const { return opened_; }

private:
  std::unordered_map<std::string, std::vector<std::shared_ptr<UpstreamConnection>>> connections_;
  uint64_t opened_ = 0;
};

class UpstreamSession final : public proxy::Upstream {
public:
  UpstreamSession(asio::io_context &context, UpstreamPool &pool, upstream::TlsContexts &tls,
                  BufferPool &buffers);
  ~UpstreamSession() override;

  bool reuse(const std::string &peer, const upstream::ConnectSettings &settings,
             bool retryable) override;
  awaitable<std::optional<proxy::Error>>
  connect(const std::string &peer, const std::string &host, uint16_t port,
          const upstream::ConnectSettings &settings) override;
  bool reused() const override { return reused_; }
  bool duplex() const override { return true; }
  void cancel() override;
  const char *protocol() const override { return "HTTP/2"; }
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
  const Fields &trailers() const override { return trailers_; }
  void release(bool reusable) override;

  // After connect() under `protocol = auto`: the connection ALPN settled as HTTP/1.1,
  // for an HTTP/1 session to take.
  std::optional<upstream::Stream> takeHttp1() { return std::exchange(http1_, std::nullopt); }

private:
  friend class UpstreamConnection;
  friend struct UpstreamConnection::Callbacks;

  awaitable<IoStatus> copied();
  void consumeTaken();
  // The stream is over for this session: reset if it is still open.
  void detach();

  asio::io_context &context_;
  UpstreamPool &pool_;
  upstream::TlsContexts &tls_;
  BufferPool &buffers_;
  // Woken as the response comes (or the stream closes), and as nghttp2 takes the request
  // body's pieces: a gRPC stream sends the one while it reads the other.
  Signal arrived_, sent_;
  std::shared_ptr<UpstreamConnection> connection_;
  std::optional<upstream::Stream> http1_;
  std::string identity_;
  const upstream::ConnectSettings *settings_ = nullptr;
  upstream::AttemptDeadline deadline_;
  int32_t id_ = -1;
  bool reused_ = false;
  OutgoingBody body_; // the request's
  // The response coming down.
  int status_ = 0;
  Fields fields_, trailers_;
  bool headDone_ = false, headRequest_ = false;
  std::optional<uint64_t> contentLength_;
  std::string received_, piece_;
  size_t handed_ = 0;
  bool ended_ = false;  // END_STREAM came
  bool closed_ = false; // the stream closed
  uint32_t closeCode_ = 0;
  // A tunnel (x.tunnel): the stream is an extended CONNECT, switched by the peer's 200.
  bool tunnelled_ = false, switched_ = false;
  Duration tunnelIdle_{};
};

} // namespace turnout::http2
