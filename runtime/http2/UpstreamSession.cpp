#include "http2/UpstreamSession.h"

#include "http1/UpstreamSession.h"
#include "metrics/WorkerMetrics.h"

#include <nghttp2/nghttp2.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace turnout::http2 {

using proxy::Error;
using proxy::ErrorKind;
using Clock = std::chrono::steady_clock;

namespace {

// A response stream's window, and the connection's: as a client's towards the proxy.
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 16 * 1024 * 1024;
// A connection idle this long is asked (PING) before a request goes on it; one whose
// answer does not come within the second is closed.
constexpr auto kPingAfter = std::chrono::seconds(10);
constexpr auto kPingTimeout = std::chrono::seconds(2);

// Trailers as HTTP/2 sends them: lowercase names.
FieldList lowercased(const Fields &fields) {
  FieldList out;
  for (const auto &[name, value] : fields)
    out.emplace_back(http1::lowercase(name), value);
  return out;
}

} // namespace

struct UpstreamConnection::Callbacks {
  static UpstreamSession *stream(nghttp2_session *session, int32_t id) {
    return static_cast<UpstreamSession *>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                    size_t nameLength, const uint8_t *value, size_t valueLength, uint8_t, void *) {
    UpstreamSession *s = stream(session, frame->hd.stream_id);
    if (!s || frame->hd.type != NGHTTP2_HEADERS)
      return 0;
    std::string_view n(reinterpret_cast<const char *>(name), nameLength);
    std::string_view v(reinterpret_cast<const char *>(value), valueLength);
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS && s->headDone_) {
      s->trailers_.emplace_back(n, v);
    } else if (n == ":status") {
      s->status_ = 0;
      for (char c : v)
        s->status_ = s->status_ * 10 + (c - '0'); // nghttp2 checked: three digits
    } else if (!n.starts_with(":")) {
      if (n == "content-length")
        s->contentLength_ = std::strtoull(std::string(v).c_str(), nullptr, 10);
      s->fields_.emplace_back(n, v);
    }
    return 0;
  }

  static int beginHeaders(nghttp2_session *session, const nghttp2_frame *frame, void *) {
    // An interim (1xx) response's fields are not the final one's.
    if (UpstreamSession *s = stream(session, frame->hd.stream_id); s && !s->headDone_) {
      s->fields_.clear();
      s->contentLength_.reset();
    }
    return 0;
  }

  static int frameReceived(nghttp2_session *session, const nghttp2_frame *frame, void *) {
    UpstreamSession *s = stream(session, frame->hd.stream_id);
    if (!s)
      return 0;
    bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && !s->headDone_ && s->status_ >= 200)
      s->headDone_ = true;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && endStream)
      s->ended_ = true;
    s->arrived_.notify();
    return 0;
  }

  static int dataChunk(nghttp2_session *session, uint8_t, int32_t id, const uint8_t *data,
                       size_t length, void *) {
    UpstreamSession *s = stream(session, id);
    if (!s) {
      nghttp2_session_consume(session, id, length);
      return 0;
    }
    s->received_.append(reinterpret_cast<const char *>(data), length);
    s->arrived_.notify();
    return 0;
  }

  static int streamClosed(nghttp2_session *session, int32_t id, uint32_t code, void *user) {
    auto &c = *static_cast<UpstreamConnection *>(user);
    if (c.streams_ > 0)
      --c.streams_;
    if (c.streams_ == 0)
      c.idleSince_ = Clock::now();
    UpstreamSession *s = stream(session, id);
    if (!s)
      return 0;
    s->closed_ = true;
    s->closeCode_ = code;
    s->body_.withdraw();
    s->arrived_.notify();
    s->sent_.notify();
    return 0;
  }

  static int goaway(nghttp2_session *, const nghttp2_frame *frame, void *user) {
    if (frame->hd.type == NGHTTP2_GOAWAY)
      static_cast<UpstreamConnection *>(user)->goaway_ = true;
    return 0;
  }

  static int frameReceivedAll(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
    auto &c = *static_cast<UpstreamConnection *>(user);
    c.heard_ = Clock::now();
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
      c.pinged_.reset();
    goaway(session, frame, user);
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
      static_cast<UpstreamConnection *>(user)->settled_ = true;
    return frameReceived(session, frame, user);
  }

  static nghttp2_session_callbacks *make() {
    nghttp2_session_callbacks *callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, beginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frameReceivedAll);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, dataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, streamClosed);
    return callbacks;
  }
};

