#include "upstream/UpstreamSpec.h"

#include <fmt/format.h>

namespace turnout::upstream {

std::string UpstreamSpec::definition() const {
  std::string out =
      fmt::format("{} balance={} max_connections={} tls={} sni={} verify={} protocol={}", name,
                  static_cast<int>(balance), maxConnections, connect.tls, connect.sni,
                  connect.verify, static_cast<int>(connect.protocol));
  for (const PeerSpec &peer : peers)
    out += fmt::format(" {} weight={}", peer.address, peer.weight);
  if (health.kind != HealthSpec::Kind::None)
    out += fmt::format(" health={} {} {} {} {} {} {}", static_cast<int>(health.kind), health.path,
                       health.expectStatus, health.interval.count(), health.timeout.count(),
                       health.unhealthyAfter, health.healthyAfter);
  if (outlier.enabled)
    out += fmt::format(" outlier={} {} {} {} {}", outlier.failures, outlier.ejection.count(),
                       outlier.maxEjection.count(), outlier.maxEjectedPercent, outlier.count5xx);
  return out;
}

std::string addressOf(const std::string &host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

} // namespace turnout::upstream
