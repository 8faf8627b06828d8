#include "server/Worker.h"

#include "http1/DownstreamSession.h"
#include "http2/DownstreamConnection.h"
#include "http2/UpstreamSession.h"
#include "log/AccessLine.h"

#include <fmt/format.h>
#include <malloc.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>

namespace turnout {

namespace {

// A connection's life until it ends or is parked, as a coroutine that owns its session:
// HTTP/1's, then HTTP/2's if the client chose it (ALPN, or the preface).
awaitable<void> serveConnection(Worker &worker, Socket socket, Endpoint remote,
                                const Endpoint *local, Admission::Ticket ticket,
                                std::shared_ptr<const listener::Options> options) {
  std::unique_ptr<http1::IdleConnection> http2;
  {
    http1::DownstreamSession connection(worker, std::move(socket), remote, local, std::move(ticket),
                                        std::move(options));
    co_await connection.serve();
    http2 = connection.http2();
  }
  if (http2) {
    auto connection = std::make_unique<http2::DownstreamConnection>(worker, std::move(http2));
    co_await connection->serve();
  }
}

// A parked connection's life from its client's next bytes.
awaitable<void> serveWoken(Worker &worker, std::unique_ptr<http1::IdleConnection> idle) {
  http1::DownstreamSession connection(worker, std::move(idle));
  co_await connection.serve();
}

// Whatever a connection throws ends that connection, never the worker.
void connectionEnded(std::exception_ptr failure) {
  if (!failure)
    return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception &e) {
    spdlog::error("a connection ended on an error: {}", e.what());
  } catch (...) {
    spdlog::error("a connection ended on an error that is not an exception");
  }
}

} // namespace

Worker::Worker(SharedState &shared, unsigned index)
    : shared_(shared), index_(index),
      requestIdPrefix_(fmt::format("{:x}-{:x}-", ::getpid(), index)),
      pool_(shared.config.upstreams.idlePerPeer),
      http2Pool_(std::make_unique<http2::UpstreamPool>()) {
}

void Worker::install(std::shared_ptr<const PolicyVersion> version) {
  if (!thread_.joinable()) {
    installNow(std::move(version)); // not running yet: nothing else touches the worker
    return;
  }
  asio::post(context_,
             [this, version = std::move(version)]() mutable { installNow(std::move(version)); });
}

void Worker::installNow(std::shared_ptr<const PolicyVersion> version) {
  auto installed = std::make_shared<Installed>();
  std::unordered_map<std::string, std::shared_ptr<upstream::Balancer>> balancers;
  const auto &specs = version->policy->upstreams();
  for (size_t u = 0; u < specs.size(); ++u) {
    const PolicyVersion::Upstream &upstream = version->upstreams[u];
    std::shared_ptr<upstream::Balancer> &balancer = balancers[upstream.definition];
    if (!balancer) {
      auto kept = balancers_.find(upstream.definition);
      if (kept != balancers_.end() && kept->second->shared() == upstream.peers.get()) {
        balancer = kept->second;
      } else {
        const upstream::UpstreamSpec &spec = specs[u];
        balancer = std::make_shared<upstream::Balancer>(spec.balance, spec.peers,
                                                        upstream::Balancer::workerSeed(index_),
                                                        spec.maxConnections, upstream.peers);
      }
    }
    installed->balancers.push_back(balancer);
  }
  uint64_t generation = version->generation;
  installed->ruleHits = version->ruleHits(index_);
  installed->version = std::move(version);
  balancers_ = std::move(balancers); // those of upstreams gone live on in older versions' requests
  installed_ = std::move(installed);
  installedGeneration_.store(generation, std::memory_order_release);
}

Worker::~Worker() {
  stop();
  join();
  // The worker's ring went with its thread: nothing to call off.
  for (auto &[id, parked] : parked_)
    closeParked(parked, false);
  parked_.clear();
  flushAccessLog();
}

std::string Worker::nextRequestId() {
  uint64_t n = requests_.load(std::memory_order_relaxed) + 1;
  requests_.store(n, std::memory_order_relaxed); // one writer: no locked increment
  char digits[16];
  char *end = std::to_chars(digits, digits + sizeof digits, n, 16).ptr;
  std::string id;
  id.reserve(requestIdPrefix_.size() + static_cast<size_t>(end - digits));
  return id.append(requestIdPrefix_).append(digits, end);
}

