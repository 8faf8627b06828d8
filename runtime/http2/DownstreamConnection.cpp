#include "http2/DownstreamConnection.h"

#include "exchange/WireSyntax.h"

#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <spdlog/spdlog.h>

namespace turnout::http2 {

namespace {

using Clock = std::chrono::steady_clock;

// Fields as HTTP/2 carries them: lowercase names, none of HTTP/1's connection-specific ones
// (RFC 9113 8.2.2), nor Content-Length, which the sender sets.
void appendFields(FieldList &out, const Fields &fields, const http1::HopByHop &hopByHop) {
  for (const auto &[name, value] : fields)
    if (!hopByHop(name) && !route::sameFieldName(name, "content-length"))
      out.emplace_back(http1::lowercase(name), value);
}

} // namespace

// nghttp2's callbacks, friends of both classes.
struct DownstreamConnection::Callbacks {
  static DownstreamStream *stream(nghttp2_session *session, int32_t id) {
    return static_cast<DownstreamStream *>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int beginHeaders(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
    auto &c = *static_cast<DownstreamConnection *>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST ||
        frame->hd.stream_id > c.lastAccepted_)
      return 0;
    auto owned = std::make_unique<DownstreamStream>(c, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, owned.get());
    c.streams_.emplace(frame->hd.stream_id, std::move(owned));
    return 0;
  }

  static int header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                    size_t nameLength, const uint8_t *value, size_t valueLength, uint8_t, void *) {
    if (frame->hd.type != NGHTTP2_HEADERS)
      return 0;
    if (DownstreamStream *s = stream(session, frame->hd.stream_id))
      s->addField({reinterpret_cast<const char *>(name), nameLength},
                  {reinterpret_cast<const char *>(value), valueLength},
                  frame->headers.cat != NGHTTP2_HCAT_REQUEST);
    return 0;
  }

  static int frameReceived(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
    auto &c = *static_cast<DownstreamConnection *>(user);
    bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      DownstreamStream *s = stream(session, frame->hd.stream_id);
      if (!s) {
        // Past the last stream a GOAWAY on its way accepts: the client may send it again.
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
          nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                    NGHTTP2_REFUSED_STREAM);
        return 0;
      }
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->hasBody_ = !endStream;
        s->remoteEnded_ = endStream;
        c.startStream(*s);
      } else if (endStream) { // trailers
        s->remoteEnded_ = true;
        s->readable_.notify();
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      // An empty DATA frame that does not end its stream does nothing but cost (CVE-2019-9518).
      if (frame->hd.length == 0 && !endStream && !c.streamError())
        return 0;
      if (DownstreamStream *s = stream(session, frame->hd.stream_id); s && endStream) {
        s->remoteEnded_ = true;
        s->readable_.notify();
      }
      return 0;
    }
    default:
      return 0;
    }
  }

  static int dataChunk(nghttp2_session *session, uint8_t, int32_t id, const uint8_t *data,
                       size_t length, void *) {
    DownstreamStream *s = stream(session, id);
    if (!s || !s->running_ || s->aborted_) {
      // Nobody will read it: its window opens at once.
      nghttp2_session_consume(session, id, length);
      return 0;
    }
    s->received_.append(reinterpret_cast<const char *>(data), length);
    s->bodyBytes_ += length;
    s->readable_.notify();
    return 0;
  }

  static int streamClosed(nghttp2_session *session, int32_t id, uint32_t, void *user) {
    auto &c = *static_cast<DownstreamConnection *>(user);
    DownstreamStream *s = stream(session, id);
    if (!s)
      return 0;
    s->closed_ = true;
    // Whatever it received and nobody consumed counts against the connection's window.
    size_t unconsumed = s->handed_ + s->received_.size();
    s->handed_ = 0;
    s->received_.clear();
    if (unconsumed)
      nghttp2_session_consume_connection(session, unconsumed);
    s->body_.withdraw();
    s->readable_.notify();
    s->sent_.notify();
    if (s->running_ && !s->body_.whole())
      s->upstream_.cancel(); // the client reset it (a cancelled gRPC call): so is the upstream's
    if (!s->running_)
      c.streams_.erase(id);
    return 0;
  }

  static int frameSent(nghttp2_session *session, const nghttp2_frame *frame, void *) {
    // A response that ended before its request did: the rest of the request is not wanted
    // (RFC 9113 8.1).
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      if (DownstreamStream *s = stream(session, frame->hd.stream_id); s && !s->remoteEnded_)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
    return 0;
  }

  static int invalidFrame(nghttp2_session *, const nghttp2_frame *, int, void *user) {
    static_cast<DownstreamConnection *>(user)->streamError();
    return 0;
  }

  static nghttp2_session_callbacks *make() {
    nghttp2_session_callbacks *callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, beginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frameReceived);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, dataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, streamClosed);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, frameSent);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, invalidFrame);
    return callbacks;
  }
};

