// One downstream HTTP/1.x connection: reads requests (keep-alive, pipelining), runs each
// through the phases of the policy version it started on, and answers it locally or
// forwards it upstream, streaming bodies both ways with bounded memory.
// Connection.cpp holds the downstream side; Forward.cpp the upstream side.
#pragma once

#include "http1/Parser.h"
#include "server/Worker.h"

#include <chrono>
#include <optional>

namespace turnout {

class Connection {
public:
  Connection(Worker &worker, Socket socket);
  ~Connection();
  awaitable<void> serve();
  // Ends the connection now if it waits for its next request, or within a second if it
  // has yet to send its first (a graceful shutdown's part).
  void closeIfIdle();

private:
  enum class Attempt { Done, Failed, Stale };
  enum class BodyRead { Ok, Bad, TooLarge, TooSlow, Gone };
  struct Replay; // a request body kept for another attempt

  // Downstream (Connection.cpp).
  awaitable<bool> readHead();
  // Waits on a kept-alive connection until its next request begins; the bytes may already
  // be in in_ when it returns.
  awaitable<IoStatus> waitForRequest(Duration timeout);
  bool fillExchange(route::Exchange &x, int &status, std::string &why);
  awaitable<void> handle();
  awaitable<void> answerLocally(route::Exchange &x);
  // Writes `bytes`, then `more` (a head and the body bytes after it, without a copy).
  awaitable<bool> writeClient(std::string_view bytes, std::string_view more = {});
  // Reads until the request parser yields body bytes or ends the body.
  awaitable<BodyRead> readBody();
  // Whether the body arrives slower than limits.min_body_rate.
  bool tooSlow() const;
  // The request's trailers that go upstream (upstreams.pass_request_trailers).
  http1::Fields passedTrailers() const;
  // Moves the body bytes parsed so far to `out`, framed as they go upstream.
  void frameBody(std::string &out);
  void finishExchange(route::Exchange &x);

  // Upstream (Forward.cpp).
  awaitable<void> forward(route::Exchange &x);
  awaitable<BodyRead> bufferBody(Replay &replay);
  awaitable<Attempt> attempt(route::Exchange &x, uint32_t upstream, int peer, Replay &replay);
  // Appends the head of the request as it goes upstream to `out`.
  void upstreamHead(const route::Exchange &x, const std::string &peerName, std::string &out) const;
  void fail(route::Exchange &x, int64_t status, const char *kind, std::string message);

  Worker &worker_;
  Socket client_;
  Watchdog clientDog_;
  InputBuffer in_;
  std::optional<upstream::Stream> upstreamSocket_; // the current attempt's connection
  Watchdog upstreamDog_;                           // and its timeouts
  InputBuffer upstreamIn_; // the current upstream connection's unparsed bytes
  // What goes out in an attempt (the request head, body pieces, the response head), kept
  // from request to request while small.
  std::string upstreamOut_;
  http1::Parser request_;
  http1::Parser upstreamParser_{http1::Parser::Kind::Response}; // the current attempt's response
  // The current request's exchange. A member, not a coroutine local: Asio recycles only
  // small coroutine frames, and an exchange in one made every request allocate.
  std::optional<route::Exchange> exchange_;
  std::shared_ptr<const Worker::Installed> version_; // the one the current request started on
  const Policy *policy_ = nullptr;                   // its policy
  std::chrono::steady_clock::time_point started_;
  std::string clientIp_, serverIp_;
  int64_t clientPort_ = 0, serverPort_ = 0;
  uint64_t served_ = 0;
  uint64_t bodyBytes_ = 0;                           // request body bytes read so far
  std::chrono::steady_clock::duration bodyWaited_{}; // waiting for them
  bool keepAlive_ = true;
  bool idle_ = false; // waiting for the first byte of a request
  bool clientGone_ = false;
  bool expectContinue_ = false, sentContinue_ = false;
};

} // namespace turnout
