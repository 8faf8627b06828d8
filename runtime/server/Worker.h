// One event loop on one thread: its own listeners (SO_REUSEPORT), connections, upstream
// connection pool, balancers and access log buffer. Workers share only the immutable
// policy, the configuration and a connection count.
#pragma once

#include "policy/Policy.h"
#include "server/Io.h"
#include "upstream/Balancer.h"
#include "upstream/Health.h"
#include "upstream/Pool.h"

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_set>

namespace turnout {

class Connection;
using Socket = asio::generic::stream_protocol::socket;
using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

struct SharedState {
  const ServerConfig &config;
  std::shared_ptr<const Policy> policy;
  std::atomic<uint64_t> connections{0};
  upstream::HealthTable health{policy->program()};
  int accessLog = -1; // a file descriptor, or -1
};

class Worker {
public:
  Worker(SharedState &shared, unsigned index);
  ~Worker();

  asio::io_context &context() { return context_; }
  const ServerConfig &config() const { return shared_.config; }
  std::shared_ptr<const Policy> policy() const { return shared_.policy; }
  upstream::Pool &pool() { return pool_; }
  upstream::TlsContexts &tls() { return tls_; }
  BufferPool &buffers() { return buffers_; }
  upstream::Balancer &balancer(uint32_t upstream) { return balancers_[upstream]; }

  // A request id unique in this process: worker index and a counter.
  std::string nextRequestId();
  bool accessLogging() const { return shared_.accessLog >= 0; }
  void accessLog(std::string_view line);

  void listen(Acceptor acceptor);
  void start();
  void stop();
  void join();

  // Connection accounting against limits.max_connections.
  bool admit();
  void release();

  // Graceful shutdown, from any thread: stop accepting, close idle connections, and let
  // each busy one end after its current request.
  void drain();
  bool draining() const { return draining_; }
  void track(Connection *connection) { connections_.insert(connection); }
  void forget(Connection *connection) { connections_.erase(connection); }

private:
  awaitable<void> acceptLoop(Acceptor &acceptor);
  awaitable<void> housekeeping();
  void flushAccessLog();

  SharedState &shared_;
  unsigned index_;
  // Declared before the context: its coroutines, destroyed with it, still use them.
  std::vector<upstream::Balancer> balancers_;
  std::unordered_set<Connection *> connections_;
  bool draining_ = false;
  uint64_t requests_ = 0;
  std::string accessBuffer_;
  BufferPool buffers_{64 * 1024};
  // One thread runs it, and only it touches its sockets: the reactor needs no locks.
  asio::io_context context_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  upstream::TlsContexts tls_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  upstream::Pool pool_;
  std::thread thread_;
};

} // namespace turnout
