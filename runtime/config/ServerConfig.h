// The proxy's process-level settings: listeners, threads, the policy file, limits,
// timeouts, logs. They come from embedded defaults, a YAML file (`turnout --config`) or
// the command line; everything per request lives in the policy.
#pragma once

#include "config/TlsSettings.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turnout {

using Duration = std::chrono::milliseconds;

// A policy's duration (nanoseconds) as a timeout: whole milliseconds, at least one.
inline Duration fromNanoseconds(int64_t ns) {
  return Duration(ns / 1'000'000 > 0 ? ns / 1'000'000 : 1);
}

struct ListenAddress {
  enum class Kind { Tcp, Unix } kind = Kind::Tcp;
  std::string host; // Tcp: an IPv4 or IPv6 address
  uint16_t port = 0;
  std::string path;               // Unix: the socket's path
  std::string text;               // as written
  std::optional<TlsSettings> tls; // a TLS listener's settings
  // A PROXY protocol header (v1 or v2) comes first on every connection, from the peers in
  // proxyProtocolFrom (networks: "10.0.0.0/8", "2001:db8::/32", an address) or any peer
  // when it is empty.
  bool proxyProtocol = false;
  std::vector<std::string> proxyProtocolFrom;
};

// Parses "10.0.0.0/8", "2001:db8::/32" or an address (a whole /32 or /128) into the
// address's text and the prefix length; false when it is none of these.
bool parseNetwork(const std::string &text, std::string &address, int &prefix);

// Parses "127.0.0.1:6188", "[::1]:6188", ":6188" (every IPv4 address) or
// "unix:/path/to.sock"; says why not in `error`.
std::optional<ListenAddress> parseListenAddress(const std::string &text, std::string &error);
// The metrics listener's address: TCP, any address.
std::optional<ListenAddress> parseMetricsAddress(const std::string &text, std::string &error);
// The admin HTTP listener's address: TCP on a loopback address (127.0.0.0/8 or ::1).
std::optional<ListenAddress> parseAdminHttpAddress(const std::string &text, std::string &error);

struct ServerConfig {
  std::vector<ListenAddress> listen; // empty: 127.0.0.1:6188
  unsigned threads = 0;              // 0: one per core
  std::string policy;

  // Defaults follow nginx's where nginx has one, and say so.
  struct Limits {
    size_t maxRequestLine = 8 * 1024;         // large_client_header_buffers: 8k
    size_t maxHeaderBytes = 32 * 1024;        // large_client_header_buffers: 4 x 8k
    size_t maxHeaderCount = 100;              // Envoy's max_headers_count
    uint64_t maxBodyBytes = 0;                // client_max_body_size; 0: no limit
    uint64_t maxRequestsPerConnection = 1000; // keepalive_requests
    uint64_t maxConnections = 10000;          // per process; worker_connections is per worker
    // From one client address (nginx's limit_conn, which has no default): a tenth of
    // max_connections, far above what a NAT's users open (a browser keeps 6 per host).
    uint64_t maxConnectionsPerClient = 1000; // 0: no limit
    // A request body slower than this (bytes per second of waiting for it, once
    // body_rate_after has passed) is cut off with 408, as Apache's mod_reqtimeout MinRate.
    uint64_t minBodyRate = 500;           // 0: no floor
    size_t replayBufferBytes = 64 * 1024; // a request body this small can be retried
  } limits;

