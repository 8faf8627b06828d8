// One downstream HTTP/2 connection (RFC 9113) over nghttp2: TLS with ALPN h2, or prior
// knowledge on a plain listener (the HTTP/1 session hands the connection over when it sees
// the preface or the ALPN). Each request is a stream: the flow's downstream session, run
// as its own coroutine on the policy version active when it opened, beside the others.
//
// The connection reads frames in one coroutine and writes them in another; every stream
// submits to nghttp2 and wakes the writer. Flow control follows the upstream: a stream's
// window opens as the flow takes its body bytes (no automatic WINDOW_UPDATE), and a
// response piece is handed to nghttp2 as the client's window lets it, so memory per stream
// is bounded by its window whatever the speed of either side.
#pragma once

#include "http1/DownstreamSession.h"
#include "http2/FrameChannel.h"
#include "http2/OutgoingBody.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct nghttp2_session;

namespace turnout::http2 {

using proxy::Fields;

class DownstreamConnection;

class DownstreamStream final : public proxy::Downstream {
public:
  DownstreamStream(DownstreamConnection &connection, int32_t id);
  ~DownstreamStream() override;

  // proxy::Downstream
  proxy::BodyShape requestBody() const override;
  // A tunnel's request has no body before its 200: its DATA are the tunnel's.
  bool requestComplete() const override {
    return (tunnelAsked_ && !tunnelling_) || (remoteEnded_ && received_.empty());
  }
  awaitable<proxy::BodyRead> readBody() override;
  std::string &bodyPiece() override { return piece_; }
  const Fields &trailers() const override { return trailers_; }
  bool duplex() const override { return true; }
  awaitable<bool> startTunnel(const route::Exchange &x) override;
  bool bodyReady() const override { return !received_.empty() || remoteEnded_ || gone(); }
  void interruptRead() override;
  awaitable<bool> answer(const route::Exchange &x) override;
  awaitable<bool> refuse(int status, std::string_view why) override;
  bool startResponse(const route::Exchange &x, const proxy::BodyShape &body) override;
  awaitable<bool> sendBody(std::string_view piece, bool last, const Fields &trailers) override;
  void abort() override;
  void endAfterThis() override {} // the connection goes on: other streams are on it
  bool gone() const override;

private:
  friend class DownstreamConnection;

  // The request's life, from its head to the log phase.
  awaitable<void> run();
  // A request field as nghttp2 decoded it (its syntax checked): false past the limits.
  void addField(std::string_view name, std::string_view value, bool trailer);
  bool fillExchange(route::Exchange &x, int &status, std::string &why);
  // An answer of the proxy's own: `fields` less hop-by-hop ones, a plain-text type when
  // they name none, the body's length.
  awaitable<bool> respond(int status, std::string_view body, const Fields &fields);
  // Hands `bytes` to nghttp2 as the client's window allows; `last` ends the response with
  // `trailers`. False when the stream is gone or the client took nothing for a send timeout.
  awaitable<bool> send(std::string_view bytes, bool last, const Fields &trailers);
  // The body bytes the flow has taken went upstream: the client may send as many more.
  void consumeTaken();
  // The stream's end for nghttp2: reset unless its response went out whole.
  void finish();

  DownstreamConnection &connection_;
  int32_t id_;
  // The request head.
  std::string method_, scheme_, authority_, path_;
  std::string protocol_; // an extended CONNECT's :protocol (RFC 8441)
  Fields fields_;
  std::string cookie_; // RFC 9113 8.2.3: the crumbs joined for HTTP/1 and the policy
  Fields trailers_;
  size_t headerBytes_ = 0, headerCount_ = 0;
  bool tooLarge_ = false;
  bool hasBody_ = false; // HEADERS came without END_STREAM
  std::optional<uint64_t> contentLength_;
  // The request body: what arrived, what the flow holds, and what nghttp2 is yet to be
  // told was consumed.
  std::string received_, piece_;
  size_t handed_ = 0;
  uint64_t bodyBytes_ = 0;
  std::chrono::steady_clock::duration bodyWaited_{};
  bool remoteEnded_ = false;
  bool expectContinue_ = false, sentContinue_ = false;
  bool tunnelAsked_ = false; // an extended CONNECT the proxy honours
  bool tunnelling_ = false;  // and its 200 went
  // The response.
  FieldList head_;        // lowercase names, :status first
  bool bodyless_ = false; // HEAD, 204, 304
  bool submitted_ = false;
  bool ended_ = false; // END_STREAM is nghttp2's to send (or sent)
  bool aborted_ = false;
  bool reset_ = false;   // RST_STREAM submitted
  bool closed_ = false;  // nghttp2 closed the stream
  bool running_ = false; // its coroutine has not ended
  // Woken as request body bytes come (or the stream ends), and as nghttp2 takes the
  // response's: a gRPC stream reads the one while it writes the other.
  Signal readable_, sent_;
  bool interrupted_ = false;
  OutgoingBody body_; // the response's
  // What the flow needs.
  AnyUpstream upstream_;
  proxy::Flow flow_;
  std::optional<route::Exchange> exchange_;
  std::shared_ptr<const Worker::Installed> version_;
};

class DownstreamConnection final : public ClientConnection {
public:
  // `connection`: the client's socket and what it is; its `received` bytes are the first.
  DownstreamConnection(Worker &worker, std::unique_ptr<http1::IdleConnection> connection);
  ~DownstreamConnection();
  awaitable<void> serve();
  // A drain: GOAWAY, the streams open finish, no new one starts.
  void closeIfIdle() override;

private:
  friend class DownstreamStream;
  struct Callbacks;

  awaitable<void> readFrames();
  awaitable<void> writeFrames();
  // Before the close, with the client perhaps still sending (timeouts.lingering_*).
  awaitable<void> linger();
  void startStream(DownstreamStream &stream);
  void streamEnded(DownstreamStream &stream);
  // A stream error the client caused: false once past its budget, the connection then
  // told GOAWAY(ENHANCE_YOUR_CALM).
  bool streamError();
  // The connection cannot go on: every stream learns it is gone.
  void fail();
  void wakeWriter() { writer_.notify(); }

  Worker &worker_;
  std::unique_ptr<http1::IdleConnection> client_;
  nghttp2_session *session_ = nullptr;
  std::unordered_map<int32_t, std::unique_ptr<DownstreamStream>> streams_;
  InputBuffer in_;
  FrameChannel<Socket> io_;
  Signal writer_, ended_;
  size_t running_ = 0;                // stream coroutines
  uint64_t opened_ = 0;               // requests begun
  int32_t lastAccepted_ = 0x7fffffff; // after max_requests_per_connection: the last stream
  bool dead_ = false, writerDone_ = false;
  // The writer ended the connection, every stream done: the one close lingered over (not
  // one after the client closed or broke, flooded or broke the protocol).
  bool closing_ = false;
  bool misbehaved_ = false; // flooded, broke the protocol or spent its error budget
  std::optional<std::chrono::steady_clock::time_point> drainingSince_;
  bool goawaySent_ = false;
  std::chrono::steady_clock::time_point lastActive_;
  // The stream error budget, a token bucket.
  double errorTokens_;
  std::chrono::steady_clock::time_point errorsCounted_;
};

} // namespace turnout::http2
