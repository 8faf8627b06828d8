// What one worker counts of its traffic. Its own thread alone writes it, with plain
// increments: nothing on the request path locks or shares a cache line with another
// worker. A scrape copies it on that thread (Worker::snapshot) and sums the workers'
// copies; metrics/Exposition.h names them for Prometheus.
//
// Code on a worker's thread reaches its worker's metrics with local(): the sessions, the
// flow and the TLS handshakes count without being handed the worker.
#pragma once

#include "metrics/Histogram.h"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace turnout::metrics {

enum class Side : uint8_t { Downstream, Upstream };
enum class Protocol : uint8_t { Http1, Http2 };
inline constexpr size_t kSides = 2, kProtocols = 2, kStatusClasses = 5;
inline const char *name(Side side) {
  return side == Side::Downstream ? "downstream" : "upstream";
}
inline const char *name(Protocol p) {
  return p == Protocol::Http1 ? "http1" : "http2";
}

// What happened on the way to one peer of one upstream.
struct PeerCounters {
  uint64_t connects = 0;        // connections made
  uint64_t reuses = 0;          // requests sent on a pooled connection
  uint64_t connectFailures = 0; // connects refused, failed or timed out (TLS included)
  uint64_t timeouts = 0;        // connect, read and write timeouts
  uint64_t retries = 0;         // attempts beyond a request's first, sent to this peer
  uint64_t failures = 0;        // attempts that ended in an upstream error

  void add(const PeerCounters &o) {
    connects += o.connects;
    reuses += o.reuses;
    connectFailures += o.connectFailures;
    timeouts += o.timeouts;
    retries += o.retries;
    failures += o.failures;
  }
};

struct UpstreamCounters {
  // Requests answered, by listener (its index in the server config) and then protocol and
  // status class: [protocol * kStatusClasses + class].
  std::vector<std::array<uint64_t, kProtocols * kStatusClasses>> requests;
  Histogram duration;  // first request byte to last response byte
  Histogram firstByte; // the request's head sent to the response's head read
  std::unordered_map<std::string, PeerCounters> peers;

  void add(const UpstreamCounters &o);
};

struct WorkerMetrics {
  // By upstream name; "" for requests answered without one (by the policy, or refused).
  std::unordered_map<std::string, UpstreamCounters> upstreams;
  // Connections open now and opened ever, by side and protocol. A client connection that
  // turns to HTTP/2 counts as opened on both. Open HTTP/1 client connections are not
  // counted here: a scrape takes them from the admission count (every admitted connection
  // but the HTTP/2 ones), and adds the upstream pool's idle connections to those in use.
  std::array<std::array<int64_t, kProtocols>, kSides> open{}, opened{};
  // Client TLS handshakes by result: done, failed, timed out.
  enum class Handshake : uint8_t { Ok, Failed, TimedOut };
  std::array<uint64_t, 3> tlsHandshakes{};
  std::array<uint64_t, kSides> streams{}; // HTTP/2 streams opened

  void requestEnded(const std::string &upstream, uint32_t listener, Protocol protocol,
                    int64_t status, double seconds) {
    UpstreamCounters &u = upstreams[upstream];
    if (u.requests.size() <= listener)
      u.requests.resize(listener + 1);
    int64_t cls = status / 100 - 1;
    cls = cls < 0 ? 0 : cls >= static_cast<int64_t>(kStatusClasses) ? kStatusClasses - 1 : cls;
    ++u.requests[listener]
                [static_cast<size_t>(protocol) * kStatusClasses + static_cast<size_t>(cls)];
    u.duration.observe(seconds);
  }
  PeerCounters &peer(const std::string &upstream, const std::string &address) {
    return upstreams[upstream].peers[address];
  }
  void connectionOpened(Side side, Protocol protocol) {
    ++open[static_cast<size_t>(side)][static_cast<size_t>(protocol)];
    ++opened[static_cast<size_t>(side)][static_cast<size_t>(protocol)];
  }
  void connectionClosed(Side side, Protocol protocol) {
    --open[static_cast<size_t>(side)][static_cast<size_t>(protocol)];
  }

  void add(const WorkerMetrics &o);
};

// The metrics of the worker whose thread this is; elsewhere (the control plane, tests,
// routec), a thread's own that nothing reads.
WorkerMetrics &local();
// Makes `metrics` this thread's local(): a worker's, as its thread starts.
void setLocal(WorkerMetrics *metrics);

} // namespace turnout::metrics