// ---- a connection ----

UpstreamConnection::UpstreamConnection(asio::io_context &context, BufferPool &buffers,
                                       std::string identity,
                                       const upstream::ConnectSettings &settings,
                                       UpstreamPool &pool)
    : stream_(TcpSocket(context.get_executor())), identity_(std::move(identity)),
      idleTimeout_(settings.idleTimeout), pool_(pool), buffers_(buffers),
      io_(stream_, context.get_executor()), in_(buffers), writer_(context.get_executor()),
      heard_(Clock::now()), idleSince_(Clock::now()) {
  static nghttp2_session_callbacks *const callbacks = Callbacks::make();
  SessionOptions options;
  // Until the peer's SETTINGS come, one stream opens and the rest wait in nghttp2: a peer
  // allowing fewer than nghttp2's guess (100) would refuse the excess, or fail.
  nghttp2_option_set_peer_max_concurrent_streams(options.get(), 1);
  nghttp2_session_client_new2(&session_, callbacks, this, options.get());
  nghttp2_settings_entry settingsList[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 256 * 1024},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settingsList, std::size(settingsList));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  metrics::local().connectionOpened(metrics::Side::Upstream, metrics::Protocol::Http2);
}

UpstreamConnection::~UpstreamConnection() {
  nghttp2_session_del(session_);
  metrics::local().connectionClosed(metrics::Side::Upstream, metrics::Protocol::Http2);
}

awaitable<std::optional<Error>> UpstreamConnection::open(const std::string &peer,
                                                         const std::string &host, uint16_t port,
                                                         const upstream::ConnectSettings &settings,
                                                         upstream::TlsContexts &tls,
                                                         std::optional<upstream::Stream> &http1) {
  Watchdog dog(stream_.get_executor());
  std::string why;
  IoStatus status = co_await upstream::connect(stream_, host, port, settings, tls, &identity_,
                                               buffers_, dog, settings.connectTimeout, why);
  std::optional<Error> error;
  if (status == IoStatus::TimedOut)
    error = Error(ErrorKind::ConnectTimeout, fmt::format("connecting to {} timed out", peer));
  else if (status != IoStatus::Ok)
    error = Error(ErrorKind::ConnectFailed, fmt::format("connecting to {}: {}", peer, why));
  else if (stream_.tls()) {
    const unsigned char *alpn = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(stream_.ssl(), &alpn, &length);
    if (std::string_view(reinterpret_cast<const char *>(alpn), alpn ? length : 0) != "h2") {
      if (settings.protocol == upstream::ConnectSettings::Protocol::Auto)
        http1.emplace(std::move(stream_));
      else
        error =
            Error(ErrorKind::ConnectFailed,
                  fmt::format("connecting to {}: the peer did not agree to HTTP/2 (ALPN)", peer));
    }
  }
  if (error || http1) {
    // The streams others put on it meanwhile go again, on another connection.
    for (UpstreamSession *s : attached_)
      s->closeCode_ = NGHTTP2_REFUSED_STREAM;
    fail();
    pool_.remove(this);
    co_return error;
  }
  start();
  co_return std::nullopt;
}

void UpstreamConnection::start() {
  auto self = shared_from_this();
  asio::co_spawn(
      stream_.get_executor(), [self]() -> awaitable<void> { co_await self->writeFrames(); },
      asio::detached);
  asio::co_spawn(
      stream_.get_executor(), [self]() -> awaitable<void> { co_await self->readFrames(); },
      asio::detached);
}