  struct Timeouts {
    Duration headerRead{60'000}; // client_header_timeout: for the whole head, from its first byte
    Duration keepaliveIdle{75'000}; // keepalive_timeout
    Duration bodyRead{60'000};      // client_body_timeout, between two reads
    Duration bodyRateAfter{10'000}; // min_body_rate applies once a body was waited for this long
    Duration send{60'000};          // send_timeout, between two writes
    Duration shutdownGrace{30'000}; // after SIGTERM, for requests in flight to finish
    // A connection closed with the client still sending (an answer before the whole body
    // was read) reads and drops what comes for this long at most, and this long between
    // reads (nginx's lingering_time and lingering_timeout): closing at once would reset
    // the connection, and the client could lose the answer. 0: close at once.
    Duration lingeringTime{30'000};
    Duration lingeringTimeout{5'000};
    // A tunnel (a WebSocket, an upgrade) through which nothing went either way for this
    // long is closed (HAProxy's timeout tunnel); the upstream's read and write timeouts do
    // not apply to a tunnel.
    Duration tunnelIdleTimeout{300'000};
  } timeouts;

  // The protocols an HTTP/1.1 `Upgrade` (or an HTTP/2 extended CONNECT) may switch to,
  // lowercase; any other is not honoured (the request goes on as a plain one). h2c never is.
  std::vector<std::string> upgrades{"websocket"};
  bool honoursUpgrade(std::string_view protocol) const {
    return std::find(upgrades.begin(), upgrades.end(), protocol) != upgrades.end();
  }

  // HTTP/2 towards clients (TLS with ALPN h2, or prior knowledge on a plain listener). Each
  // is a limit a client cannot talk its way past; defaults as nginx, Envoy's edge guide
  // and nghttpx set them.
  struct Http2 {
    uint32_t maxConcurrentStreams = 100;      // nginx http2_max_concurrent_streams
    uint32_t initialStreamWindow = 64 * 1024; // nginx's; the connection's is this x streams,
                                              // so that one stream cannot starve the others
    uint32_t maxFrameSize = 16 * 1024;        // the protocol's default
    uint32_t maxHeaderListSize = 32 * 1024;   // decoded bytes, as limits.max_header_bytes
    uint32_t headerTableSize = 4096;          // the HPACK table the client may fill
    Duration idleTimeout{75'000};             // no stream open: GOAWAY, as keepalive_timeout
    uint64_t maxRequestsPerConnection = 1000; // then GOAWAY (nginx keepalive_requests)
    // Rapid reset (CVE-2023-44487): RST_STREAMs from a client, a token bucket of this burst
    // refilled at this rate; past it, GOAWAY. nghttp2's defaults.
    uint64_t maxResets = 1000;
    uint64_t resetsPerSecond = 33;
    // Streams the client made fail (malformed requests, invalid or empty frames: the
    // MadeYouReset class), the same way: nghttp2 1.67's glitch limit, which 1.52 lacks.
    uint64_t maxStreamErrors = 1000;
    uint64_t streamErrorsPerSecond = 33;
  } http2;

  struct Upstreams {
    // Idle connections kept per peer and thread: more than a busy proxy has requests in
    // flight to one peer, or every response beyond the cap closes a connection and a later
    // request opens one (at 200 concurrent requests a cap of 128 churned 1,500 connections
    // a second and tripled p99). nginx's usual `keepalive 32` is that trap; HAProxy keeps
    // them all; 1,024 is Envoy's default connection limit per cluster.
    size_t idlePerPeer = 1024;
    // Request trailers (after a chunked body) go upstream only by these names: a trailer
    // could carry what the policy deleted from the head, past its eyes. Default: none.
    std::vector<std::string> passRequestTrailers;
  } upstreams;

  struct Admin {
    // The control socket (a Unix socket, mode 0600): load a policy, list versions, roll
    // back, report and drain peers, stats. "" for none.
    std::string socket;
    size_t keepVersions = 8; // compiled versions kept for an instant rollback
    // The same protocol over HTTP (POST /v1/admin), on a loopback address only, for
    // requests bearing the token in `tokenFile` (Authorization: Bearer ...).
    std::optional<ListenAddress> http;
    std::string tokenFile;
  } admin;
  // W3C trace context: a request's traceparent continued, or a trace started (sampled at
  // sampleRatio), and passed upstream with the proxy's span as parent.
  struct Tracing {
    bool enabled = true;
    double sampleRatio = 1.0; // of the traces the proxy starts, as Envoy's random_sampling
    // 0: ids drawn at random; otherwise every request's drawn afresh from this seed, the
    // same each time (routec's simulations: reproducible runs). Not a config key.
    uint64_t seed = 0;
  } tracing;
  struct Metrics {
    // Where GET /metrics (the Prometheus text format) is served, to anyone who reaches
    // it (no token): bind it where only the scraper does. The admin HTTP listener serves
    // it too, behind its token.
    std::optional<ListenAddress> listen;
  } metrics;
  // How workers read and write plain sockets: through an io_uring ring (batched, one
  // system call per turn of the event loop; epoll when the kernel refuses io_uring), or
  // one system call each through epoll.
  enum class Io { Uring, Epoll } io = Io::Uring;
  std::string pidFile; // written once listening, removed on exit; "" for none
  // Where a new process started with --upgrade waits for the listening sockets of the old
  // one, which passes them on SIGQUIT. "" for none (SIGQUIT is then refused).
  std::string upgradeSocket;
  bool upgrade = false; // --upgrade: take the listeners over instead of opening them
  struct Log {
    // Errors and events: debug, info, warn (upstream failures), error; to `error` ("stderr"
    // or a path) and, with `syslog`, to syslog too (ident turnout, facility daemon).
    std::string level = "info";
    std::string error = "stderr";
    bool syslog = false;
    std::string access; // access log: a path, "stderr", or "" for none
    enum class AccessFormat { Text, Json } accessFormat = AccessFormat::Text;
    // The fields of a JSON line (log/AccessLine.h names them); empty: every field.
    std::vector<std::string> accessFields;
  } log;

  std::vector<ListenAddress> listeners() const;
  unsigned threadCount() const;
};

// "uring" or "epoll" (the config's `io`, `turnout run --io`); nothing, and why in
// `error`, for another name.
std::optional<ServerConfig::Io> parseIo(const std::string &text, std::string &error);

// Reads a YAML server config. Unknown keys and bad values are errors naming the key and
// its FILE:LINE:COL; returns nothing and says why in `error`.
std::optional<ServerConfig> loadServerConfig(const std::string &path, std::string &error);

} // namespace turnout
