#include "http1/DownstreamSession.h"

#include "http1/Serialize.h"
#include "listener/ProxyProtocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

namespace turnout::http1 {

using route::schema::Phase;

namespace {

// The output buffer a connection keeps between requests, at most: a small head's worth.
constexpr size_t kKeptOutputBytes = 4096;

// The address and port of a socket address; a Unix socket's peer counts as local.
std::pair<std::string, int64_t> addressOf(const Endpoint &endpoint) {
  const sockaddr *address = endpoint.data();
  char text[INET6_ADDRSTRLEN] = "127.0.0.1";
  if (address->sa_family == AF_INET) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return {text, ntohs(v4->sin_port)};
  }
  if (address->sa_family == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return {text, ntohs(v6->sin6_port)};
  }
  return {text, 0};
}

} // namespace

DownstreamSession::DownstreamSession(Worker &worker, Transport<Socket> client,
                                     Admission::Ticket ticket,
                                     std::shared_ptr<const listener::Options> options)
    : worker_(worker), ticket_(std::move(ticket)), client_(std::move(client)),
      clientDog_(client_.get_executor()), options_(std::move(options)), in_(worker.buffers()),
      request_(Parser::Kind::Request, HeadLimits{worker.config().limits.maxRequestLine,
                                                 worker.config().limits.maxHeaderBytes,
                                                 worker.config().limits.maxHeaderCount}),
      upstream_(worker), flow_(*this, upstream_, worker.config()) {
}

