#include "upstream/Health.h"

#include "http1/Parser.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace turnout::upstream {

namespace {

// One check of one peer: a connection (and TLS) within the timeout, and for http checks
// a GET of the path answered with the expected status.
awaitable<bool> check(const UpstreamSpec &config, const PeerSpec &server, TlsContexts &tls) {
  auto executor = co_await asio::this_coro::executor;
  Stream stream{TcpSocket(executor)};
  Watchdog dog(executor);
  BufferPool buffers(16 * 1024);
  Duration timeout = config.health.timeout;
  std::string why;
  // An http check speaks HTTP/1.1, whatever the upstream's requests speak: no ALPN asks for h2.
  ConnectSettings settings = config.connect;
  settings.protocol = ConnectSettings::Protocol::Http1;
  IoStatus connected = co_await connect(stream, server.host, server.port, settings, tls, nullptr,
                                        buffers, dog, timeout, why);
  if (connected != IoStatus::Ok || config.health.kind == HealthSpec::Kind::Tcp)
    co_return connected == IoStatus::Ok;
  std::string host = config.connect.sni.empty() ? server.host : config.connect.sni;
  std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: turnout-health\r\nConnection: close\r\n\r\n",
      config.health.path, host);
  if (co_await writeAll(stream, request, dog, timeout) != IoStatus::Ok)
    co_return false;
  // The response's head is enough.
  http1::Parser response(http1::Parser::Kind::Response);
  InputBuffer in(buffers);
  while (!response.headComplete() && !response.failed()) {
    if (in.empty() && co_await readSome(stream, in, dog, timeout) != IoStatus::Ok)
      co_return false;
    in.consume(response.feed(in.data(), in.size()));
  }
  stream.close();
  co_return !response.failed() && response.head().status == config.health.expectStatus;
}

awaitable<void> probe(UpstreamSpec config, std::shared_ptr<PeerStates> states, TlsContexts &tls) {
  std::vector<int64_t> failures(config.peers.size()), passes(config.peers.size());
  Timer tick(co_await asio::this_coro::executor);
  while (!states->retired()) {
    for (size_t p = 0; p < config.peers.size(); ++p) {
      bool ok = co_await check(config, config.peers[p], tls);
      failures[p] = ok ? 0 : failures[p] + 1;
      passes[p] = ok ? passes[p] + 1 : 0;
      const std::string &peer = config.peers[p].address;
      if (states->healthy(p) && failures[p] >= config.health.unhealthyAfter) {
        states->setHealthy(p, false);
        spdlog::warn("upstream {} peer {} is out: {} failed health checks", config.name, peer,
                     failures[p]);
      } else if (!states->healthy(p) && passes[p] >= config.health.healthyAfter) {
        states->setHealthy(p, true);
        spdlog::info("upstream {} peer {} is back: {} passed health checks", config.name, peer,
                     passes[p]);
      }
    }
    tick.expires_after(config.health.interval);
    auto [ec] = co_await tick.async_wait(asio::as_tuple(use_awaitable));
    if (ec)
      co_return;
  }
}

} // namespace

void startHealthCheck(asio::io_context &context, const UpstreamSpec &spec,
                      std::shared_ptr<PeerStates> states, TlsContexts &tls) {
  asio::co_spawn(context, probe(spec, std::move(states), tls), asio::detached);
}

} // namespace turnout::upstream