// ---- the connection ----

DownstreamConnection::DownstreamConnection(Worker &worker,
                                           std::unique_ptr<http1::IdleConnection> connection)
    : worker_(worker), client_(std::move(connection)), in_(worker.buffers()),
      io_(client_->client, worker.context().get_executor()),
      writer_(worker.context().get_executor()), ended_(worker.context().get_executor()),
      lastActive_(Clock::now()),
      errorTokens_(static_cast<double>(worker.config().http2.maxStreamErrors)),
      errorsCounted_(Clock::now()) {
  static nghttp2_session_callbacks *const callbacks = Callbacks::make();
  const ServerConfig::Http2 &config = worker.config().http2;
  SessionOptions options;
  nghttp2_option_set_max_deflate_dynamic_table_size(options.get(), 4096);
  nghttp2_option_set_stream_reset_rate_limit(options.get(), config.maxResets,
                                             config.resetsPerSecond);
  nghttp2_session_server_new2(&session_, callbacks, this, options.get());
  // SETTINGS_MAX_CONCURRENT_STREAMS always goes: nghttp2's default is no limit.
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, config.maxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, config.initialStreamWindow},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, config.maxFrameSize},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, config.maxHeaderListSize},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, config.headerTableSize},
      // WebSocket over HTTP/2 (RFC 8441): extended CONNECT with :protocol.
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection's window: every stream's at once, so that none starves the others.
  uint64_t window = static_cast<uint64_t>(config.initialStreamWindow) *
                    std::max<uint32_t>(config.maxConcurrentStreams, 1);
  nghttp2_session_set_local_window_size(
      session_, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(std::min<uint64_t>(window, 0x7fffffff)));
  worker.metrics().connectionOpened(metrics::Side::Downstream, metrics::Protocol::Http2);
}

DownstreamConnection::~DownstreamConnection() {
  worker_.metrics().connectionClosed(metrics::Side::Downstream, metrics::Protocol::Http2);
  streams_.clear();
  nghttp2_session_del(session_);
  worker_.forget(this);
  if (client_->ticket.admitted)
    worker_.release(client_->ticket);
}

void DownstreamConnection::closeIfIdle() {
  if (drainingSince_ || dead_)
    return;
  drainingSince_ = Clock::now();
  nghttp2_submit_shutdown_notice(session_);
  wakeWriter();
}

bool DownstreamConnection::streamError() {
  const ServerConfig::Http2 &config = worker_.config().http2;
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - errorsCounted_).count();
  errorsCounted_ = now;
  errorTokens_ =
      std::min(static_cast<double>(config.maxStreamErrors),
               errorTokens_ + seconds * static_cast<double>(config.streamErrorsPerSecond));
  if (errorTokens_ >= 1) {
    errorTokens_ -= 1;
    return true;
  }
  misbehaved_ = true;
  if (!goawaySent_) {
    spdlog::info("{}:{}: HTTP/2 stream errors past the budget; GOAWAY", client_->clientIp,
                 client_->clientPort);
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
    goawaySent_ = true;
    wakeWriter();
  }
  return false;
}

void DownstreamConnection::fail() {
  if (dead_)
    return;
  dead_ = true;
  for (auto &[id, stream] : streams_) {
    stream->readable_.notify();
    stream->sent_.notify();
  }
  wakeWriter();
  cancelIo(client_->client);
}

