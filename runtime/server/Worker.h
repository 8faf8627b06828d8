// One event loop on one thread: its own listeners (SO_REUSEPORT), connections, upstream
// connection pool, balancers and access log buffer. Workers share only immutable policy
// versions, the configuration, the upstreams' peer states and a few counters.
#pragma once

#include "io/Io.h"
#include "listener/Options.h"
#include "log/AccessFields.h"
#include "log/FileWriter.h"
#include "metrics/WorkerMetrics.h"
#include "policy/Policy.h"
#include "server/Admission.h"
#include "upstream/Balancer.h"
#include "upstream/PeerStates.h"
#include "upstream/Pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace route {
class Exchange;
}

namespace turnout {

namespace http1 {
struct IdleConnection;
} // namespace http1
namespace http2 {
class UpstreamPool;
} // namespace http2
using Socket = asio::basic_stream_socket<asio::generic::stream_protocol, Executor>;
using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol, Executor>;
using Endpoint = asio::generic::stream_protocol::endpoint;

// How long a draining worker waits for a request that a client may have sent already.
inline constexpr Duration kDrainingWait{1000};

struct SharedState {
  const ServerConfig &config;
  Admission admission{config.limits.maxConnections, config.limits.maxConnectionsPerClient};
  std::unique_ptr<log::FileWriter> accessLog{}; // null: none
  std::vector<log::AccessField> accessFields{}; // of JSON lines
};

// How often each rule of a policy fired since it was loaded, per worker: worker w counts
// into hits(w) alone, and only its thread reads that (a scrape asks it). Every activation
// of the same version (a rollback to it, a load of the same sources) counts on here.
class RuleCounts {
public:
  RuleCounts(size_t rules, size_t workers)
      : stride_((rules + kPerLine - 1) / kPerLine * kPerLine),
        counts_(std::make_unique<uint64_t[]>(stride_ * workers)) {}
  uint64_t *hits(unsigned worker) const {
    return stride_ ? counts_.get() + stride_ * worker : nullptr;
  }

private:
  static constexpr size_t kPerLine = 64 / sizeof(uint64_t); // no two workers share a cache line
  size_t stride_;
  std::unique_ptr<uint64_t[]> counts_;
};

// A policy version as the control plane hands it to the workers: the policy, its rule
// counters and, per upstream of its program, the upstream's definition and peer states
// (shared with other versions that define it the same way).
struct PolicyVersion {
  std::shared_ptr<const Policy> policy;
  std::shared_ptr<RuleCounts> ruleCounts;
  struct Upstream {
    std::string definition;
    std::shared_ptr<upstream::PeerStates> peers;
  };
  std::vector<Upstream> upstreams;
  uint64_t generation = 0; // the control plane's count of activations, this one included
  uint64_t *ruleHits(unsigned worker) const { return ruleCounts->hits(worker); }
};

// A client connection as a drain reaches it: HTTP/1's session, HTTP/2's connection.
class ClientConnection {
public:
  // Ends the connection now if it waits for its next request, or once the requests it
  // has begun are answered (a graceful shutdown's part).
  virtual void closeIfIdle() = 0;

protected:
  ~ClientConnection() = default;
};

class Worker {
public:
  Worker(SharedState &shared, unsigned index);
  ~Worker();

  // A version as this worker runs it: the policy and its upstreams' balancers. A request
  // holds the one it started on to its end, whatever is installed meanwhile.
  struct Installed {
    std::shared_ptr<const PolicyVersion> version;
    std::vector<std::shared_ptr<upstream::Balancer>> balancers; // by upstream index
    uint64_t *ruleHits = nullptr;                               // this worker's
    const Policy &policy() const { return *version->policy; }
  };

