// Idle upstream connections of one worker thread, by peer identity, for reuse by later
// requests (HTTP keep-alive). Only a connection whose last exchange ended cleanly comes
// back here; one that the peer closed or wrote to while idle is dropped when taken.
#pragma once

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
  };
  // Shorter than any keep-alive timeout upstream servers use (nginx 75 s, Node.js 5 s).
  static constexpr std::chrono::milliseconds kTrustedIdle{1000};
  size_t idlePerPeer_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
};

} // namespace turnout::upstream
