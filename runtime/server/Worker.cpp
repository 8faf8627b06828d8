#include "server/Worker.h"

#include "http1/DownstreamSession.h"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>

namespace turnout {

namespace {

// A connection's whole life, as a coroutine that owns it.
awaitable<void> serveConnection(Worker &worker, Socket socket,
                                std::shared_ptr<const listener::Options> options) {
  http1::DownstreamSession connection(worker, std::move(socket), std::move(options));
  co_await connection.serve();
}

} // namespace

Worker::Worker(SharedState &shared, unsigned index)
    : shared_(shared), index_(index),
      requestIdPrefix_(fmt::format("{:x}-{:x}-", ::getpid(), index)),
      pool_(shared.config.upstreams.idlePerPeer) {
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
  installed->version = std::move(version);
  balancers_ = std::move(balancers); // those of upstreams gone live on in older versions' requests
  installed_ = std::move(installed);
  installedGeneration_.store(generation, std::memory_order_release);
}

Worker::~Worker() {
  stop();
  join();
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

void Worker::accessLog(std::string_view line) {
  accessBuffer_.append(line);
  if (accessBuffer_.size() >= 16 * 1024)
    flushAccessLog();
}

void Worker::flushAccessLog() {
  // One write per batch of lines: O_APPEND keeps each batch whole beside other workers'.
  if (shared_.accessLog >= 0 && !accessBuffer_.empty() &&
      ::write(shared_.accessLog, accessBuffer_.data(), accessBuffer_.size()) < 0)
    spdlog::error("cannot write the access log: {}", std::strerror(errno));
  accessBuffer_.clear();
}

void Worker::drain() {
  asio::post(context_, [this] {
    draining_ = true;
    for (auto &listener : listeners_) {
      error_code ignored;
      listener->acceptor.close(ignored);
    }
    for (http1::DownstreamSession *connection : connections_)
      connection->closeIfIdle();
    // Behind whatever was queued meanwhile (a connection accepted as the acceptor closed).
    asio::post(context_, [this] { drained_.store(true); });
  });
}

void Worker::listen(Acceptor acceptor, std::shared_ptr<const listener::Options> options) {
  listeners_.push_back(
      std::make_unique<Listener>(Listener{std::move(acceptor), std::move(options)}));
}

awaitable<void> Worker::acceptLoop(Listener &listener) {
  Acceptor &acceptor = listener.acceptor;
  Timer pause(context_);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
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
    error_code peerError;
    Admission::Ticket ticket = shared_.admission.admit(socket.remote_endpoint(peerError).data());
    if (!ticket.admitted) {
      error_code ignored;
      socket.close(ignored); // over limits.max_connections or max_connections_per_client
      continue;
    }
    asio::co_spawn(context_, serveConnection(*this, std::move(socket), listener.options),
                   [this, ticket = std::move(ticket)](std::exception_ptr failure) {
                     shared_.admission.release(ticket);
                     if (!failure)
                       return;
                     // Whatever a connection throws ends that connection, never the worker.
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception &e) {
                       spdlog::error("a connection ended on an error: {}", e.what());
                     } catch (...) {
                       spdlog::error("a connection ended on an error that is not an exception");
                     }
                   });
  }
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
    // A burst of connections leaves its memory in malloc's free lists when it ends (100 MB
    // after 10,000 idle connections closed): given back once the worker holds far fewer
    // connections than at its peak.
    size_t now = connections_.size();
    if (peakConnections_ >= now + kTrimAfterClosing && now < peakConnections_ / 2) {
      ::malloc_trim(0);
      peakConnections_ = now;
    }
  }
}

void Worker::start() {
  for (auto &listener : listeners_)
    asio::co_spawn(context_, acceptLoop(*listener), asio::detached);
  asio::co_spawn(context_, housekeeping(), asio::detached);
  thread_ = std::thread([this] {
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
