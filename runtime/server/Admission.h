// Which connections a proxy takes: at most limits.max_connections in the process, and at
// most limits.max_connections_per_client from one client address, so that one address
// (a slowloris holding thousands of connections) cannot lock every other client out. A
// connection over either is closed at once, and counted. Shared by the workers; taken
// once per connection, never per request.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

struct sockaddr;

namespace turnout {

class Admission {
public:
  Admission(uint64_t maxConnections, uint64_t maxPerClient)
      : maxConnections_(maxConnections), maxPerClient_(maxPerClient) {}

  // A connection taken, with the client key to release it by; or refused (and counted).
  struct Ticket {
    bool admitted = false;
    std::string client; // the address's bytes; "" for a client not counted (Unix sockets)
  };
  Ticket admit(const sockaddr *peer);
  void release(const Ticket &ticket);

  uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

private:
  uint64_t maxConnections_, maxPerClient_;
  std::atomic<uint64_t> connections_{0}, refused_{0};
  std::mutex mutex_;
  std::unordered_map<std::string, uint64_t> perClient_;
};

} // namespace turnout