  asio::io_context &context() { return context_; }
  const ServerConfig &config() const { return shared_.config; }
  const std::shared_ptr<const Installed> &installed() const { return installed_; }
  // Makes `version` the one new requests run, from any thread. Balancers of upstreams
  // whose definition did not change carry over (round-robin position, passive health,
  // requests in flight).
  void install(std::shared_ptr<const PolicyVersion> version);
  upstream::Pool &pool() { return pool_; }
  http2::UpstreamPool &http2Pool() { return *http2Pool_; }
  upstream::TlsContexts &tls() { return tls_; }
  BufferPool &buffers() { return buffers_; }
  // Where the policy phases of this worker's requests build their values: one arena, as
  // phases run one at a time on the worker's thread and keep nothing between runs.
  RouteArena *phaseArena() { return phaseArena_.get(); }
  // The generation of the version new requests run, readable from any thread.
  uint64_t installedGeneration() const {
    return installedGeneration_.load(std::memory_order_acquire);
  }
  // Requests this worker has begun, readable from any thread.
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  // Tunnels (WebSocket and other upgrades) open now, and ever opened, readable from any
  // thread; only this worker writes them.
  void tunnelOpened() {
    tunnelsOpen_.store(tunnelsOpen_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    tunnelsOpened_.store(tunnelsOpened_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  }
  void tunnelClosed() {
    tunnelsOpen_.store(tunnelsOpen_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  uint64_t tunnelsOpen() const { return tunnelsOpen_.load(std::memory_order_relaxed); }
  uint64_t tunnelsOpened() const { return tunnelsOpened_.load(std::memory_order_relaxed); }

  // A request id unique on this machine: process id, worker index and a counter, in hex.
  std::string nextRequestId();
  // What the sessions say of a request as it ends, besides its exchange.
  struct Ended {
    std::string_view target;  // as the request named it
    std::string_view relayIp; // the immediate peer, when a PROXY header named the client
    uint32_t listener = 0;    // its index in the server config
    metrics::Protocol protocol = metrics::Protocol::Http1;
    const Policy *policy = nullptr; // the version that served it
  };
  // A request's end: counted, and its access log line written.
  void requestEnded(const route::Exchange &x, const Ended &ended);
  // This worker's counters: its thread's alone (see snapshot()).
  metrics::WorkerMetrics &metrics() { return metrics_; }
  // Adds this worker's counters to `into`, and its hits of `version`'s rules to `hits`, on
  // its own thread, then calls `done` there: a scrape's part.
  void snapshot(std::shared_ptr<const PolicyVersion> version,
                std::function<void(const metrics::WorkerMetrics &, const uint64_t *hits)> done);

  // Accepts on `acceptor`; `options` say what comes before HTTP (PROXY header, TLS).
  void listen(Acceptor acceptor, std::shared_ptr<const listener::Options> options = nullptr);
  void start();
  void stop();
  void join();

  // Connection accounting against limits.max_connections.

  // Graceful shutdown, from any thread: stop accepting, close idle connections, and let
  // each busy one end after its current request.
  void drain();
  bool draining() const { return draining_; }
  // Whether the drain has taken effect (from any thread): no connection comes any more.
  bool drained() const { return drained_.load(); }
  void track(ClientConnection *connection) {
    connections_.insert(connection);
    peakSessions_ = std::max(peakSessions_, connections_.size());
  }
  void forget(ClientConnection *connection) { connections_.erase(connection); }
  void release(const Admission::Ticket &ticket) { shared_.admission.release(ticket); }
  // Keeps a kept-alive connection between requests without its session, watching its
  // socket: when its client sends again it is served on a new session; after `timeout`
  // (or a drain's quiet second) it is closed.
  void park(std::unique_ptr<http1::IdleConnection> connection, Duration timeout);
  // Connections parked now, readable from any thread.
  uint64_t parked() const { return parkedCount_.load(std::memory_order_relaxed); }

private:
  struct Listener {
    Acceptor acceptor;
    std::shared_ptr<const listener::Options> options;
    // The address its connections are on, when it is one (not 0.0.0.0 or [::]): theirs
    // without a getsockname each.
    std::optional<Endpoint> local;
  };
  // A connection parked, by the order it came in (a keep-alive timeout is the same for all,
  // so the first to go is the first in).
  struct Parked {
    std::unique_ptr<http1::IdleConnection> connection;
    std::chrono::steady_clock::time_point deadline;
    const void *watch = nullptr; // the ring's (Ring::WatchHandle); null on Asio's reactor
  };
  awaitable<void> acceptLoop(Listener &listener);
  void wake(uint64_t id);
  void closeParked(Parked &parked, bool callOff);
  // Closes the parked connections whose time is up, and sets the timer for the next.
  void closeExpired();
  void armParkedTimer();
  awaitable<void> housekeeping();
  // Hands the buffered access log lines to the log's writer thread.
  void flushAccessLog();
  static constexpr size_t kAccessBatchBytes = 64 * 1024;
  void installNow(std::shared_ptr<const PolicyVersion> version);

  SharedState &shared_;
  unsigned index_;
  std::string requestIdPrefix_; // "pid-index-"
  // Declared before the context: its coroutines, destroyed with it, still use them.
  std::shared_ptr<const Installed> installed_;
  std::unordered_map<std::string, std::shared_ptr<upstream::Balancer>> balancers_; // by definition
  std::unordered_set<ClientConnection *> connections_;
  // The most sessions since memory was last given back, and how many fewer make a trim.
  size_t peakSessions_ = 0;
  static constexpr size_t kTrimAfterEnding = 1024;
  bool draining_ = false;
  std::atomic<bool> drained_{false};
  std::atomic<uint64_t> requests_{0};    // written by this worker only
  std::atomic<uint64_t> parkedCount_{0}; // parked_.size(), for other threads
  std::atomic<uint64_t> tunnelsOpen_{0}, tunnelsOpened_{0};
  std::atomic<uint64_t> installedGeneration_{0};
  std::string accessBuffer_;
  metrics::WorkerMetrics metrics_;
  BufferPool buffers_{64 * 1024};
  std::unique_ptr<RouteArena, void (*)(RouteArena *)> phaseArena_{route_arena_create(),
                                                                  route_arena_destroy};
  // One thread runs it, and only it touches its sockets: the reactor needs no locks.
  asio::io_context context_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  upstream::TlsContexts tls_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  // After the context: their sockets go first.
  std::map<uint64_t, Parked> parked_;
  uint64_t nextParked_ = 0;
  Timer parkedTimer_{context_};
  std::chrono::steady_clock::time_point parkedTimerAt_{};
  upstream::Pool pool_;
  std::unique_ptr<http2::UpstreamPool> http2Pool_;
  std::thread thread_;
};

} // namespace turnout