awaitable<void> DownstreamConnection::serve() {
  worker_.track(this);
  if (!client_->received.empty()) {
    ssize_t read = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const uint8_t *>(client_->received.data()),
        client_->received.size());
    std::string().swap(client_->received);
    if (read < 0)
      dead_ = true;
  }
  asio::co_spawn(worker_.context(), writeFrames(), [this](std::exception_ptr) {
    writerDone_ = true;
    ended_.notify();
  });
  if (!dead_)
    co_await readFrames();
  // The writer sends what is queued (a GOAWAY) and ends, within a moment.
  auto deadline = Clock::now() + kDrainingWait;
  while (!writerDone_ && !dead_ && Clock::now() < deadline) {
    wakeWriter();
    co_await ended_.wait(std::chrono::duration_cast<Duration>(deadline - Clock::now()));
  }
  while (running_ > 0 || !writerDone_) {
    fail(); // the streams left learn the client is gone; the writer stops
    co_await ended_.wait(kNoTimeout);
  }
  client_->client.shutdownSend();
  co_await linger();
  client_->client.close();
}

// A client may still be sending as the connection ends (a WINDOW_UPDATE for the last DATA,
// a stream it opened before the GOAWAY reached it): a close with its bytes unread would
// reset the connection, and a reset can destroy responses it has not read yet. What it
// sends is read and dropped until it closes, as HTTP/1's lingering close does.
awaitable<void> DownstreamConnection::linger() {
  const ServerConfig::Timeouts &timeouts = worker_.config().timeouts;
  if (!closing_ || misbehaved_ || timeouts.lingeringTime.count() == 0)
    co_return;
  Watchdog dog(worker_.context().get_executor());
  auto until = Clock::now() + timeouts.lingeringTime;
  for (;;) {
    auto left = std::chrono::duration_cast<Duration>(until - Clock::now());
    if (left <= Duration(0))
      co_return;
    Duration wait = std::min(timeouts.lingeringTimeout, left);
    if (worker_.draining())
      wait = std::min(wait, kDrainingWait);
    in_.clear();
    IoStatus status = co_await readSome(client_->client.lowest(), in_, dog, wait);
    in_.clear();
    if (status != IoStatus::Ok)
      co_return;
  }
}

awaitable<void> DownstreamConnection::readFrames() {
  while (!dead_) {
    IoStatus status = co_await io_.read(in_, running_ == 0 && streams_.empty());
    if (status != IoStatus::Ok || dead_) {
      break;
    }
    ssize_t read = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t *>(in_.data()),
                                            in_.size());
    in_.clear();
    if (read < 0) {
      // Flooded, or not HTTP/2 at all: what nghttp2 has queued (a GOAWAY) goes, then the end.
      spdlog::info("{}:{}: HTTP/2: {}", client_->clientIp, client_->clientPort,
                   nghttp2_strerror(static_cast<int>(read)));
      misbehaved_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      wakeWriter();
      co_return;
    }
    wakeWriter();
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))
      co_return;
  }
  fail();
}

awaitable<void> DownstreamConnection::writeFrames() {
  const ServerConfig::Http2 &config = worker_.config().http2;
  Transport<Socket> &transport = client_->client;
  while (!dead_) {
    auto flushed = co_await io_.flush(session_, worker_.config().timeouts.send);
    if (flushed == FrameChannel<Socket>::Flush::Failed) {
      fail();
      co_return;
    }
    if (flushed == FrameChannel<Socket>::Flush::Wrote)
      continue;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      closing_ = true;
      cancelIo(transport); // the reader's wait ends; the connection with it
      co_return;
    }
    auto now = Clock::now();
    Duration wait = config.idleTimeout;
    if (goawaySent_) {
      // The streams open finish; nghttp2 then wants nothing more.
    } else if (drainingSince_) {
      // A round trip after the notice, the last stream the connection takes is known.
      auto due = *drainingSince_ + kDrainingWait;
      if (now >= due) {
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                              nullptr, 0);
        goawaySent_ = true;
        continue;
      }
      wait = std::chrono::duration_cast<Duration>(due - now);
    } else if (running_ == 0 && streams_.empty()) {
      auto due = lastActive_ + config.idleTimeout;
      if (now >= due) {
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
        goawaySent_ = true;
        continue;
      }
      wait = std::max(Duration(1), std::chrono::duration_cast<Duration>(due - now));
    }
    if (running_ == 0 && streams_.empty())
      io_.idle();
    co_await writer_.wait(wait);
  }
}