bool UpstreamConnection::available() {
  if (dead_ || goaway_ || closing_ || pinged_)
    return false;
  if (streams_ == 0 && Clock::now() - heard_ > kPingAfter) {
    pinged_ = Clock::now();
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    wakeWriter();
    return false;
  }
  // Before the peer's SETTINGS, as many as a peer commonly allows (nghttp2 opens them as
  // its limit, once known, lets it).
  uint32_t limit =
      settled_
          ? nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
          : 100;
  return streams_ < limit;
}

void UpstreamConnection::close() {
  if (closing_ || dead_)
    return;
  closing_ = true;
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  wakeWriter();
}

void UpstreamConnection::fail() {
  if (dead_)
    return;
  dead_ = true;
  // Every stream still on it learns it failed.
  for (UpstreamSession *s : attached_) {
    if (!s->closed_ && s->closeCode_ == 0)
      s->closeCode_ = NGHTTP2_INTERNAL_ERROR;
    s->closed_ = true;
    s->body_.withdraw();
    s->arrived_.notify();
    s->sent_.notify();
  }
  wakeWriter();
  cancelIo(stream_);
}

awaitable<void> UpstreamConnection::readFrames() {
  while (!dead_) {
    IoStatus status = co_await io_.read(in_, streams_ == 0);
    if (status != IoStatus::Ok)
      break;
    ssize_t read = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t *>(in_.data()),
                                            in_.size());
    in_.clear();
    if (read < 0) {
      spdlog::warn("upstream {}: HTTP/2: {}", identity_, nghttp2_strerror(static_cast<int>(read)));
      break;
    }
    wakeWriter();
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))
      break;
  }
  fail();
  pool_.remove(this);
  error_code ignored;
  stream_.lowest().close(ignored);
}

awaitable<void> UpstreamConnection::writeFrames() {
  while (!dead_) {
    auto flushed = co_await io_.flush(session_, kNoTimeout);
    if (flushed == FrameChannel<TcpSocket>::Flush::Failed) {
      fail();
      co_return;
    }
    if (flushed == FrameChannel<TcpSocket>::Flush::Wrote)
      continue;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      fail();
      co_return;
    }
    // A PING unanswered: the peer or the path is gone.
    if (pinged_ && Clock::now() - *pinged_ > kPingTimeout) {
      spdlog::info("upstream {}: no answer to a PING; closed", identity_);
      fail();
      co_return;
    }
    // An idle connection closes after the upstream's idle_timeout, as a pooled HTTP/1 one.
    Duration wait = idleTimeout_;
    if (pinged_)
      wait = std::chrono::duration_cast<Duration>(kPingTimeout) + Duration(1);
    if (streams_ == 0 && !closing_) {
      auto due = idleSince_ + idleTimeout_;
      auto now = Clock::now();
      if (now >= due) {
        close();
        continue;
      }
      wait = std::max(Duration(1), std::chrono::duration_cast<Duration>(due - now));
    }
    if (streams_ == 0)
      io_.idle();
    co_await writer_.wait(wait);
  }
}

// ---- the pool ----

UpstreamPool::~UpstreamPool() = default;

std::shared_ptr<UpstreamConnection> UpstreamPool::find(const std::string &identity) {
  auto it = connections_.find(identity);
  if (it == connections_.end())
    return nullptr;
  for (const auto &connection : it->second)
    if (connection->available())
      return connection;
  return nullptr;
}

void UpstreamPool::add(std::shared_ptr<UpstreamConnection> connection) {
  ++opened_;
  connections_[connection->identity()].push_back(std::move(connection));
}

void UpstreamPool::remove(UpstreamConnection *connection) {
  auto it = connections_.find(connection->identity());
  if (it == connections_.end())
    return;
  std::erase_if(it->second, [&](const auto &held) { return held.get() == connection; });
  if (it->second.empty())
    connections_.erase(it);
}

