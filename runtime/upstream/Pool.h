// Idle upstream connections of one worker thread, by peer identity, for reuse by later
// requests (HTTP keep-alive). Only a connection whose last response was read to its exact
// end comes back here. While idle, each is watched, as nginx keeps a read armed on its
// idle upstream connections: bytes (a peer that sends what nobody asked for, which would
// otherwise be read as the next request's response) or the peer's close drop it at once.
#pragma once

#include "io/Ring.h"
#include "upstream/Stream.h"

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace turnout::upstream {

class Pool {
public:
  using Clock = std::chrono::steady_clock;
  explicit Pool(size_t idlePerPeer) : idlePerPeer_(idlePerPeer) {}

  // The most recently used live idle connection to `peer`, if any. `retryable`: the
  // request can be sent again on another connection if this one turns out stale.
  std::optional<Stream> take(const std::string &peer, bool retryable);
  // Keeps `socket` for `idleTimeout`; beyond idlePerPeer, the oldest is closed.
  void put(const std::string &peer, Stream stream, Duration idleTimeout);
  // Closes the connections idle past their timeout.
  void prune();
  size_t idleCount() const;

private:
  struct Idle {
    Stream stream;
    Clock::time_point since, expires;
    uint64_t id;                       // what its watch names it by
    Ring::WatchHandle watch = nullptr; // through the worker's ring; null: Asio's reactor
  };
  void watch(std::vector<Idle> &list, Idle &idle);
  // Ends the watch of a connection leaving the pool (taken, or closed).
  static void callOff(Idle &idle);
  // A watched connection had bytes or its peer's close: it goes.
  static void drop(std::vector<Idle> &list, uint64_t id);
  // Shorter than any keep-alive timeout upstream servers use (nginx 75 s, Node.js 5 s).
  static constexpr std::chrono::milliseconds kTrustedIdle{1000};
  size_t idlePerPeer_;
  uint64_t nextId_ = 0;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
};

} // namespace turnout::upstream
