// turnout: the proxy.
//   turnout run POLICY [--listen ADDR]... [--listen-tls ADDR]... [--cert PEM --key PEM]...
//               [--threads N] [--access-log PATH] [--admin PATH] [--metrics ADDR]
//               [--pid-file PATH] [--upgrade-socket PATH] [--upgrade]
//   turnout --config FILE
#include "config/ServerConfig.h"
#include "policy/PolicyLoader.h"
#include "server/Server.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

int main(int argc, char **argv) {
  CLI::App app{"turnout: a programmable HTTP reverse proxy and load balancer", "turnout"};
  app.set_version_flag("--version", "turnout " TURNOUT_VERSION);
  app.require_subcommand(0, 1);

  std::string configPath;
  app.add_option("--config", configPath,
                 "A YAML server config: listeners, threads, policy, limits, timeouts, logs")
      ->check(CLI::ExistingFile);

  turnout::ServerConfig config;
  std::vector<std::string> listen;
  std::string upgradeSocket;
  bool upgrade = false;
  app.add_option(
      "--upgrade-socket", upgradeSocket,
      "Where a new process (--upgrade) waits for this one's listeners, passed on SIGQUIT");
  app.add_flag("--upgrade", upgrade,
               "Take the listening sockets over from the running process (then SIGQUIT it)");
  CLI::App *run =
      app.add_subcommand("run", "Serve a policy with embedded defaults (127.0.0.1:6188)");
  run->fallthrough(); // --upgrade and --upgrade-socket after `run POLICY` too
  run->add_option("policy", config.policy, "The policy file (.route)")
      ->required()
      ->check(CLI::ExistingFile);
  run->add_option("--listen", listen, "HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH; repeatable");
  std::vector<std::string> listenTls, certs, keys;
  run->add_option("--listen-tls", listenTls,
                  "HOST:PORT, [IPV6]:PORT or :PORT serving TLS with the --cert/--key pairs; "
                  "repeatable");
  run->add_option("--cert", certs,
                  "A PEM certificate (then its chain) for --listen-tls; the first is the "
                  "default, the others are chosen by SNI; repeatable")
      ->check(CLI::ExistingFile);
  run->add_option("--key", keys, "The PEM private key of the --cert at the same place")
      ->check(CLI::ExistingFile);
  run->add_option("--threads", config.threads, "Worker threads; 0 for one per core")
      ->check(CLI::Range(0, 1024));
  run->add_option("--access-log", config.log.access,
                  "A file for one line per request, or 'stderr'");
  run->add_option("--admin", config.admin.socket,
                  "A Unix socket for the control plane (routec load, versions, rollback)");
  run->add_option("--pid-file", config.pidFile, "A file to write the process id to while serving");
  std::string io;
  run->add_option("--io", io,
                  "How sockets are read and written: uring (epoll where refused) or epoll");
  std::string adminHttp;
  run->add_option("--admin-http", adminHttp,
                  "The control plane over HTTP on a loopback HOST:PORT (needs a token)");
  run->add_option("--admin-token-file", config.admin.tokenFile,
                  "The bearer token the admin HTTP listener requires");
  std::string metricsAddress;
  run->add_option("--metrics", metricsAddress,
                  "Serve GET /metrics (Prometheus) on HOST:PORT, without a token");

  CLI11_PARSE(app, argc, argv);
  if (run->parsed() == !configPath.empty()) {
    fmt::print(stderr, "turnout: give either 'run POLICY' or '--config FILE'\n{}", app.help());
    return 2;
  }
  if (!configPath.empty()) {
    std::string error;
    auto loaded = turnout::loadServerConfig(configPath, error);
    if (!loaded) {
      fmt::print(stderr, "{}\n", error);
      return 2;
    }
    config = *loaded;
    if (config.policy.empty()) {
      fmt::print(stderr, "{}: the config names no policy (key 'policy')\n", configPath);
      return 2;
    }
  }
  if (!io.empty()) {
    std::string error;
    auto parsed = turnout::parseIo(io, error);
    if (!parsed) {
      fmt::print(stderr, "turnout: --io {}\n", error);
      return 2;
    }
    config.io = *parsed;
  }
  if (!adminHttp.empty()) {
    std::string error;
    config.admin.http = turnout::parseAdminHttpAddress(adminHttp, error);
    if (!config.admin.http || config.admin.tokenFile.empty()) {
      fmt::print(stderr, "turnout: --admin-http {}\n",
                 config.admin.http ? "needs --admin-token-file" : error);
      return 2;
    }
  }
  if (!metricsAddress.empty()) {
    std::string error;
    config.metrics.listen = turnout::parseMetricsAddress(metricsAddress, error);
    if (!config.metrics.listen) {
      fmt::print(stderr, "turnout: --metrics {}\n", error);
      return 2;
    }
  }
  if (!upgradeSocket.empty())
    config.upgradeSocket = upgradeSocket;
  config.upgrade = upgrade;
  if (config.upgrade && config.upgradeSocket.empty()) {
    fmt::print(
        stderr,
        "turnout: --upgrade needs an upgrade socket (--upgrade-socket or 'upgrade_socket')\n");
    return 2;
  }
  for (const std::string &text : listen) {
    std::string error;
    auto address = turnout::parseListenAddress(text, error);
    if (!address) {
      fmt::print(stderr, "turnout: --listen {}\n", error);
      return 2;
    }
    config.listen.push_back(*address);
  }
  if (certs.size() != keys.size() || (!listenTls.empty() && certs.empty())) {
    fmt::print(stderr, "turnout: --listen-tls needs --cert and --key pairs, a --key per --cert\n");
    return 2;
  }
  turnout::TlsSettings tls;
  for (size_t i = 0; i < certs.size(); ++i)
    tls.certificates.push_back({certs[i], keys[i], ""});
  for (const std::string &text : listenTls) {
    std::string error;
    auto address = turnout::parseListenAddress(text, error);
    if (!address || address->kind != turnout::ListenAddress::Kind::Tcp) {
      fmt::print(stderr, "turnout: --listen-tls {}\n", address ? "takes a TCP address" : error);
      return 2;
    }
    address->tls = tls;
    config.listen.push_back(*address);
  }

  std::string diagnostics;
  auto policy = turnout::loadPolicy(config.policy, diagnostics);
  fmt::print(stderr, "{}", diagnostics);
  if (!policy) {
    fmt::print(stderr, "turnout: {} has errors; not serving it\n", config.policy);
    return 1;
  }
  turnout::releaseCompilerMemory();
  return turnout::runServer(config, std::move(policy));
}
