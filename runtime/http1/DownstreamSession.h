// One downstream HTTP/1.x connection: reads requests (keep-alive, pipelining), fills each
// one's exchange from its head (request target forms, Host, Expect, limits: a request
// that breaks a rule gets its 4xx here and never reaches the flow), and hands it to the
// request flow (proxy/Flow.h) on the policy version it started on. As the flow's
// downstream session it reads the request body (100-continue, chunked or of known
// length, min_body_rate) and writes the answer, framed by what is sent: a length, chunks,
// or the connection's end.
#pragma once

#include "http1/Parser.h"
#include "io/DuplexChannel.h"
#include "io/Transport.h"
#include "proxy/Flow.h"
#include "server/AnyUpstream.h"
#include "server/Worker.h"

#include <chrono>
#include <optional>

namespace turnout::http1 {

// A client connection without a session: kept alive between requests (Worker::park), or
// handed to HTTP/2. Its socket (and TLS over it), what the connection is, and its
// admission. Waiting thousands of these cost this each and a watch on the socket, where a
// session waiting keeps its coroutine frames, parser, flow and exchange (8 KB).
struct IdleConnection {
  explicit IdleConnection(Transport<Socket> client) : client(std::move(client)) {}
  Transport<Socket> client;
  std::shared_ptr<const listener::Options> options;
  std::unique_ptr<route::TlsFacts> tlsFacts;
  std::string clientIp, serverIp, relayIp;
  int64_t clientPort = 0, serverPort = 0;
  uint64_t served = 0;
  Admission::Ticket ticket;
  std::string received; // bytes read already, for HTTP/2: its preface
};

class DownstreamSession final : public proxy::Downstream, public ClientConnection {
public:
  // A new connection from `remote`, on `local` (null: the socket's own address is asked),
  // taken under `ticket`; `options`, when given, say what comes before the first request: a
  // PROXY protocol header, a TLS handshake.
  DownstreamSession(Worker &worker, Socket socket, const Endpoint &remote, const Endpoint *local,
                    Admission::Ticket ticket,
                    std::shared_ptr<const listener::Options> options = nullptr);
  // A parked connection whose client sent again.
  DownstreamSession(Worker &worker, std::unique_ptr<IdleConnection> idle);
  ~DownstreamSession() override;
  awaitable<void> serve();
  // Ends the connection now if it waits for its next request, or within a second if it
  // has yet to send its first (a graceful shutdown's part).
  void closeIfIdle() override;
  // The connection, once serve() has ended, when its client chose HTTP/2: by ALPN, or by
  // sending HTTP/2's preface first on a plain listener (prior knowledge).
  std::unique_ptr<IdleConnection> http2() { return std::move(http2_); }

  // proxy::Downstream
  proxy::BodyShape requestBody() const override;
  bool requestComplete() const override {
    if (tunnel_)
      return tunnelEnded_;
    return !request_.hasBody() || request_.messageComplete();
  }
  awaitable<proxy::BodyRead> readBody() override;
  std::string &bodyPiece() override { return tunnel_ ? tunnelPiece_ : request_.body(); }
  bool duplex() const override { return tunnel_.has_value(); }
  void interruptRead() override;
  awaitable<bool> startTunnel(const route::Exchange &x) override;
  const Fields &trailers() const override { return request_.trailers(); }
  awaitable<bool> answer(const route::Exchange &x) override;
  awaitable<bool> refuse(int status, std::string_view why) override;
  bool startResponse(const route::Exchange &x, const proxy::BodyShape &body) override;
  awaitable<bool> sendBody(std::string_view piece, bool last, const Fields &trailers) override;
  void abort() override;
  void endAfterThis() override { keepAlive_ = false; }
  bool gone() const override { return clientGone_; }

private:
  enum class Framing { None, Length, Chunked, Close };

  DownstreamSession(Worker &worker, Transport<Socket> client, Admission::Ticket ticket,
                    std::shared_ptr<const listener::Options> options);

  // The PROXY header; false when there is none that may be taken.
  awaitable<bool> readProxyHeader();
  awaitable<bool> startTls(const tls::ServerContext &tls);
  awaitable<bool> readHead();
  // Before the close, with the client still sending (timeouts.lingering_*).
  awaitable<void> linger();
  // Waits on a kept-alive connection until its next request begins; the bytes may already
  // be in in_ when it returns. Closed, with parkFor_ set, when the connection is to wait
  // parked instead.
  awaitable<IoStatus> waitForRequest(Duration timeout);
  // What the connection keeps while parked; the session is done with it.
  std::unique_ptr<IdleConnection> idle();
  // Whether the first bytes of a plain connection are HTTP/2's preface.
  bool startsHttp2() const;
  bool fillExchange(route::Exchange &x, int &status, std::string &why);
  awaitable<void> handle();
  // Writes `bytes`, then `more` (a head and the body bytes after it, without a copy).
  awaitable<bool> writeClient(std::string_view bytes, std::string_view more = {});
  // Whether the body arrives slower than limits.min_body_rate.
  bool tooSlow() const;
  // A tunnel's side of readBody() and sendBody().
  awaitable<proxy::BodyRead> readTunnel();
  awaitable<bool> sendTunnel(std::string_view piece, bool last);
  void log(route::Exchange &x);
  uint32_t listener() const { return options_ ? options_->index : 0; }
  // A request answered `status` before it became an exchange (malformed, too slow, too
  // large): counted, with no upstream.
  void refused(int status) {
    worker_.metrics().requestEnded("", listener(), metrics::Protocol::Http1, status, 0);
  }

  Worker &worker_;
  Admission::Ticket ticket_; // released with the session, unless the connection is parked
  Transport<Socket> client_;
  Watchdog clientDog_;
  std::shared_ptr<const listener::Options> options_;
  std::unique_ptr<route::TlsFacts> tlsFacts_; // after a TLS handshake
  InputBuffer in_;
  Parser request_;
  AnyUpstream upstream_;
  proxy::Flow flow_;
  // The current request's exchange. A member, not a coroutine local: Asio recycles only
  // small coroutine frames, and an exchange in one made every request allocate.
  std::optional<route::Exchange> exchange_;
  std::shared_ptr<const Worker::Installed> version_; // the one the current request started on
  std::string clientIp_, serverIp_;
  std::string relayIp_; // the immediate peer, when a PROXY header named the client
  int64_t clientPort_ = 0, serverPort_ = 0;
  uint64_t served_ = 0;
  uint64_t bodyBytes_ = 0;                           // request body bytes read so far
  std::chrono::steady_clock::duration bodyWaited_{}; // waiting for them
  std::string out_;          // what goes out next: an answer, a response head, chunk framing
  bool headPending_ = false; // out_ holds a response head that has not gone yet
  Framing framing_ = Framing::Length;
  bool keepAlive_ = true;
  bool idle_ = false;               // waiting for the first byte of a request
  std::optional<Duration> parkFor_; // the keep-alive time left, once the session gives way
  std::unique_ptr<IdleConnection> http2_;
  bool clientGone_ = false;
  bool clientClosed_ = false; // its side closed or broke, between requests
  bool expectContinue_ = false, sentContinue_ = false;
  // After a 101: the connection is a tunnel, read and written at once.
  std::optional<DuplexChannel<Socket>> tunnel_;
  std::string tunnelPiece_;
  bool tunnelEnded_ = false; // the client's half close came
  bool interrupted_ = false;
};

} // namespace turnout::http1