DownstreamSession::DownstreamSession(Worker &worker, Socket socket, const Endpoint &remote,
                                     const Endpoint *local, Admission::Ticket ticket,
                                     std::shared_ptr<const listener::Options> options)
    : DownstreamSession(worker, Transport<Socket>(std::move(socket)), std::move(ticket),
                        std::move(options)) {
  std::tie(clientIp_, clientPort_) = addressOf(remote);
  error_code ec;
  Endpoint own = local ? *local : client_.lowest().local_endpoint(ec);
  if (!ec)
    std::tie(serverIp_, serverPort_) = addressOf(own);
  if (own.protocol().family() == AF_INET || own.protocol().family() == AF_INET6) {
    int one = 1;
    ::setsockopt(client_.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

DownstreamSession::DownstreamSession(Worker &worker, std::unique_ptr<IdleConnection> idle)
    : DownstreamSession(worker, std::move(idle->client), std::exchange(idle->ticket, {}),
                        std::move(idle->options)) {
  tlsFacts_ = std::move(idle->tlsFacts);
  clientIp_ = std::move(idle->clientIp);
  serverIp_ = std::move(idle->serverIp);
  relayIp_ = std::move(idle->relayIp);
  clientPort_ = idle->clientPort;
  serverPort_ = idle->serverPort;
  served_ = idle->served;
}

DownstreamSession::~DownstreamSession() {
  worker_.forget(this);
  if (ticket_.admitted)
    worker_.release(ticket_);
}

std::unique_ptr<IdleConnection> DownstreamSession::idle() {
  if (client_.tls())
    client_.channel().idle();
  auto idle = std::make_unique<IdleConnection>(std::move(client_));
  idle->options = std::move(options_);
  idle->tlsFacts = std::move(tlsFacts_);
  idle->clientIp = std::move(clientIp_);
  idle->serverIp = std::move(serverIp_);
  idle->relayIp = std::move(relayIp_);
  idle->clientPort = clientPort_;
  idle->serverPort = serverPort_;
  idle->served = served_;
  idle->ticket = std::exchange(ticket_, {});
  return idle;
}

// A client between requests may have sent its next one already, or be sending it now:
// closing at once would reset it (a keep-alive client under load met one reset per
// connection across a binary upgrade). It gets a quiet second; a request that comes is
// answered with Connection: close, and a connection quiet for that long closes.
void DownstreamSession::closeIfIdle() {
  if (idle_)
    clientDog_.arm(client_, kDrainingWait);
}

awaitable<void> DownstreamSession::serve() {
  worker_.track(this);
  if (options_ && served_ == 0) {
    bool ready = !options_->proxyProtocol || co_await readProxyHeader();
    // A handshake starts on the certificates in use when the connection came.
    if (ready && options_->tls)
      ready = co_await startTls(*options_->tls->current());
    if (!ready) {
      error_code ignored;
      client_.close(ignored);
      co_return;
    }
    if (tlsFacts_ && tlsFacts_->alpn == "h2") {
      http2_ = idle();
      co_return;
    }
  }
  for (;;) {
    // A draining worker still answers a request that comes within a quiet second (readHead):
    // the client sent it before it could know (refusing it would reset the connection).
    if (!co_await readHead())
      break;
    co_await handle();
    // A response that went out before a drain began said keep-alive: its client may send
    // another request at once, which readHead waits a quiet second for.
    if (!keepAlive_ || clientGone_)
      break;
    request_.next();
  }
  if (parkFor_) {
    worker_.park(idle(), *parkFor_);
    co_return;
  }
  if (http2_)
    co_return;
  error_code ignored;
  // A client that closed (or reset) between requests is sent nothing more (not even TLS's
  // close_notify, as nginx does): it is gone, or only waits for the close.
  if (!clientClosed_) {
    client_.shutdownSend();
    // A client still sending (a body the answer came before, a head cut short, pipelined
    // requests) would have the close reset the connection, and could lose the answer.
    bool sending = (request_.started() && !request_.messageComplete()) || request_.failed() ||
                   !in_.empty() || pending(client_) == Pending::Bytes;
    if (!clientGone_ && sending)
      co_await linger();
  }
  client_.close(ignored);
}

// The header is taken from the socket a piece at a time, never past its end: what follows
// (a TLS handshake, whose bytes OpenSSL reads from the socket itself, or a request) stays
// there. It must come whole within header_read, as a request head must.
awaitable<bool> DownstreamSession::readProxyHeader() {
  if (!options_->proxyAllowed(clientIp_)) {
    spdlog::info("{}:{}: not in proxy_protocol_from; closed", clientIp_, clientPort_);
    co_return false;
  }
  Duration timeout = worker_.config().timeouts.headerRead;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string header;
  char peeked[listener::kMaxProxyHeader];
  for (;;) {
    auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    if (left <= Duration(0) || co_await waitReadable(client_, clientDog_, left) != IoStatus::Ok)
      co_return false;
    ssize_t n = ::recv(client_.native_handle(), peeked, sizeof peeked - header.size(),
                       MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    if (n <= 0)
      co_return false;
    size_t have = header.size();
    header.append(peeked, static_cast<size_t>(n));
    listener::ProxyHeader parsed;
    size_t length = 0;
    listener::ProxyParse result = listener::parseProxyHeader(header, parsed, length);
    if (result == listener::ProxyParse::Invalid ||
        (result == listener::ProxyParse::NeedMore && header.size() >= sizeof peeked)) {
      spdlog::info("{}:{}: no valid PROXY protocol header; closed", clientIp_, clientPort_);
      co_return false;
    }
    // Every byte peeked belongs to the header while it is not whole.
    size_t take = result == listener::ProxyParse::Done ? length - have : static_cast<size_t>(n);
    if (::recv(client_.native_handle(), peeked, take, MSG_DONTWAIT) != static_cast<ssize_t>(take))
      co_return false;
    if (result == listener::ProxyParse::NeedMore)
      continue;
    if (!parsed.local) {
      relayIp_ = std::move(clientIp_);
      clientIp_ = parsed.sourceIp;
      clientPort_ = parsed.sourcePort;
      serverIp_ = parsed.destinationIp;
      serverPort_ = parsed.destinationPort;
    }
    co_return true;
  }
}

// TLS: a client that speaks plain HTTP is told so (as nginx tells it), anything else that
// is not a TLS handshake is dropped, and the handshake must end within handshake_timeout.
awaitable<bool> DownstreamSession::startTls(const tls::ServerContext &tls) {
  auto deadline = std::chrono::steady_clock::now() + tls.handshakeTimeout();
  // The first bytes are read as plain ones, to see what they are; a handshake's go to
  // OpenSSL after.
  if (co_await readSome(client_, in_, clientDog_, tls.handshakeTimeout()) != IoStatus::Ok)
    co_return false;
  auto first = static_cast<unsigned char>(in_.data()[0]);
  constexpr unsigned char kHandshakeRecord = 0x16;
  if (first != kHandshakeRecord) {
    if (std::isupper(first)) {
      // The request's bytes are read and dropped before the close, which would reset the
      // connection, and the answer with it, if they were left unread.
      if (co_await writeClient(localResponse(
              400, "bad request: a plain HTTP request sent to an HTTPS port\n", true))) {
        client_.shutdownSend();
        co_await linger();
      }
    } else {
      spdlog::info("{}:{}: not a TLS handshake on a TLS listener; closed", clientIp_, clientPort_);
    }
    co_return false;
  }
  SSL *ssl = tls.newConnection();
  if (!ssl)
    co_return false;
  client_.acceptTls(ssl, worker_.buffers());
  client_.channel().received(in_);
  auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
  IoStatus status = co_await handshake(client_, clientDog_, std::max(left, Duration(1)));
  using Handshake = metrics::WorkerMetrics::Handshake;
  ++worker_.metrics()
        .tlsHandshakes[static_cast<size_t>(status == IoStatus::Ok         ? Handshake::Ok
                                           : status == IoStatus::TimedOut ? Handshake::TimedOut
                                                                          : Handshake::Failed)];
  if (status != IoStatus::Ok) {
    spdlog::debug("{}:{}: TLS handshake {}", clientIp_, clientPort_,
                  status == IoStatus::TimedOut ? "timed out" : "failed");
    co_return false;
  }
  tlsFacts_ = std::make_unique<route::TlsFacts>();
  tls::settled(ssl, *tlsFacts_);
  co_return true;
}

// Reads and drops what the client sends until it stops (its side closes, or nothing comes
// for lingering_timeout) or lingering_time has passed, holding no read buffer meanwhile.
awaitable<void> DownstreamSession::linger() {
  const ServerConfig::Timeouts &timeouts = worker_.config().timeouts;
  in_.clear();
  auto until = std::chrono::steady_clock::now() + timeouts.lingeringTime;
  static thread_local char scratch[16 * 1024];
  for (;;) {
    auto left = std::chrono::duration_cast<Duration>(until - std::chrono::steady_clock::now());
    if (left <= Duration(0))
      co_return;
    Duration wait = std::min(timeouts.lingeringTimeout, left);
    if (worker_.draining())
      wait = std::min(wait, kDrainingWait);
    if (co_await waitReadable(client_, clientDog_, wait) != IoStatus::Ok)
      co_return;
    // At most 1 MiB a turn: a fast sender must not keep the worker from its other
    // connections.
    for (int turn = 0; turn < 64; ++turn) {
      ssize_t n = ::recv(client_.native_handle(), scratch, sizeof scratch, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        co_return; // the client's side closed, or the connection broke
      if (n < 0)
        break;
    }
  }
}

// Reads until a request head is parsed. False when the connection is done: the client
// left, idled out, or sent something that got a 4xx answer.
awaitable<bool> DownstreamSession::readHead() {
  const auto &timeouts = worker_.config().timeouts;
  // Between requests a client may idle for the keep-alive timeout; a head, from its first
  // byte (a new connection's first head: from the accept), has header_read in all,
  // however its bytes trickle in (slowloris), as nginx's client_header_timeout.
  auto headDeadline = std::chrono::steady_clock::now() + timeouts.headerRead;
  while (!request_.headComplete() && !request_.messageComplete() && !request_.failed()) {
    if (in_.empty()) {
      Duration timeout =
          served_ > 0 && !request_.started() ? timeouts.keepaliveIdle : timeouts.headerRead;
      if (request_.started() || served_ == 0)
        timeout = std::max(Duration(1), std::chrono::duration_cast<Duration>(
                                            headDeadline - std::chrono::steady_clock::now()));
      if (worker_.draining())
        timeout = std::min(timeout, kDrainingWait);
      IoStatus status = IoStatus::Ok;
      if (!request_.started()) {
        idle_ = true;
        status = co_await waitForRequest(timeout);
        idle_ = false;
        // A drain's quiet second can end in the turn in which the request arrived: it is
        // read, not reset.
        if (status == IoStatus::TimedOut && worker_.draining() && in_.empty() &&
            pending(client_) == Pending::Bytes)
          status = IoStatus::Ok;
      }
      if (status == IoStatus::Ok && in_.empty())
        status = co_await readSome(client_, in_, clientDog_, timeout);
      if (status == IoStatus::TimedOut && request_.started()) {
        refused(408);
        co_await writeClient(localResponse(408, "request timeout\n", true));
        co_return false;
      }
      if (status != IoStatus::Ok) {
        if (status == IoStatus::Closed && request_.started()) {
          refused(400);
          co_await writeClient(localResponse(400, "bad request: incomplete head\n", true));
        }
        clientClosed_ = (status == IoStatus::Closed || status == IoStatus::Failed) &&
                        !request_.started() && !parkFor_;
        co_return false;
      }
    }
    if (served_ == 0 && !request_.started() && !client_.tls() && startsHttp2()) {
      http2_ = idle();
      http2_->received.assign(in_.data(), in_.size());
      in_.clear();
      co_return false;
    }
    bool started = request_.started();
    in_.consume(request_.feed(in_.data(), in_.size()));
    if (!started && request_.started() && served_ > 0)
      headDeadline = std::chrono::steady_clock::now() + timeouts.headerRead;
  }
  if (request_.failed()) {
    refused(request_.errorStatus());
    co_await writeClient(localResponse(
        request_.errorStatus(), fmt::format("{}\n", reasonPhrase(request_.errorStatus())), true));
    co_return false;
  }
  co_return true;
}

// For a moment the wait holds a read buffer, if the worker lends one, and the request is
// read as it arrives; a wait for readiness alone costs a system call (epoll_ctl) per
// request through epoll, and a second trip through the ring (the poll, then the read). A
// kept-alive connection idle for longer is parked (Worker::park): its session and this
// coroutine end, so that thousands of idle connections hold no buffer, session or frame.
// A first request is waited for here: its connection has no PROXY header or handshake
// behind it yet, perhaps, and header_read is short.
awaitable<IoStatus> DownstreamSession::waitForRequest(Duration timeout) {
  constexpr Duration kActiveWait = std::chrono::seconds(1);
  BufferPool &buffers = worker_.buffers();
  Duration active = std::min(timeout, kActiveWait);
  IoStatus status;
  if (buffers.lendToWaiter()) {
    status = co_await readSome(client_, in_, clientDog_, active);
    buffers.waiterDone();
  } else {
    status = co_await waitReadable(client_, clientDog_, active);
  }
  if (status != IoStatus::TimedOut || active == timeout)
    co_return status;
  in_.clear();
  timeout -= active;
  if (worker_.draining()) // a drain came as the wait ended, with no wait to shorten
    timeout = std::min(timeout, kDrainingWait);
  else if (served_ > 0 && !client_.buffered()) {
    parkFor_ = timeout;
    co_return IoStatus::Closed;
  }
  co_return co_await waitReadable(client_, clientDog_, timeout);
}

// HTTP/2's preface begins "PRI * HTTP/2.0", a method HTTP/1 reserves for it (RFC 9113
// 3.4); four bytes decide. nghttp2 checks the rest.
bool DownstreamSession::startsHttp2() const {
  constexpr std::string_view kPreface = "PRI ";
  std::string_view first(in_.data(), std::min(in_.size(), kPreface.size()));
  return first == kPreface;
}

bool DownstreamSession::fillExchange(route::Exchange &x, int &status, std::string &why) {
  const Head &head = request_.head();
  status = 400;
  x.request.method = head.method;
  x.request.version = head.versionMinor == 1 && head.versionMajor == 1 ? "HTTP/1.1"
                      : head.versionMinor == 0 && head.versionMajor == 1
                          ? "HTTP/1.0"
                          : fmt::format("HTTP/{}.{}", head.versionMajor, head.versionMinor);
  x.request.scheme = client_.tls() ? "https" : "http";
  x.tls = tlsFacts_.get();
  size_t hosts = route::fieldCount(head.fields, "host");
  if (hosts > 1) {
    why = "more than one Host field\n";
    return false;
  }
  if (hosts == 0 && head.versionMinor >= 1) {
    why = "an HTTP/1.1 request needs a Host field\n";
    return false;
  }
  std::string authority = route::joinedValue(head.fields, "host");
  std::string expect = route::joinedValue(head.fields, "expect");
  if (request_.upgrade() && head.method != "CONNECT") {
    // An upgrade (with Connection: upgrade) is honoured for the protocols the server config
    // lists, on a request without a body: the upstream is asked for the same.
    x.upgrade = lowercase(route::joinedValue(head.fields, "upgrade"));
    if (!request_.hasBody() && worker_.config().honoursUpgrade(x.upgrade))
      x.tunnel = x.upgrade;
  }
  x.request.headers =
      route::HeaderList(std::move(request_.head().fields)); // the parser's, not a copy
  std::string_view target = head.target;
  if (target.starts_with("/")) {
    // origin-form
  } else if (lowercase(target.substr(0, 7)) == "http://" ||
             lowercase(target.substr(0, 8)) == "https://") {
    // absolute-form: its authority wins over the Host field (RFC 9112 3.2.2)
    target.remove_prefix(target.find("://") + 3);
    size_t end = target.find_first_of("/?");
    authority = std::string(target.substr(0, end));
    target = end == std::string_view::npos ? "/" : target.substr(end);
    x.request.headers.set("host", authority);
    if (authority.empty()) {
      why = "an absolute request target needs a host\n";
      return false;
    }
  } else if (head.method == "OPTIONS" && target == "*") {
    // asterisk-form
  } else if (head.method == "CONNECT") {
    status = 405;
    why = "this proxy does not tunnel (CONNECT)\n";
    return false;
  } else {
    why = "bad request target\n";
    return false;
  }
  if (!validAuthority(authority)) {
    why = "bad Host field\n";
    return false;
  }
  x.request.host = hostOf(authority);
  size_t question = target.find('?');
  x.request.path = std::string(target.substr(0, question));
  x.request.query =
      question == std::string_view::npos ? "" : std::string(target.substr(question + 1));
  if (x.request.path.empty())
    x.request.path = "/";

  expectContinue_ = route::sameFieldName(expect, "100-continue");
  if (!expect.empty() && !expectContinue_) {
    status = 417;
    why = "only Expect: 100-continue is understood\n";
    return false;
  }
  uint64_t maxBody = worker_.config().limits.maxBodyBytes;
  if (maxBody && request_.hasContentLength() && request_.contentLength() > maxBody) {
    status = 413;
    why = "request body too large\n";
    return false;
  }
  x.requestId = worker_.nextRequestId();
  x.clientIp = clientIp_;
  x.clientPort = clientPort_;
  x.serverIp = serverIp_;
  x.serverPort = serverPort_;
  return true;
}

awaitable<void> DownstreamSession::handle() {
  version_ = worker_.installed();
  ++served_;
  bodyBytes_ = 0;
  bodyWaited_ = {};
  sentContinue_ = false;
  route::Exchange &x = exchange_.emplace(worker_.phaseArena());
  x.ruleHits = version_->ruleHits;
  int status = 400;
  std::string why;
  if (!fillExchange(x, status, why)) {
    keepAlive_ = false;
    refused(status);
    co_await writeClient(localResponse(status, why, true));
  } else {
    keepAlive_ = request_.keepAlive() && !request_.upgrade() && !worker_.draining() &&
                 served_ < worker_.config().limits.maxRequestsPerConnection;
    co_await flow_.run(x, proxy::Routing{version_->policy(), version_->balancers});
    flow_.finish(x);
    log(x);
  }
  if (tunnel_) {
    tunnel_.reset();
    worker_.tunnelClosed();
  }
  request_.recycle(x.request.headers.release());
  upstream_.http1().recycle(x.upstreamResponse.headers.release());
  if (out_.capacity() > kKeptOutputBytes)
    std::string().swap(out_);
  exchange_.reset(); // an idle connection holds nothing of its last request,
  version_.reset();  // nor its policy version, which may be freed once its requests end
}

// An answer of the proxy's own. A request body that was not read is not skipped: the
// connection closes after the answer.
awaitable<bool> DownstreamSession::answer(const route::Exchange &x) {
  if (request_.hasBody() && !request_.messageComplete())
    keepAlive_ = false;
  int status = static_cast<int>(x.response.status);
  bool toHead = x.request.method == "HEAD";
  out_ = localResponse(status, x.response.body, !keepAlive_, x.response.headers().fields(), toHead);
  headPending_ = false;
  return writeClient(out_);
}

awaitable<bool> DownstreamSession::refuse(int status, std::string_view why) {
  keepAlive_ = false;
  out_ = localResponse(status, why, true);
  headPending_ = false;
  return writeClient(out_);
}

proxy::BodyShape DownstreamSession::requestBody() const {
  proxy::BodyShape shape;
  shape.present = request_.hasBody();
  if (shape.present && !request_.chunked())
    shape.length = request_.contentLength();
  return shape;
}

// The response downstream is framed by what is sent: the status going down and the
// client's own method (RFC 9110 6.4.1), whatever the policy rewrote upstream. A HEAD,
// 204 or 304 answer carries no body; a body the upstream sends with one is not relayed.
// An answer that must carry one while the upstream's has none (a GET sent upstream as
// HEAD, a 304 the policy made a 200) carries an empty one.
bool DownstreamSession::startResponse(const route::Exchange &x, const proxy::BodyShape &body) {
  int code = static_cast<int>(x.response.status);
  if (request_.head().method == "HEAD" || code == 204 || code == 304)
    framing_ = Framing::None;
  else if (!body.present || body.length)
    framing_ = Framing::Length;
  else if (request_.head().versionMinor >= 1)
    framing_ = Framing::Chunked;
  else
    framing_ = Framing::Close;
  if (framing_ == Framing::Close)
    keepAlive_ = false;

  std::string &out = out_;
  out.clear();
  // What the policy adds, roughly.
  out.reserve(fieldsSize(x.upstreamResponse.headers.fields()) + 256);
  appendStatusLine(out, code);
  HopByHop hopByHop(x.upstreamResponse.headers.fields());
  x.response.forEachField([&](std::string_view name, std::string_view value) {
    if (!hopByHop(name) && !route::sameFieldName(name, "content-length"))
      appendField(out, name, value);
  });
  if (framing_ == Framing::Length)
    appendField(out, "content-length", std::to_string(body.present ? *body.length : 0));
  else if (code != 204 && body.length) // HEAD and 304: the length a GET would get
    appendField(out, "content-length", std::to_string(*body.length));
  if (framing_ == Framing::Chunked)
    appendField(out, "transfer-encoding", "chunked");
  if (!keepAlive_)
    appendField(out, "connection", "close");
  else if (request_.head().versionMinor == 0)
    appendField(out, "connection", "keep-alive");
  appendFieldsEnd(out);
  headPending_ = true;
  return framing_ != Framing::None;
}

// The 101 with the peer's fields (Upgrade and Connection made anew, the others hop-by-hop
// dropped), then the tunnel.
awaitable<bool> DownstreamSession::startTunnel(const route::Exchange &x) {
  keepAlive_ = false;
  out_.clear();
  appendStatusLine(out_, 101);
  HopByHop hopByHop(x.upstreamResponse.headers.fields());
  x.response.forEachField([&](std::string_view name, std::string_view value) {
    if (!hopByHop(name) && !route::sameFieldName(name, "content-length"))
      appendField(out_, name, value);
  });
  appendField(out_, "connection", "upgrade");
  appendField(out_, "upgrade", x.tunnel);
  std::string key = route::joinedValue(x.request.headers.fields(), "sec-websocket-key");
  if (x.tunnel == "websocket" && !key.empty() &&
      route::fieldCount(x.upstreamResponse.headers.fields(), "sec-websocket-accept") == 0) {
    // An HTTP/2 peer (RFC 8441) makes no handshake key: the client's is answered here.
    key += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char *>(key.data()), key.size(), digest);
    char accept[32];
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(accept), digest, sizeof digest);
    appendField(out_, "sec-websocket-accept",
                std::string_view(accept, static_cast<size_t>(length)));
  }
  appendFieldsEnd(out_);
  headPending_ = false;
  if (!co_await writeClient(out_))
    co_return false;
  tunnel_.emplace(client_, client_.get_executor());
  worker_.tunnelOpened();
  co_return true;
}

// What the client sent after its request (in_) comes first.
awaitable<proxy::BodyRead> DownstreamSession::readTunnel() {
  using proxy::BodyRead;
  tunnelPiece_.clear();
  if (std::exchange(interrupted_, false))
    co_return BodyRead::Interrupted;
  if (in_.empty()) {
    IoStatus status = co_await tunnel_->read(in_, false);
    if (std::exchange(interrupted_, false))
      co_return BodyRead::Interrupted;
    if (status == IoStatus::Closed) {
      tunnelEnded_ = true;
      co_return BodyRead::Ok;
    }
    if (status != IoStatus::Ok) {
      clientGone_ = true;
      co_return BodyRead::Gone;
    }
  }
  tunnelPiece_.assign(in_.data(), in_.size());
  in_.clear();
  co_return BodyRead::Ok;
}

awaitable<bool> DownstreamSession::sendTunnel(std::string_view piece, bool last) {
  if (clientGone_)
    co_return false;
  if (!piece.empty()) {
    // Awaited apart from a condition: GCC 12 miscompiles a co_await in one.
    IoStatus status = co_await tunnel_->write(piece, worker_.config().timeouts.send);
    if (status != IoStatus::Ok) {
      clientGone_ = true;
      co_return false;
    }
  }
  if (last)
    client_.shutdownSend(); // the peer's half close, passed on
  co_return true;
}

void DownstreamSession::interruptRead() {
  if (!tunnel_)
    return;
  interrupted_ = true;
  cancelIo(client_);
}

// The head, if not sent yet, goes with the first piece, in one write.
awaitable<bool> DownstreamSession::sendBody(std::string_view piece, bool last,
                                            const Fields &trailers) {
  if (tunnel_)
    return sendTunnel(piece, last);
  if (!headPending_)
    out_.clear(); // what it held went with the last piece
  headPending_ = false;
  if (framing_ == Framing::Chunked) {
    appendChunk(out_, piece);
    if (last)
      appendLastChunk(out_, trailers);
    return writeClient(out_);
  }
  return writeClient(out_, piece);
}

void DownstreamSession::abort() {
  keepAlive_ = false;
  clientGone_ = true;
  if (tunnel_)
    cancelIo(client_); // the tunnel's other way learns at once
}

awaitable<bool> DownstreamSession::writeClient(std::string_view bytes, std::string_view more) {
  if (clientGone_)
    co_return false;
  Duration timeout = worker_.config().timeouts.send;
  IoStatus status = more.empty()
                        ? co_await writeAll(client_, bytes, clientDog_, timeout)
                        : co_await writeAll(client_, gather(bytes, more), clientDog_, timeout);
  if (status != IoStatus::Ok) {
    clientGone_ = true;
    keepAlive_ = false;
  }
  co_return status == IoStatus::Ok;
}

awaitable<proxy::BodyRead> DownstreamSession::readBody() {
  using proxy::BodyRead;
  if (tunnel_)
    co_return co_await readTunnel();
  if (expectContinue_ && !sentContinue_) {
    sentContinue_ = true;
    if (!co_await writeClient("HTTP/1.1 100 Continue\r\n\r\n"))
      co_return BodyRead::Gone;
  }
  uint64_t maxBody = worker_.config().limits.maxBodyBytes;
  for (;;) {
    size_t before = request_.body().size();
    in_.consume(request_.feed(in_.data(), in_.size()));
    bodyBytes_ += request_.body().size() - before;
    if (request_.failed() || (maxBody && bodyBytes_ > maxBody)) {
      keepAlive_ = false;
      co_return request_.failed() ? BodyRead::Bad : BodyRead::TooLarge;
    }
    if (!request_.body().empty() || request_.messageComplete())
      co_return BodyRead::Ok;
    auto waitStarted = std::chrono::steady_clock::now();
    IoStatus status =
        co_await readSome(client_, in_, clientDog_, worker_.config().timeouts.bodyRead);
    if (status != IoStatus::Ok) {
      keepAlive_ = false;
      clientGone_ = true;
      co_return BodyRead::Gone;
    }
    // The time spent waiting for the client, not for the upstream to take what it sent.
    bodyWaited_ += std::chrono::steady_clock::now() - waitStarted;
    if (tooSlow()) {
      keepAlive_ = false;
      co_return BodyRead::TooSlow;
    }
  }
}

bool DownstreamSession::tooSlow() const {
  const ServerConfig &config = worker_.config();
  if (config.limits.minBodyRate == 0 || bodyWaited_ < config.timeouts.bodyRateAfter)
    return false;
  double seconds = std::chrono::duration<double>(bodyWaited_).count();
  return static_cast<double>(bodyBytes_ + in_.size()) <
         static_cast<double>(config.limits.minBodyRate) * seconds;
}

void DownstreamSession::log(route::Exchange &x) {
  x.requestBytes = static_cast<int64_t>(bodyBytes_);
  worker_.requestEnded(x, {request_.head().target, relayIp_, listener(), metrics::Protocol::Http1,
                           &version_->policy()});
}

} // namespace turnout::http1