void DownstreamConnection::startStream(DownstreamStream &stream) {
  const ServerConfig::Http2 &config = worker_.config().http2;
  lastActive_ = Clock::now();
  if (++opened_ >= config.maxRequestsPerConnection && lastAccepted_ == 0x7fffffff) {
    // This one is the last: GOAWAY names it, and the client opens another connection.
    lastAccepted_ = stream.id_;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, stream.id_, NGHTTP2_NO_ERROR, nullptr, 0);
    goawaySent_ = true;
  }
  stream.running_ = true;
  ++running_;
  asio::co_spawn(worker_.context(), stream.run(), [this, &stream](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception &e) {
        spdlog::error("an HTTP/2 stream ended on an error: {}", e.what());
      }
    }
    streamEnded(stream);
  });
}

void DownstreamConnection::streamEnded(DownstreamStream &stream) {
  stream.finish();
  stream.running_ = false;
  --running_;
  lastActive_ = Clock::now();
  if (stream.closed_ || dead_)
    streams_.erase(stream.id_);
  wakeWriter();
  ended_.notify();
}

// ---- a stream ----

DownstreamStream::DownstreamStream(DownstreamConnection &connection, int32_t id)
    : connection_(connection), id_(id), readable_(connection.worker_.context().get_executor()),
      sent_(connection.worker_.context().get_executor()), body_(sent_),
      upstream_(connection.worker_), flow_(*this, upstream_, connection.worker_.config()) {
}

DownstreamStream::~DownstreamStream() {
  if (!closed_ && !connection_.dead_)
    nghttp2_session_set_stream_user_data(connection_.session_, id_, nullptr);
}

bool DownstreamStream::gone() const {
  return closed_ || aborted_ || connection_.dead_;
}

void DownstreamStream::addField(std::string_view name, std::string_view value, bool trailer) {
  const ServerConfig &config = connection_.worker_.config();
  // Every field counts, crumbs and repeats included: RFC 9113 6.5.2's size of each.
  headerBytes_ += name.size() + value.size() + 32;
  if (++headerCount_ > config.limits.maxHeaderCount ||
      headerBytes_ > config.http2.maxHeaderListSize)
    tooLarge_ = true;
  if (tooLarge_)
    return;
  if (trailer) {
    trailers_.emplace_back(name, value);
  } else if (name == ":method") {
    method_ = value;
  } else if (name == ":scheme") {
    scheme_ = value;
  } else if (name == ":authority") {
    authority_ = value;
  } else if (name == ":path") {
    path_ = value;
  } else if (name == ":protocol") {
    protocol_ = http1::lowercase(value);
  } else if (name == "cookie") {
    if (!cookie_.empty())
      cookie_ += "; ";
    cookie_ += value;
  } else {
    fields_.emplace_back(name, value);
  }
}

