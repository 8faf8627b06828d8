// The two sides of a proxied exchange as the request flow sees them, whatever the protocol:
// the downstream session a request came on (HTTP/1 today; HTTP/2 streams later) and the
// upstream stream it goes out on (an HTTP/1 connection from the pool today). The flow
// (Flow.h) moves an exchange between them; it never sees a parser, a socket or a framing.
#pragma once

#include "io/Io.h"
#include "proxy/Error.h"
#include "upstream/UpstreamSpec.h"

#include "exchange/Exchange.h"

#include <optional>
#include <string>
#include <string_view>

namespace turnout::proxy {

using Fields = route::HeaderFields;

// How a request or response body is known before it is read: whether there is one, and
// its length when the message declares it (none: it ends when its sender says, chunked in
// HTTP/1, a flag in HTTP/2).
struct BodyShape {
  bool present = false;
  std::optional<uint64_t> length;
};

// Interrupted: interruptRead() stopped the read; nothing was lost.
enum class BodyRead { Ok, Bad, TooLarge, TooSlow, Gone, Interrupted };

// The session a request came on. The head is already in the exchange; the flow reads the
// body and writes the answer through it.
class Downstream {
public:
  virtual ~Downstream() = default;

  // The request body.
  virtual BodyShape requestBody() const = 0;
  // Whether every byte of the request body has been read (true without a body).
  virtual bool requestComplete() const = 0;
  // Reads until there are body bytes in bodyPiece() or the body has ended.
  virtual awaitable<BodyRead> readBody() = 0;
  // The body bytes read and not yet taken: the flow takes them and clears it.
  virtual std::string &bodyPiece() = 0;
  // The request's trailers, once the body has ended.
  virtual const Fields &trailers() const = 0;
  // Whether the request body may be read while the response is written (full duplex: an
  // HTTP/2 stream, a tunnel), by another coroutine of the exchange's.
  virtual bool duplex() const { return false; }
  // A readBody() waiting, of a duplex session, returns Interrupted at once.
  virtual void interruptRead() {}
  // The peer switched protocols (x.response, a 101, after the response phases): its head
  // goes to the client as this protocol says (HTTP/1.1's 101, HTTP/2's 200), and from here
  // on the request and response bodies are the tunnel's bytes, either way until each side
  // ends its own (the last piece: a half close). False when the client is gone.
  virtual awaitable<bool> startTunnel(const route::Exchange &) { co_return false; }
  // Whether readBody() would return without waiting: bytes, or the body's end, are here.
  virtual bool bodyReady() const { return true; }

  // A complete answer of the proxy's own: x.response, with its body. False when the
  // client is gone.
  virtual awaitable<bool> answer(const route::Exchange &x) = 0;
  // A plain answer to a request that cannot be served (a bad body); the session ends.
  virtual awaitable<bool> refuse(int status, std::string_view why) = 0;
  // A relayed response: the head is x.response's, the body as `body` says. Returns
  // whether the client takes a body (not after HEAD, nor with 204 or 304). The head goes
  // out with the first body bytes, or at the end.
  virtual bool startResponse(const route::Exchange &x, const BodyShape &body) = 0;
  // The next piece of the response body; `last` ends it, with `trailers`. False when the
  // client is gone.
  virtual awaitable<bool> sendBody(std::string_view piece, bool last, const Fields &trailers) = 0;
  // The exchange cannot be finished (the upstream failed mid-response): the client learns
  // by the session's end, as a response it can tell is cut short.
  virtual void abort() = 0;
  // The session does not take another request after this one.
  virtual void endAfterThis() = 0;
  // The client left or stopped reading.
  virtual bool gone() const = 0;
};

// One request-response exchange with a peer: a connection of the pool or a new one.
// What need not wait is not a coroutine (each costs a frame per request).
class Upstream {
public:
  virtual ~Upstream() = default;

  // Takes an idle connection to `peer` ("ip:port") from the pool; false when there is
  // none. `retryable`: the request could go again on another connection if this one turns
  // out stale.
  virtual bool reuse(const std::string &peer, const upstream::ConnectSettings &settings,
                     bool retryable) = 0;
  // Opens a new connection to `peer`, at `host` and `port`.
  virtual awaitable<std::optional<Error>> connect(const std::string &peer, const std::string &host,
                                                  uint16_t port,
                                                  const upstream::ConnectSettings &settings) = 0;
  // Whether the connection came from the pool.
  virtual bool reused() const = 0;
  // Whether the request body may be sent while the response is read (an HTTP/2 stream,
  // a tunnel), by another coroutine of the exchange's.
  virtual bool duplex() const { return false; }
  // The exchange is abandoned (the client left): the peer is told (the stream reset, the
  // connection closed), and whatever waits on it returns at once as failed.
  virtual void cancel() {}
  // What the connection speaks: "HTTP/1.1" or "HTTP/2" (upstream.protocol).
  virtual const char *protocol() const = 0;
  // Sends upstream.req's head, then `body` (what of the request body is already read);
  // `complete`: that is all of it, ended with `trailers`.
  virtual awaitable<IoStatus> sendHead(const route::Exchange &x, const BodyShape &shape,
                                       std::string_view body, bool complete,
                                       const Fields &trailers) = 0;
  virtual awaitable<IoStatus> sendBody(std::string_view piece, bool last,
                                       const Fields &trailers) = 0;
  // Whether the peer has answered while the request body is still going (an answer the
  // client gets, whatever became of the rest of the body); `afterFailedWrite`: the peer
  // stopped taking the body.
  virtual bool answeredEarly(bool afterFailedWrite) = 0;
  // Reads the response head into x.upstreamResponse; interim responses are dropped. A 101
  // is a response only to a request for the tunnel x.tunnel names.
  virtual awaitable<std::optional<Error>> readHead(route::Exchange &x) = 0;
  // Whether the peer switched protocols (a 101 to x.tunnel's upgrade).
  virtual bool switched() const { return false; }
  // The peer's side of the tunnel from here on: its bodies are the tunnel's bytes, a read
  // that waits `idle` for any returns Piece::quiet(), the last piece sent is a half close.
  virtual void startTunnel(Duration /*idle*/) {}
  virtual BodyShape responseBody() const = 0;
  // A piece of the response body: bytes valid until the next call, the last with `last`;
  // or the peer failed before the body's end.
  struct Piece {
    bool failed = false;
    std::string_view bytes;
    bool last = false;
    bool idle = false; // a tunnel's: nothing came for its idle time
    static Piece data(std::string_view bytes, bool last) { return {false, bytes, last, false}; }
    static Piece failure() { return {true, {}, false, false}; }
    static Piece quiet() { return {false, {}, false, true}; }
  };
  // The next piece if it needs no wait (it came with what was read), else none.
  virtual std::optional<Piece> bufferedBody() = 0;
  virtual awaitable<Piece> readBody() = 0;
  virtual const Fields &trailers() const = 0;
  // Ends the exchange: the connection goes back to the pool when `reusable` and its
  // response was read to its end, and is closed otherwise.
  virtual void release(bool reusable) = 0;
};

} // namespace turnout::proxy
