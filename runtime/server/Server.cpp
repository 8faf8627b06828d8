#include "server/Server.h"

#include "log/AccessLine.h"
#include "log/ErrorLog.h"

#include "route/abi.h"
#include "server/Control.h"
#include "server/ListenerHandover.h"
#include "server/Worker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

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

// Writes the pid, as a line, through a temporary file renamed into place: a reader never
// sees a half-written file.
bool writePidFile(const std::string &path) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string text = std::to_string(::getpid()) + "\n";
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0)
    ::close(fd);
  ok = ok && ::rename(temporary.c_str(), path.c_str()) == 0;
  if (!ok) {
    spdlog::error("cannot write the pid file {}: {}", path, std::strerror(errno));
    ::unlink(temporary.c_str());
  }
  return ok;
}

// Whether the listening socket `fd` is bound to `endpoint`.
bool boundTo(int fd, const Endpoint &endpoint) {
  sockaddr_storage local{};
  socklen_t size = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr *>(&local), &size) != 0 ||
      local.ss_family != endpoint.data()->sa_family)
    return false;
  if (local.ss_family == AF_UNIX) // the kernel's length counts the path's NUL, Asio's not
    return std::strncmp(reinterpret_cast<const sockaddr_un *>(&local)->sun_path,
                        reinterpret_cast<const sockaddr_un *>(endpoint.data())->sun_path,
                        sizeof(sockaddr_un::sun_path)) == 0;
  return size == endpoint.size() && std::memcmp(&local, endpoint.data(), size) == 0;
}

// The peers that may send a PROXY header, as an ACL; null for every peer.
std::shared_ptr<const RouteAcl> proxyFrom(const std::vector<std::string> &networks) {
  if (networks.empty())
    return nullptr;
  std::vector<RouteIp> addresses;
  std::vector<uint8_t> prefixes;
  for (const std::string &network : networks) {
    std::string address;
    int prefix = 0;
    parseNetwork(network, address, prefix); // checked with the config
    addresses.push_back(route_ParseIp({address.data(), address.size()}));
    prefixes.push_back(static_cast<uint8_t>(prefix));
  }
  return std::shared_ptr<const RouteAcl>(
      route_acl_create(addresses.data(), prefixes.data(), addresses.size()),
      [](const RouteAcl *acl) { route_acl_free(const_cast<RouteAcl *>(acl)); });
}

// The admin HTTP listener's bearer token: the file's first line, at least 16 bytes.
bool readToken(const std::string &path, std::string &token, std::string &error) {
  // As ssh treats a private key: a secret others can read is no secret.
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    error = fmt::format("the admin token file {} is readable by others (mode {:04o}): chmod 600 it",
                        path, info.st_mode & 07777);
    return false;
  }
  std::FILE *file = std::fopen(path.c_str(), "r");
  char line[4096] = {};
  bool read = file && std::fgets(line, sizeof line, file);
  if (file)
    std::fclose(file);
  token = line;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (!read || token.size() < 16) {
    error = fmt::format("the admin token file {} must hold a token of at least 16 bytes", path);
    return false;
  }
  return true;
}

// Removes the pid file if it still names this process: after an upgrade it names the
// new one.
void removePidFile(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "r");
  long pid = 0;
  if (file) {
    if (std::fscanf(file, "%ld", &pid) != 1)
      pid = 0;
    std::fclose(file);
  }
  if (pid == ::getpid())
    ::unlink(path.c_str());
}

} // namespace

