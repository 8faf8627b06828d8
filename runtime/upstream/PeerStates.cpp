#include "upstream/PeerStates.h"

#include <fmt/format.h>

namespace turnout::upstream {

PeerStates::PeerStates(size_t peers)
    : size_(peers), healthy_(std::make_unique<std::atomic<bool>[]>(peers)),
      drained_(std::make_unique<std::atomic<bool>[]>(peers)) {
  for (size_t p = 0; p < peers; ++p) {
    healthy_[p].store(true);
    drained_[p].store(false);
  }
}

std::string definitionOf(const route::ast::UpstreamDecl &decl) {
  const route::ast::UpstreamConfig &c = decl.config;
  std::string out =
      fmt::format("{} balance={} max_connections={} tls={} sni={} verify={}", decl.name,
                  static_cast<int>(c.balance), c.maxConnections, c.tls, c.sni, c.verify);
  for (const route::ast::ServerSpec &server : c.servers)
    out += fmt::format(" {} weight={}", server.address(), server.weight);
  const route::ast::HealthCheckSpec &h = c.health;
  if (h.kind != route::ast::HealthCheckSpec::Kind::None)
    out += fmt::format(" health={} {} {} {} {} {} {}", static_cast<int>(h.kind), h.path,
                       h.expectStatus, h.intervalNs, h.timeoutNs, h.unhealthyAfter, h.healthyAfter);
  return out;
}

} // namespace turnout::upstream
