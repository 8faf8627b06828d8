// An upstream as the data plane holds it: plain data the policy loader made from the
// checked `upstream` declaration (runtime/policy), so that balancing, pools, health checks
// and the request flow never see the compiler's tree.
#pragma once

#include "config/ServerConfig.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace turnout::upstream {

enum class Balance : uint8_t { RoundRobin, Random, LeastConn, Hash, Ketama };

struct PeerSpec {
  std::string host; // an IP address
  uint16_t port = 0;
  int64_t weight = 1;
  // "ip:port", "[v6]:port": the peer's name (upstream.peer, logs, pool keys, hash keys).
  std::string address;
};

// What a connection to a peer is held to, and how it is made.
struct ConnectSettings {
  Duration connectTimeout{5000}, readTimeout{60000}, writeTimeout{60000}, idleTimeout{60000};
  Duration totalTimeout{0}; // 0: no bound on the whole attempt
  bool tls = false, verify = true;
  // What the connections speak (the policy's `protocol`); Auto: ALPN over TLS decides.
  enum class Protocol : uint8_t { Http1, H2, H2c, Auto } protocol = Protocol::Http1;
  std::string sni;
  std::string ca, clientCert, clientKey; // PEM files; "": the system's CAs, no certificate
};

// An attempt's total_timeout: when it ends, and a wait's timeout within what is left.
class AttemptDeadline {
public:
  void start(const ConnectSettings &settings) {
    at_ = settings.totalTimeout.count() ? std::chrono::steady_clock::now() + settings.totalTimeout
                                        : std::chrono::steady_clock::time_point::max();
  }
  Duration within(Duration own) const {
    if (at_ == std::chrono::steady_clock::time_point::max())
      return own;
    auto left = std::chrono::duration_cast<Duration>(at_ - std::chrono::steady_clock::now());
    return std::max(Duration(1), std::min(own, left));
  }

private:
  std::chrono::steady_clock::time_point at_ = std::chrono::steady_clock::time_point::max();
};

struct HealthSpec {
  enum class Kind : uint8_t { None, Http, Tcp } kind = Kind::None;
  std::string path = "/";
  int64_t expectStatus = 200;
  Duration interval{5000}, timeout{1000};
  int64_t unhealthyAfter = 3, healthyAfter = 2;
};

// Passive health (outlier detection, as Envoy's consecutive failures): a peer that fails
// `failures` attempts in a row on live traffic leaves the rotation for `ejection`, doubled
// at each ejection that follows one within maxEjection, up to maxEjection; never more than
// maxEjectedPercent of the peers at once.
struct OutlierSpec {
  bool enabled = false;
  int64_t failures = 5;
  Duration ejection{30'000}, maxEjection{300'000};
  int64_t maxEjectedPercent = 10;
  bool count5xx = false; // a 5xx answer is a failure too
};

struct UpstreamSpec {
  std::string name;
  std::vector<PeerSpec> peers;
  Balance balance = Balance::RoundRobin;
  int64_t retries = 1;
  int64_t maxConnections = 0; // per peer and worker; 0: no cap
  ConnectSettings connect;
  OutlierSpec outlier;
  HealthSpec health;

  // What an upstream's shared and per-worker state (health, drains, balancer position)
  // depends on, as one string: its name, peers and weights, balance, cap, health check and
  // TLS settings. Two versions whose upstreams have the same definition share that state.
  std::string definition() const;
};

// "ip:port", or "[ip]:port" for IPv6.
std::string addressOf(const std::string &host, uint16_t port);

} // namespace turnout::upstream