int runServer(const ServerConfig &config, std::shared_ptr<const Policy> policy) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string logError;
  if (!log::setUpErrorLog(config.log, logError)) {
    spdlog::error("{}", logError);
    return 1;
  }
  SharedState shared{config};
  if (!config.log.access.empty()) {
    shared.accessLog = std::make_unique<log::FileWriter>(config.log.access);
    if (!shared.accessLog->start(logError)) {
      spdlog::error("the access log: {}", logError);
      return 1;
    }
  }
  for (const std::string &field : config.log.accessFields)
    shared.accessFields.push_back(*log::accessField(field));
  if (shared.accessFields.empty())
    shared.accessFields = log::allAccessFields();

  unsigned threads = config.threadCount();
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i)
    workers.push_back(std::make_unique<Worker>(shared, i));

  // The main thread runs the control plane: signals, the admin socket, policy loads. The
  // admin socket exists before the listeners do: once the port answers, it can be used.
  asio::io_context control;
  Control controller(control, shared, workers);
  controller.activate(std::move(policy));
  auto openAdmin = [&] {
    std::string token, error;
    bool ok = (config.admin.socket.empty() || controller.listen(config.admin.socket, error)) &&
              (!config.admin.http || (readToken(config.admin.tokenFile, token, error) &&
                                      controller.listenHttp(*config.admin.http, token, error))) &&
              (!config.metrics.listen || controller.listenMetrics(*config.metrics.listen, error));
    if (!ok)
      spdlog::error("{}", error);
    return ok;
  };
  // An upgrade takes the admin socket's path only once it has the listeners: until then
  // the running process keeps it.
  if (!config.upgrade && !openAdmin())
    return 1;
  // The listeners: taken over from the process being replaced (--upgrade), or opened.
  HandedOver handed;
  std::vector<int> &inherited = handed.listeners;
  if (config.upgrade) {
    std::string error;
    spdlog::info("waiting on {} for the running process's listeners (send it SIGQUIT)",
                 config.upgradeSocket);
    handed = receiveListeners(config.upgradeSocket, std::chrono::seconds(60), error);
    if (inherited.empty()) {
      spdlog::error("{}", error);
      return 1;
    }
    spdlog::info("took over {} listening socket{}", inherited.size(),
                 inherited.size() == 1 ? "" : "s");
  }
  std::vector<int> listenerFds; // what SIGQUIT passes on
  std::vector<std::string> unixPaths;
  std::vector<std::shared_ptr<tls::ListenerContext>> tlsListeners; // the control plane's
  uint32_t listenerIndex = 0;
  for (const ListenAddress &address : config.listeners()) {
    Endpoint endpoint = endpointOf(address);
    auto options = std::make_shared<listener::Options>();
    options->index = listenerIndex++;
    if (address.proxyProtocol) {
      options->proxyProtocol = true;
      options->proxyFrom = proxyFrom(address.proxyProtocolFrom);
    }
    if (address.tls) {
      auto tls = std::make_shared<tls::ListenerContext>(address.text, *address.tls);
      std::string error;
      std::vector<std::string> warnings;
      if (!loadTlsListener(*tls, error, warnings)) {
        spdlog::error("TLS listener {}: {}", address.text, error);
        return 1;
      }
      // The process before's sessions resume here: its ticket keys come with its listeners.
      if (auto keys = handed.ticketKeys.find(address.text);
          keys != handed.ticketKeys.end() && tls->adoptTicketKeys(keys->second))
        spdlog::info("TLS listener {}: the session ticket keys of the process before",
                     address.text);
      tlsListeners.push_back(tls);
      options->tls = std::move(tls);
    }
    std::vector<int> mine;
    for (int &fd : inherited)
      if (fd >= 0 && boundTo(fd, endpoint)) {
        mine.push_back(fd);
        fd = -1;
      }
    if (address.kind == ListenAddress::Kind::Unix) {
      struct stat info;
      if (mine.empty() && ::lstat(address.path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode))
        ::unlink(address.path.c_str()); // a stale socket of an earlier run
      unixPaths.push_back(address.path);
    }
    // Every worker gets one listener of a TCP address (SO_REUSEPORT); inherited ones are
    // all kept, spread over the workers, since closing one would reset the connections
    // waiting in its queue.
    size_t copies =
        address.kind == ListenAddress::Kind::Unix ? 1 : std::max(workers.size(), mine.size());
    for (size_t i = 0; i < copies; ++i) {
      error_code ec;
      Acceptor acceptor(workers[i % workers.size()]->context());
      if (i < mine.size())
        acceptor.assign(endpoint.protocol(), mine[i], ec);
      else
        acceptor = open(workers[i % workers.size()]->context(), address, ec);
      if (ec) {
        spdlog::error("cannot listen on {}: {}", address.text, ec.message());
        return 1;
      }
      listenerFds.push_back(acceptor.native_handle());
      workers[i % workers.size()]->listen(std::move(acceptor), options);
    }
  }
  for (int fd : inherited)
    if (fd >= 0) {
      spdlog::warn("a listener taken over is not in this configuration; closing it");
      ::close(fd);
    }
  // What SIGQUIT passes on: the listeners, and the TLS listeners' ticket keys as they are then.
  auto handOver = [&listenerFds, tlsListeners] {
    HandedOver out{listenerFds, {}};
    for (const auto &listener : tlsListeners)
      if (std::string keys = listener->handedTicketKeys(); !keys.empty())
        out.ticketKeys[listener->address()] = std::move(keys);
    return out;
  };
  controller.setTlsListeners(tlsListeners);
  if (config.upgrade && !openAdmin())
    return 1;

  asio::signal_set stop(control, SIGINT, SIGTERM);
  int received = 0;
  stop.async_wait([&](const error_code &ec, int signal) {
    if (!ec)
      received = signal;
    control.stop();
  });
  // SIGQUIT: a new process (--upgrade) takes the listeners; this one drains and exits.
  bool handedOver = false;
  asio::signal_set quit(control, SIGQUIT);
  std::function<void(const error_code &, int)> onQuit = [&](const error_code &ec, int) {
    if (ec)
      return;
    std::string error;
    if (config.upgradeSocket.empty()) {
      spdlog::error("SIGQUIT: no upgrade socket is configured (upgrade_socket); still serving");
    } else if (!sendListeners(config.upgradeSocket, handOver(), error)) {
      spdlog::error("SIGQUIT: {}; still serving", error);
    } else {
      spdlog::info("SIGQUIT: the listeners are the new process's; draining");
      handedOver = true;
      received = SIGQUIT;
      control.stop();
      return;
    }
    quit.async_wait(onQuit);
  };
  quit.async_wait(onQuit);
  // SIGUSR1: the log files opened again (logrotate's convention, as nginx's): lines
  // buffered before go to the old file, those after to the new one; none is lost.
  asio::signal_set reopen(control, SIGUSR1);
  std::function<void(const error_code &, int)> onReopen = [&](const error_code &ec, int) {
    if (ec)
      return;
    log::reopenErrorLog();
    if (shared.accessLog)
      shared.accessLog->reopen();
    spdlog::info("SIGUSR1: log files reopened");
    reopen.async_wait(onReopen);
  };
  reopen.async_wait(onReopen);
  asio::signal_set hangup(control, SIGHUP);
  std::function<void(const error_code &, int)> onHangup = [&](const error_code &ec, int) {
    if (ec)
      return;
    controller.reload();
    hangup.async_wait(onHangup);
  };
  hangup.async_wait(onHangup);
  for (auto &worker : workers)
    worker->start();
  if (!config.pidFile.empty() && !writePidFile(config.pidFile))
    return 1;
  std::string listening;
  for (const ListenAddress &address : config.listeners())
    listening += (listening.empty() ? "" : ", ") + address.text;
  const Policy &first = workers.front()->installed()->policy();
  spdlog::info("listening on {} with {} thread{}; policy {} ({}), version {}{}", listening, threads,
               threads == 1 ? "" : "s", first.path(), first.backend(), first.id(),
               config.admin.socket.empty() ? "" : "; admin socket " + config.admin.socket);
  control.run();
  // Stopping never waits on a worker's cooperation: one stuck in a handler cannot keep the
  // process alive past the grace period and a second to stop (SIGINT: the second alone).
  bool graceful = received == SIGTERM || received == SIGQUIT;
  std::thread([wait = (graceful ? config.timeouts.shutdownGrace : Duration(0)) + Duration(1000)] {
    std::this_thread::sleep_for(wait);
    spdlog::error("the workers did not stop within {} ms; exiting without them", wait.count());
    std::_Exit(1);
  }).detach();
  if (graceful) {
    // Graceful: no new connections; requests in flight finish, within the grace period.
    for (auto &worker : workers)
      worker->drain();
    auto deadline = std::chrono::steady_clock::now() + config.timeouts.shutdownGrace;
    auto busy = [&] {
      return shared.admission.connections() > 0 ||
             std::any_of(workers.begin(), workers.end(),
                         [](const auto &worker) { return !worker->drained(); });
    };
    while (busy() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (shared.admission.connections() > 0)
      spdlog::warn("{} connections still open after the grace period",
                   shared.admission.connections());
  }
  for (auto &worker : workers)
    worker->stop();
  workers.clear();
  if (!handedOver) // else the new process listens there
    for (const std::string &path : unixPaths)
      ::unlink(path.c_str());
  if (!config.pidFile.empty())
    removePidFile(config.pidFile);
  spdlog::info("stopped by signal {}", received);

  return 0;
}

} // namespace turnout