void Worker::requestEnded(const route::Exchange &x, const Ended &ended) {
  metrics_.requestEnded(x.upstreamName, ended.listener, ended.protocol, x.response.status,
                        static_cast<double>(x.durationNs) / 1e9);
  if (!shared_.accessLog)
    return;
  log::AccessRecord record{x, ended.target, ended.relayIp, ended.policy};
  if (shared_.config.log.accessFormat == ServerConfig::Log::AccessFormat::Json)
    log::appendJson(accessBuffer_, record, shared_.accessFields);
  else
    log::appendText(accessBuffer_, record);
  if (accessBuffer_.size() >= kAccessBatchBytes)
    flushAccessLog();
}

void Worker::flushAccessLog() {
  if (shared_.accessLog)
    shared_.accessLog->write(accessBuffer_); // whole lines: the writer never splits one
  accessBuffer_.clear();
}

void Worker::snapshot(
    std::shared_ptr<const PolicyVersion> version,
    std::function<void(const metrics::WorkerMetrics &, const uint64_t *hits)> done) {
  asio::post(context_, [this, version = std::move(version), done = std::move(done)] {
    // The pool's idle connections are open too; the sessions count those in use.
    metrics::WorkerMetrics copy = metrics_;
    copy.open[static_cast<size_t>(metrics::Side::Upstream)]
             [static_cast<size_t>(metrics::Protocol::Http1)] += pool_.idleCount();
    done(copy, version ? version->ruleHits(index_) : nullptr);
  });
}

void Worker::drain() {
  asio::post(context_, [this] {
    draining_ = true;
    for (auto &listener : listeners_) {
      error_code ignored;
      listener->acceptor.close(ignored);
    }
    for (ClientConnection *connection : connections_)
      connection->closeIfIdle();
    auto soon = std::chrono::steady_clock::now() + kDrainingWait;
    for (auto &[id, parked] : parked_)
      parked.deadline = std::min(parked.deadline, soon);
    parkedTimerAt_ = {};
    armParkedTimer();
    // Behind whatever was queued meanwhile (a connection accepted as the acceptor closed).
    asio::post(context_, [this] { drained_.store(true); });
  });
}

void Worker::listen(Acceptor acceptor, std::shared_ptr<const listener::Options> options) {
  error_code ec;
  Endpoint local = acceptor.local_endpoint(ec);
  const sockaddr *address = local.data();
  bool wildcard =
      (address->sa_family == AF_INET &&
       reinterpret_cast<const sockaddr_in *>(address)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
      (address->sa_family == AF_INET6 &&
       IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr));
  std::optional<Endpoint> fixed;
  if (!ec && !wildcard)
    fixed = local;
  listeners_.push_back(std::make_unique<Listener>(
      Listener{std::move(acceptor), std::move(options), std::move(fixed)}));
}

awaitable<void> Worker::acceptLoop(Listener &listener) {
  Acceptor &acceptor = listener.acceptor;
  Timer pause(context_);
  Endpoint remote;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(remote, asio::as_tuple(use_awaitable));
    // A connection accepted as the acceptor closed (a drain) is served still: dropping it
    // would reset a client that did nothing wrong.
    if (ec == asio::error::operation_aborted || (ec && !acceptor.is_open()))
      co_return;
    if (ec) {
      // Out of file descriptors or the like: wait for connections to end rather than spin.
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    Admission::Ticket ticket = shared_.admission.admit(remote.data());
    if (!ticket.admitted) {
      error_code ignored;
      socket.close(ignored); // over limits.max_connections or max_connections_per_client
      continue;
    }
    ++metrics_.opened[static_cast<size_t>(metrics::Side::Downstream)]
                     [static_cast<size_t>(metrics::Protocol::Http1)];
    asio::co_spawn(context_,
                   serveConnection(*this, std::move(socket), remote,
                                   listener.local ? &*listener.local : nullptr, std::move(ticket),
                                   listener.options),
                   connectionEnded);
  }
}