size_t UpstreamPool::open() const {
  size_t n = 0;
  for (const auto &[identity, list] : connections_)
    n += list.size();
  return n;
}

// ---- a stream ----

UpstreamSession::UpstreamSession(asio::io_context &context, UpstreamPool &pool,
                                 upstream::TlsContexts &tls, BufferPool &buffers)
    : context_(context), pool_(pool), tls_(tls), buffers_(buffers),
      arrived_(context.get_executor()), sent_(context.get_executor()), body_(sent_) {
}

UpstreamSession::~UpstreamSession() {
  detach();
}

bool UpstreamSession::reuse(const std::string &peer, const upstream::ConnectSettings &settings,
                            bool) {
  settings_ = &settings;
  deadline_.start(settings);
  identity_ = settings.tls ? fmt::format("{} h2 {} {} {} {}", peer, settings.sni, settings.verify,
                                         settings.ca, settings.clientCert)
                           : fmt::format("{} h2c", peer);
  connection_ = pool_.find(identity_);
  reused_ = connection_ != nullptr;
  return reused_;
}

awaitable<std::optional<Error>>
UpstreamSession::connect(const std::string &peer, const std::string &host, uint16_t port,
                         const upstream::ConnectSettings &settings) {
  // In the pool from the start: the requests that come while it connects go on it too,
  // rather than each opening a connection of its own.
  auto connection =
      std::make_shared<UpstreamConnection>(context_, buffers_, identity_, settings, pool_);
  pool_.add(connection);
  std::optional<Error> error = co_await connection->open(peer, host, port, settings, tls_, http1_);
  if (!error && !http1_)
    connection_ = std::move(connection);
  co_return error;
}

awaitable<IoStatus> UpstreamSession::sendHead(const route::Exchange &x,
                                              const proxy::BodyShape &shape, std::string_view body,
                                              bool complete, const Fields &trailers) {
  UpstreamConnection &c = *connection_;
  status_ = 0;
  fields_.clear();
  trailers_.clear();
  headDone_ = ended_ = closed_ = false;
  closeCode_ = 0;
  contentLength_.reset();
  received_.clear();
  handed_ = 0;
  headRequest_ = x.upstreamMethod() == "HEAD";
  // The head: pseudo-header fields first, then the forwarded fields with lowercase names,
  // Host becoming :authority (RFC 9113 8.3.1), and TE only as "trailers".
  std::vector<std::pair<std::string, std::string>> head;
  std::string path(x.upstreamPath());
  if (!x.upstreamQuery().empty())
    path.append("?").append(x.upstreamQuery());
  // A tunnel is an extended CONNECT (RFC 8441), its protocol in :protocol.
  tunnelled_ = !x.tunnel.empty();
  head.emplace_back(":method", tunnelled_ ? std::string_view("CONNECT") : x.upstreamMethod());
  head.emplace_back(":scheme", settings_->tls ? "https" : "http");
  head.emplace_back(":authority", "");
  head.emplace_back(":path", std::move(path));
  if (tunnelled_)
    head.emplace_back(":protocol", x.tunnel);
  http1::forEachForwardedField(x, [&](std::string_view name, std::string_view value) {
    std::string lower = http1::lowercase(name);
    if (lower == "host") {
      if (head[2].second.empty())
        head[2].second = value;
      return;
    }
    if (tunnelled_ && lower == "sec-websocket-key")
      return;                // HTTP/1.1's handshake, which RFC 8441 drops
    if (lower == "cookie") { // crumbs compress better (RFC 9113 8.2.3)
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(';', start);
        std::string_view crumb =
            value.substr(start, end == std::string_view::npos ? end : end - start);
        while (!crumb.empty() && crumb.front() == ' ')
          crumb.remove_prefix(1);
        if (!crumb.empty())
          head.emplace_back("cookie", crumb);
        if (end == std::string_view::npos)
          break;
        start = end + 1;
      }
      return;
    }
    head.emplace_back(std::move(lower), value);
  });
  // TE only as "trailers", and always for gRPC, whose servers want it (a gRPC-Web call has
  // none of its own).
  if (x.grpc != route::grpc::Wire::None ||
      x.request.headers.fields().end() !=
          std::find_if(x.request.headers.fields().begin(), x.request.headers.fields().end(),
                       [](const auto &f) {
                         return route::sameFieldName(f.first, "te") &&
                                route::sameFieldName(f.second, "trailers");
                       }))
    head.emplace_back("te", "trailers");
  if (shape.present && shape.length)
    head.emplace_back("content-length", std::to_string(*shape.length));
  std::vector<nghttp2_nv> list = fieldsOf(head);
  // A tunnel's stream stays open for its bytes, which come once it is switched.
  bool bodyless = !tunnelled_ && (!shape.present || (complete && body.empty() && trailers.empty()));
  if (!bodyless)
    body_.lend(c.session_, -1, body, complete && !tunnelled_, lowercased(trailers));
  nghttp2_data_provider provider = body_.provider();
  id_ = nghttp2_submit_request(c.session_, nullptr, list.data(), list.size(),
                               bodyless ? nullptr : &provider, this);
  if (id_ < 0) {
    id_ = -1;
    body_.withdraw();
    co_return IoStatus::Failed;
  }
  ++c.streams_;
  ++metrics::local().streams[static_cast<size_t>(metrics::Side::Upstream)];
  c.attached_.insert(this);
  c.wakeWriter();
  if (bodyless)
    co_return IoStatus::Ok;
  co_return co_await copied(); // not in a conditional expression: GCC 12 miscompiles that
}

