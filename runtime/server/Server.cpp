#include "server/Server.h"

#include "server/Worker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace turnout {

namespace {

using Endpoint = asio::generic::stream_protocol::endpoint;

Endpoint endpointOf(const ListenAddress &address) {
  if (address.kind == ListenAddress::Kind::Unix)
    return Endpoint(asio::local::stream_protocol::endpoint(address.path));
  return Endpoint(tcp::endpoint(asio::ip::make_address(address.host), address.port));
}

// An acceptor on `address` for one worker. TCP listeners are opened once per worker with
// SO_REUSEPORT, so that the kernel spreads connections over the workers with no shared
// accept queue; a Unix socket has one listener, on the first worker.
Acceptor open(asio::io_context &context, const ListenAddress &address, error_code &ec) {
  Endpoint endpoint = endpointOf(address);
  Acceptor acceptor(context);
  acceptor.open(endpoint.protocol(), ec);
  if (ec)
    return acceptor;
  if (address.kind == ListenAddress::Kind::Tcp) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    int one = 1;
    ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (address.host.find(':') != std::string::npos)
      ::setsockopt(acceptor.native_handle(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  acceptor.bind(endpoint, ec);
  if (ec)
    return acceptor;
  acceptor.listen(511, ec); // nginx's default backlog
  return acceptor;
}

} // namespace

int runServer(const ServerConfig &config, std::shared_ptr<const Policy> policy) {
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_default_logger(spdlog::stderr_color_mt("turnout"));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e turnout %l: %v");
  spdlog::set_level(spdlog::level::from_str(config.log.level));
  SharedState shared{config, std::move(policy)};
  if (!config.log.access.empty()) {
    shared.accessLog = config.log.access == "stderr"
                           ? STDERR_FILENO
                           : ::open(config.log.access.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (shared.accessLog < 0) {
      spdlog::error("cannot open the access log {}: {}", config.log.access, std::strerror(errno));
      return 1;
    }
  }

  unsigned threads = config.threadCount();
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i)
    workers.push_back(std::make_unique<Worker>(shared, i));

  std::vector<std::string> unixPaths;
  for (const ListenAddress &address : config.listeners()) {
    if (address.kind == ListenAddress::Kind::Unix) {
      struct stat info;
      if (::lstat(address.path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode))
        ::unlink(address.path.c_str()); // a stale socket of an earlier run
      unixPaths.push_back(address.path);
    }
    size_t copies = address.kind == ListenAddress::Kind::Unix ? 1 : workers.size();
    for (size_t i = 0; i < copies; ++i) {
      error_code ec;
      Acceptor acceptor = open(workers[i]->context(), address, ec);
      if (ec) {
        spdlog::error("cannot listen on {}: {}", address.text, ec.message());
        return 1;
      }
      workers[i]->listen(std::move(acceptor));
    }
  }

  asio::io_context signals;
  asio::signal_set stop(signals, SIGINT, SIGTERM);
  int received = 0;
  stop.async_wait([&](const error_code &ec, int signal) {
    if (!ec)
      received = signal;
  });
  for (auto &worker : workers)
    worker->start();
  std::string listening;
  for (const ListenAddress &address : config.listeners())
    listening += (listening.empty() ? "" : ", ") + address.text;
  spdlog::info("listening on {} with {} thread{}; policy {} ({})", listening, threads, threads == 1 ? "" : "s",
               shared.policy->path(), shared.policy->backend());
  signals.run();
  if (received == SIGTERM) {
    // Graceful: no new connections; requests in flight finish, within the grace period.
    for (auto &worker : workers)
      worker->drain();
    auto deadline = std::chrono::steady_clock::now() + config.timeouts.shutdownGrace;
    while (shared.connections > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (shared.connections > 0)
      spdlog::warn("{} connections still open after the grace period", shared.connections.load());
  }
  for (auto &worker : workers)
    worker->stop();
  workers.clear();
  for (const std::string &path : unixPaths)
    ::unlink(path.c_str());
  spdlog::info("stopped by signal {}", received);
  if (shared.accessLog > STDERR_FILENO)
    ::close(shared.accessLog);
  return 0;
}

} // namespace turnout