void Worker::park(std::unique_ptr<http1::IdleConnection> connection, Duration timeout) {
  uint64_t id = nextParked_++;
  Parked &parked = parked_.emplace_hint(parked_.end(), id, Parked{})->second;
  parked.deadline = std::chrono::steady_clock::now() + timeout;
  parked.connection = std::move(connection);
  Transport<Socket> &client = parked.connection->client;
  auto woken = [this, id](const error_code &ec) {
    if (!ec)
      wake(id);
  };
  if (Ring *ring = Ring::current())
    parked.watch = ring->watchReadable(static_cast<int>(client.native_handle()), woken);
  else
    client.lowest().async_wait(asio::socket_base::wait_read, woken);
  parkedCount_.store(parked_.size(), std::memory_order_relaxed);
  armParkedTimer();
}

void Worker::wake(uint64_t id) {
  auto it = parked_.find(id);
  if (it == parked_.end())
    return; // closed as its bytes came
  std::unique_ptr<http1::IdleConnection> connection = std::move(it->second.connection);
  parked_.erase(it);
  parkedCount_.store(parked_.size(), std::memory_order_relaxed);
  asio::co_spawn(context_, serveWoken(*this, std::move(connection)), connectionEnded);
}

void Worker::closeParked(Parked &parked, bool callOff) {
  if (callOff && parked.watch)
    if (Ring *ring = Ring::current())
      ring->callOff(parked.watch);
  http1::IdleConnection &connection = *parked.connection;
  connection.client.shutdownSend();
  error_code ignored;
  connection.client.close(ignored);
  release(connection.ticket);
}

void Worker::closeExpired() {
  auto now = std::chrono::steady_clock::now();
  while (!parked_.empty() && parked_.begin()->second.deadline <= now) {
    closeParked(parked_.begin()->second, true);
    parked_.erase(parked_.begin());
  }
  parkedCount_.store(parked_.size(), std::memory_order_relaxed);
  armParkedTimer();
}

void Worker::armParkedTimer() {
  if (parked_.empty())
    return;
  auto next = parked_.begin()->second.deadline;
  if (parkedTimerAt_ != std::chrono::steady_clock::time_point{} && parkedTimerAt_ <= next)
    return; // set already, for as soon or sooner
  parkedTimerAt_ = next;
  parkedTimer_.expires_at(next); // cancels a wait set for later
  parkedTimer_.async_wait([this](const error_code &ec) {
    if (ec)
      return;
    parkedTimerAt_ = {};
    closeExpired();
  });
}

awaitable<void> Worker::housekeeping() {
  Timer tick(context_);
  for (;;) {
    tick.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await tick.async_wait(asio::as_tuple(use_awaitable));
    if (ec)
      co_return;
    pool_.prune();
    buffers_.releaseIdle();
    flushAccessLog();
    // A burst of sessions leaves its memory in malloc's free lists when they end (100 MB
    // after 10,000 idle connections closed; 80 MB when as many were parked): given back
    // once the worker holds far fewer sessions than at its peak. A parked connection's
    // few hundred bytes are not in the count: what they pin is what malloc_trim keeps.
    size_t now = connections_.size();
    if (peakSessions_ >= now + kTrimAfterEnding && now < peakSessions_ / 2) {
      ::malloc_trim(0);
      peakSessions_ = now;
    }
  }
}

void Worker::start() {
  for (auto &listener : listeners_)
    asio::co_spawn(context_, acceptLoop(*listener), asio::detached);
  asio::co_spawn(context_, housekeeping(), asio::detached);
  thread_ = std::thread([this] {
    metrics::setLocal(&metrics_);
    // Made on this thread, the only one to submit to it (IORING_SETUP_SINGLE_ISSUER).
    std::unique_ptr<Ring> ring;
    if (shared_.config.io == ServerConfig::Io::Uring) {
      std::string why;
      ring = Ring::open(context_, why);
      if (!ring && index_ == 0)
        spdlog::warn("io_uring refused ({}): sockets are read and written through epoll", why);
    }
    Ring::makeCurrent(ring.get());
    context_.run();
  });
}

void Worker::stop() {
  context_.stop();
}

void Worker::join() {
  if (thread_.joinable())
    thread_.join();
}

} // namespace turnout