// Until nghttp2 has copied the piece lent into frames (the peer's window allowing).
awaitable<IoStatus> UpstreamSession::copied() {
  while (body_.lent() && !closed_) {
    // Awaited apart from the condition: GCC 12 miscompiles a co_await in one here.
    // A tunnel's writes wait its idle time: the upstream's write and total timeouts are
    // not a live tunnel's.
    Duration timeout = switched_ ? tunnelIdle_ : deadline_.within(settings_->writeTimeout);
    bool woken = co_await sent_.wait(timeout);
    if (!woken && body_.lent()) {
      body_.withdraw();
      co_return IoStatus::TimedOut;
    }
  }
  // A stream the peer refused is readHead()'s to report: it goes again whatever its method.
  if (closed_ && closeCode_ == NGHTTP2_REFUSED_STREAM) {
    body_.withdraw();
    co_return IoStatus::Ok;
  }
  if (body_.lent() || (closed_ && !ended_)) {
    body_.withdraw();
    co_return IoStatus::Failed;
  }
  co_return IoStatus::Ok;
}

awaitable<IoStatus> UpstreamSession::sendBody(std::string_view piece, bool last,
                                              const Fields &trailers) {
  UpstreamConnection &c = *connection_;
  if (closed_ && closeCode_ == NGHTTP2_REFUSED_STREAM)
    co_return IoStatus::Ok; // refused: readHead() says so, and the request goes again
  if (closed_ || c.dead_)
    co_return IoStatus::Failed;
  body_.lend(c.session_, id_, piece, last, lowercased(trailers));
  c.wakeWriter();
  co_return co_await copied();
}

bool UpstreamSession::answeredEarly(bool) {
  return headDone_;
}

