#include "server/Worker.h"

#include "server/Connection.h"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace turnout {

namespace {

upstream::Balance balanceOf(route::ast::BalanceKind kind) {
  switch (kind) {
  case route::ast::BalanceKind::Random:
    return upstream::Balance::Random;
  case route::ast::BalanceKind::LeastConn:
    return upstream::Balance::LeastConn;
  case route::ast::BalanceKind::Hash:
    return upstream::Balance::Hash;
  case route::ast::BalanceKind::Ketama:
    return upstream::Balance::Ketama;
  default:
    return upstream::Balance::RoundRobin;
  }
}

// A connection's whole life, as a coroutine that owns it.
awaitable<void> serveConnection(Worker &worker, Socket socket) {
  Connection connection(worker, std::move(socket));
  co_await connection.serve();
}

} // namespace

Worker::Worker(SharedState &shared, unsigned index)
    : shared_(shared), index_(index), pool_(shared.config.upstreams.idlePerPeer) {
  for (const route::ast::UpstreamDecl *decl : shared_.policy->program().upstreams) {
    std::vector<upstream::PeerSpec> peers;
    for (const route::ast::ServerSpec &server : decl->config.servers)
      peers.push_back({server.host, server.port, server.weight});
    bool checked = decl->config.health.kind != route::ast::HealthCheckSpec::Kind::None;
    balancers_.emplace_back(balanceOf(decl->config.balance), std::move(peers), 0x9e3779b97f4a7c15ull * (index + 1),
                            decl->config.maxConnections,
                            checked ? shared_.health.peers(static_cast<uint32_t>(balancers_.size())) : nullptr);
  }
}

Worker::~Worker() {
  stop();
  join();
  flushAccessLog();
}

std::string Worker::nextRequestId() {
  static const pid_t pid = ::getpid();
  return fmt::format(FMT_COMPILE("{:x}-{:x}-{:x}"), pid, index_, ++requests_); // compiled: once per request
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

bool Worker::admit() {
  uint64_t now = ++shared_.connections;
  if (now <= shared_.config.limits.maxConnections)
    return true;
  --shared_.connections;
  return false;
}

void Worker::release() { --shared_.connections; }

void Worker::drain() {
  asio::post(context_, [this] {
    draining_ = true;
    for (auto &acceptor : acceptors_) {
      error_code ignored;
      acceptor->close(ignored);
    }
    for (Connection *connection : connections_)
      connection->closeIfIdle();
  });
}

void Worker::listen(Acceptor acceptor) { acceptors_.push_back(std::make_unique<Acceptor>(std::move(acceptor))); }

awaitable<void> Worker::acceptLoop(Acceptor &acceptor) {
  asio::steady_timer pause(context_);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open())
      co_return;
    if (ec) {
      // Out of file descriptors or the like: wait for connections to end rather than spin.
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (!admit()) {
      error_code ignored;
      socket.close(ignored); // over limits.max_connections
      continue;
    }
    asio::co_spawn(context_, serveConnection(*this, std::move(socket)), [this](std::exception_ptr failure) {
      release();
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception &e) {
          spdlog::error("a connection ended on an error: {}", e.what());
        }
      }
    });
  }
}

awaitable<void> Worker::housekeeping() {
  asio::steady_timer tick(context_);
  for (;;) {
    tick.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec)
      co_return;
    pool_.prune();
    flushAccessLog();
  }
}

void Worker::start() {
  for (auto &acceptor : acceptors_)
    asio::co_spawn(context_, acceptLoop(*acceptor), asio::detached);
  asio::co_spawn(context_, housekeeping(), asio::detached);
  if (index_ == 0) // one prober for the process
    upstream::startHealthChecks(context_, shared_.policy->program(), shared_.health, tls_);
  thread_ = std::thread([this] { context_.run(); });
}

void Worker::stop() { context_.stop(); }

void Worker::join() {
  if (thread_.joinable())
    thread_.join();
}

} // namespace turnout