bool DownstreamStream::fillExchange(route::Exchange &x, int &status, std::string &why) {
  const ServerConfig &config = connection_.worker_.config();
  http1::IdleConnection &client = *connection_.client_;
  status = 400;
  if (tooLarge_) {
    status = 431;
    why = "request header fields too large\n";
    return false;
  }
  x.request.method = method_;
  x.request.version = "HTTP/2";
  x.request.scheme = client.client.tls() ? "https" : "http";
  x.tls = client.tlsFacts.get();
  if (method_ == "CONNECT" && protocol_.empty()) {
    status = 405;
    why = "this proxy does not tunnel (CONNECT)\n";
    return false;
  }
  if (method_ == "CONNECT") {
    // RFC 8441: an extended CONNECT is the HTTP/2 form of an HTTP/1.1 upgrade, and goes on
    // as one: a GET asking to switch to :protocol.
    x.upgrade = protocol_;
    if (!config.honoursUpgrade(protocol_)) {
      status = 400;
      why = "this proxy does not tunnel :protocol " + protocol_ + "\n";
      return false;
    }
    x.tunnel = protocol_;
    tunnelAsked_ = true;
    method_ = "GET";
    x.request.method = method_;
    if (protocol_ == "websocket" && route::fieldCount(fields_, "sec-websocket-key") == 0) {
      // RFC 6455's handshake key, which RFC 8441 drops: an HTTP/1.1 origin wants one.
      unsigned char key[16];
      RAND_bytes(key, sizeof key);
      char encoded[32];
      int length = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(encoded), key, sizeof key);
      fields_.emplace_back("sec-websocket-key", std::string(encoded, static_cast<size_t>(length)));
    }
  }
  size_t hosts = route::fieldCount(fields_, "host");
  std::string host = route::joinedValue(fields_, "host");
  if (hosts > 1) {
    why = "more than one Host field\n";
    return false;
  }
  // RFC 9113 8.3.1: the authority names the target; a Host field beside it must agree.
  if (authority_.empty())
    authority_ = host;
  else if (hosts == 1 && http1::lowercase(host) != http1::lowercase(authority_)) {
    why = ":authority and Host disagree\n";
    return false;
  }
  if (authority_.empty()) {
    why = "a request needs :authority or Host\n";
    return false;
  }
  if (!http1::validAuthority(authority_)) {
    why = "bad :authority\n";
    return false;
  }
  std::string_view target = path_;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  if (!route::wire::isTargetPart(path) || !route::wire::isTargetPart(query) ||
      !(path.starts_with("/") || (method_ == "OPTIONS" && path == "*"))) {
    why = "bad :path\n";
    return false;
  }
  std::string expect = route::joinedValue(fields_, "expect");
  expectContinue_ = route::sameFieldName(expect, "100-continue");
  if (!expect.empty() && !expectContinue_) {
    status = 417;
    why = "only Expect: 100-continue is understood\n";
    return false;
  }
  if (std::string length = route::joinedValue(fields_, "content-length"); !length.empty())
    contentLength_ = std::strtoull(length.c_str(), nullptr, 10); // nghttp2 checked its syntax
  if (config.limits.maxBodyBytes && contentLength_ &&
      *contentLength_ > config.limits.maxBodyBytes) {
    status = 413;
    why = "request body too large\n";
    return false;
  }
  if (hosts == 0)
    fields_.insert(fields_.begin(), {"host", authority_});
  if (!cookie_.empty())
    fields_.emplace_back("cookie", std::move(cookie_));
  x.request.headers = route::HeaderList(std::move(fields_));
  x.request.host = http1::hostOf(authority_);
  x.request.path = std::string(path);
  x.request.query = std::string(query);
  x.requestId = connection_.worker_.nextRequestId();
  x.clientIp = client.clientIp;
  x.clientPort = client.clientPort;
  x.serverIp = client.serverIp;
  x.serverPort = client.serverPort;
  return true;
}

awaitable<void> DownstreamStream::run() {
  Worker &worker = connection_.worker_;
  version_ = worker.installed();
  route::Exchange &x = exchange_.emplace(worker.phaseArena());
  x.ruleHits = version_->ruleHits;
  ++worker.metrics().streams[static_cast<size_t>(metrics::Side::Downstream)];
  const uint32_t listener = connection_.client_->options ? connection_.client_->options->index : 0;
  int status = 400;
  std::string why;
  if (!fillExchange(x, status, why)) {
    connection_.streamError();
    worker.metrics().requestEnded("", listener, metrics::Protocol::Http2, status, 0);
    x.grpc = route::grpc::wireOf(route::joinedValue(fields_, "content-type"));
    if (x.grpc != route::grpc::Wire::None) { // a gRPC client is told in gRPC
      x.response = {status, why};
      proxy::answerAsCall(x);
      co_await answer(x);
    } else {
      co_await respond(status, why, {});
    }
  } else {
    co_await flow_.run(x, proxy::Routing{version_->policy(), version_->balancers});
    if (tunnelling_)
      worker.tunnelClosed();
    flow_.finish(x);
    x.requestBytes = static_cast<int64_t>(bodyBytes_);
    worker.requestEnded(x, {path_, connection_.client_->relayIp, listener, metrics::Protocol::Http2,
                            &version_->policy()});
  }
}