awaitable<std::optional<Error>> UpstreamSession::readHead(route::Exchange &x) {
  const std::string &peer = x.upstreamPeer;
  while (!headDone_) {
    if (closed_) {
      // Refused (REFUSED_STREAM, or above a GOAWAY's last stream, which nghttp2 closes so):
      // the peer did not act on it. Closed otherwise on a connection going away: stale.
      if (closeCode_ == NGHTTP2_REFUSED_STREAM)
        co_return Error::refusedStream();
      if (connection_->goaway_ && status_ == 0)
        co_return Error::staleConnection();
      co_return Error(ErrorKind::UpstreamReset,
                      fmt::format("{} reset the stream before a response (HTTP/2 error {})", peer,
                                  nghttp2_http2_strerror(closeCode_)));
    }
    Duration timeout = deadline_.within(settings_->readTimeout);
    bool woken = co_await arrived_.wait(timeout);
    if (!woken && !headDone_ && !closed_)
      co_return Error(ErrorKind::ReadTimeout,
                      fmt::format("{} sent no response in {} ms", peer, timeout.count()));
  }
  // A 200 to an extended CONNECT is HTTP/1.1's 101: the stream is the tunnel now.
  switched_ = tunnelled_ && status_ == 200;
  x.upstreamResponse.status = switched_ ? 101 : status_;
  x.upstreamResponse.headers = route::HeaderList(std::move(fields_));
  fields_ = {};
  co_return std::nullopt;
}

proxy::BodyShape UpstreamSession::responseBody() const {
  proxy::BodyShape shape;
  if (switched_) {
    shape.present = true;
    return shape;
  }
  bool bodyless = headRequest_ || status_ == 204 || status_ == 304;
  shape.present = !bodyless && !(ended_ && received_.empty() && !contentLength_);
  if (shape.present && contentLength_)
    shape.length = contentLength_;
  return shape;
}

void UpstreamSession::consumeTaken() {
  if (handed_ == 0 || !connection_)
    return;
  nghttp2_session_consume(connection_->session_, id_, handed_);
  handed_ = 0;
  connection_->wakeWriter();
}

std::optional<proxy::Upstream::Piece> UpstreamSession::bufferedBody() {
  consumeTaken();
  if (!received_.empty()) {
    piece_.clear();
    piece_.swap(received_);
    handed_ = piece_.size();
    return Piece::data(piece_, ended_ && received_.empty());
  }
  if (ended_)
    return Piece::data({}, true);
  if (closed_)
    return Piece::failure();
  return std::nullopt;
}

awaitable<proxy::Upstream::Piece> UpstreamSession::readBody() {
  for (;;) {
    if (std::optional<Piece> piece = bufferedBody())
      co_return *piece;
    // A tunnel waits for its idle time, not the upstream's read_timeout.
    Duration timeout = switched_ ? tunnelIdle_ : deadline_.within(settings_->readTimeout);
    bool woken = co_await arrived_.wait(timeout);
    if (!woken && received_.empty() && !ended_ && !closed_)
      co_return switched_ ? Piece::quiet() : Piece::failure();
  }
}

void UpstreamSession::startTunnel(Duration idle) {
  tunnelIdle_ = idle;
}

void UpstreamSession::detach() {
  if (!connection_)
    return;
  UpstreamConnection &c = *connection_;
  c.attached_.erase(this);
  if (id_ >= 0) {
    consumeTaken();
    if (!c.dead_) {
      nghttp2_session_set_stream_user_data(c.session_, id_, nullptr);
      if (!closed_ && !(ended_ && !body_.lent()))
        nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
      // What came and nobody took still counts against the connection's window.
      if (!received_.empty())
        nghttp2_session_consume_connection(c.session_, received_.size());
      c.wakeWriter();
    }
  }
  id_ = -1;
  tunnelled_ = switched_ = false;
  body_.withdraw();
  received_.clear();
  connection_.reset();
}

void UpstreamSession::cancel() {
  if (!connection_ || id_ < 0 || closed_)
    return;
  UpstreamConnection &c = *connection_;
  if (!c.dead_) {
    nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    c.wakeWriter();
  }
  closed_ = true;
  closeCode_ = NGHTTP2_CANCEL;
  body_.withdraw();
  arrived_.notify();
  sent_.notify();
}

void UpstreamSession::release(bool) {
  detach();
}

} // namespace turnout::http2