void DownstreamStream::finish() {
  body_.withdraw();
  if ((!ended_ || aborted_) && !reset_ && !closed_ && !connection_.dead_) {
    nghttp2_submit_rst_stream(connection_.session_, NGHTTP2_FLAG_NONE, id_,
                              aborted_ ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
    reset_ = true;
  }
  consumeTaken();
  exchange_.reset();
  version_.reset();
}

void DownstreamStream::consumeTaken() {
  if (handed_ == 0 || closed_)
    return;
  nghttp2_session_consume(connection_.session_, id_, handed_);
  handed_ = 0;
  connection_.wakeWriter();
}

proxy::BodyShape DownstreamStream::requestBody() const {
  proxy::BodyShape shape;
  shape.present = hasBody_ && !(tunnelAsked_ && !tunnelling_);
  if (shape.present)
    shape.length = contentLength_;
  return shape;
}

awaitable<proxy::BodyRead> DownstreamStream::readBody() {
  using proxy::BodyRead;
  const ServerConfig &config = connection_.worker_.config();
  consumeTaken();
  if (expectContinue_ && !sentContinue_ && !gone()) {
    sentContinue_ = true;
    nghttp2_nv status = {reinterpret_cast<uint8_t *>(const_cast<char *>(":status")),
                         reinterpret_cast<uint8_t *>(const_cast<char *>("100")), 7, 3,
                         NGHTTP2_NV_FLAG_NONE};
    nghttp2_submit_headers(connection_.session_, NGHTTP2_FLAG_NONE, id_, nullptr, &status, 1,
                           nullptr);
    connection_.wakeWriter();
  }
  for (;;) {
    if (gone())
      co_return BodyRead::Gone;
    if (config.limits.maxBodyBytes && bodyBytes_ > config.limits.maxBodyBytes)
      co_return BodyRead::TooLarge;
    if (!received_.empty()) {
      piece_.clear();
      piece_.swap(received_);
      handed_ = piece_.size();
      co_return BodyRead::Ok;
    }
    if (remoteEnded_)
      co_return BodyRead::Ok;
    if (tunnelling_) { // its idleness is judged by the flow, both ways at once
      co_await readable_.wait(kNoTimeout);
      if (std::exchange(interrupted_, false))
        co_return BodyRead::Interrupted;
      continue;
    }
    auto waitStarted = Clock::now();
    if (std::exchange(interrupted_, false))
      co_return BodyRead::Interrupted;
    bool woken = co_await readable_.wait(config.timeouts.bodyRead);
    if (std::exchange(interrupted_, false))
      co_return BodyRead::Interrupted;
    bodyWaited_ += Clock::now() - waitStarted;
    if (!woken && received_.empty() && !remoteEnded_)
      co_return BodyRead::TooSlow; // client_body_timeout: a 408 where the flow can answer
    if (config.limits.minBodyRate && bodyWaited_ >= config.timeouts.bodyRateAfter &&
        static_cast<double>(bodyBytes_) < static_cast<double>(config.limits.minBodyRate) *
                                              std::chrono::duration<double>(bodyWaited_).count())
      co_return BodyRead::TooSlow;
  }
}

awaitable<bool> DownstreamStream::respond(int status, std::string_view body, const Fields &fields) {
  bodyless_ = status == 204 || status == 304 || method_ == "HEAD";
  head_.clear();
  head_.emplace_back(":status", std::to_string(status));
  static const Fields kNone;
  appendFields(head_, fields, http1::HopByHop(kNone));
  bool typed = route::fieldCount(fields, "content-type") > 0;
  bool noContent = status == 204 || status == 304;
  if (!typed && !body.empty() && !noContent)
    head_.emplace_back("content-type", "text/plain; charset=utf-8");
  if (!noContent)
    head_.emplace_back("content-length", std::to_string(body.size()));
  submitted_ = false;
  return send(bodyless_ ? std::string_view() : body, true, kNone);
}

// The peer's 101 is HTTP/2's 200 (RFC 8441 5), without the fields of HTTP/1.1's handshake.
awaitable<bool> DownstreamStream::startTunnel(const route::Exchange &x) {
  bodyless_ = false;
  head_.clear();
  head_.emplace_back(":status", "200");
  http1::HopByHop hopByHop(x.upstreamResponse.headers.fields());
  x.response.forEachField([&](std::string_view name, std::string_view value) {
    if (!hopByHop(name) && !route::sameFieldName(name, "content-length") &&
        !route::sameFieldName(name, "sec-websocket-accept"))
      head_.emplace_back(http1::lowercase(name), value);
  });
  submitted_ = false;
  static const Fields kNone;
  if (!co_await send({}, false, kNone))
    co_return false;
  tunnelling_ = true;
  connection_.worker_.tunnelOpened();
  co_return true;
}

awaitable<bool> DownstreamStream::answer(const route::Exchange &x) {
  return respond(static_cast<int>(x.response.status), x.response.body,
                 x.response.headers().fields());
}

awaitable<bool> DownstreamStream::refuse(int status, std::string_view why) {
  return respond(status, why, {});
}

// As HTTP/1's: framed by the status going down and the client's method, whatever the policy
// rewrote upstream; here the framing is HTTP/2's, and Content-Length only informs.
bool DownstreamStream::startResponse(const route::Exchange &x, const proxy::BodyShape &body) {
  int code = static_cast<int>(x.response.status);
  bodyless_ = method_ == "HEAD" || code == 204 || code == 304;
  head_.clear();
  head_.emplace_back(":status", std::to_string(code));
  http1::HopByHop hopByHop(x.upstreamResponse.headers.fields());
  x.response.forEachField([&](std::string_view name, std::string_view value) {
    if (!hopByHop(name) && !route::sameFieldName(name, "content-length"))
      head_.emplace_back(http1::lowercase(name), value);
  });
  if (code != 204 && body.present && body.length)
    head_.emplace_back("content-length", std::to_string(*body.length));
  else if (!bodyless_ && !body.present)
    head_.emplace_back("content-length", "0");
  submitted_ = false;
  return !bodyless_;
}

awaitable<bool> DownstreamStream::sendBody(std::string_view piece, bool last,
                                           const Fields &trailers) {
  return send(bodyless_ ? std::string_view() : piece, last, trailers);
}

awaitable<bool> DownstreamStream::send(std::string_view bytes, bool last, const Fields &trailers) {
  if (gone())
    co_return false;
  nghttp2_session *session = connection_.session_;
  FieldList trailerList;
  if (last && !trailers.empty()) {
    static const Fields kNone;
    appendFields(trailerList, trailers, http1::HopByHop(kNone));
  }
  if (!submitted_) {
    submitted_ = true;
    std::vector<nghttp2_nv> head = fieldsOf(head_);
    bool headOnly = bodyless_ || (last && bytes.empty() && trailers.empty());
    if (!headOnly)
      body_.lend(session, id_, bytes, last, std::move(trailerList));
    nghttp2_data_provider provider = body_.provider();
    if (nghttp2_submit_response(session, id_, head.data(), head.size(),
                                headOnly ? nullptr : &provider) != 0) {
      aborted_ = true;
      co_return false;
    }
    ended_ = headOnly || last;
    connection_.wakeWriter();
    if (headOnly)
      co_return true;
  } else if (bodyless_) {
    co_return true;
  } else {
    body_.lend(session, id_, bytes, last, std::move(trailerList));
    ended_ = last;
    connection_.wakeWriter();
  }
  // Until nghttp2 has copied the piece into frames: the caller's bytes are only lent.
  Duration timeout = connection_.worker_.config().timeouts.send;
  while ((last ? !body_.whole() : body_.lent()) && !gone()) {
    bool woken = co_await sent_.wait(timeout);
    if (!woken && (last ? !body_.whole() : body_.lent()))
      aborted_ = true; // the client took nothing for send_timeout
  }
  // A stream closes as soon as its end is sent: that is no failure.
  bool done = last ? body_.whole() : !body_.lent() && !gone();
  if (!done)
    body_.withdraw();
  co_return done;
}

void DownstreamStream::interruptRead() {
  interrupted_ = true;
  readable_.notify();
}

void DownstreamStream::abort() {
  aborted_ = true;
  readable_.notify();
  body_.withdraw();
  if (!closed_ && !reset_ && !connection_.dead_) {
    nghttp2_submit_rst_stream(connection_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    reset_ = true;
    connection_.wakeWriter();
  }
}

} // namespace turnout::http2
