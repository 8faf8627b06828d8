// What every worker knows of one upstream's peers beyond its own balancing: whether the
// active health checks let each in, whether an operator drained it, and whether passive
// health (outlier detection) ejected it. The health prober, the control plane and every
// worker's requests write; every worker's balancer reads (relaxed atomics, no locks: the
// request path touches them only to read, and to write on a failure or after one).
// Policy versions whose upstream has the same definition share one PeerStates, so a swap
// keeps the verdicts, the drains and the ejections.
#pragma once

#include "upstream/UpstreamSpec.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace turnout::upstream {

class PeerStates {
public:
  using Clock = std::chrono::steady_clock;

  explicit PeerStates(size_t peers, OutlierSpec outlier = {});

  size_t size() const { return size_; }
  bool healthy(size_t peer) const { return peers_[peer].healthy.load(std::memory_order_relaxed); }
  void setHealthy(size_t peer, bool in) {
    peers_[peer].healthy.store(in, std::memory_order_relaxed);
  }
  // A drained peer takes no new requests; those in flight finish.
  bool drained(size_t peer) const { return peers_[peer].drained.load(std::memory_order_relaxed); }
  void setDrained(size_t peer, bool drained) {
    peers_[peer].drained.store(drained, std::memory_order_relaxed);
  }

  // Passive health. An attempt's outcome on live traffic: a failure (a connect failure, a
  // timeout, a reset; a 5xx when the spec counts them) or not. Returns true when this
  // failure ejected the peer.
  bool attemptFailed(size_t peer, Clock::time_point now);
  void attemptSucceeded(size_t peer) {
    std::atomic<uint32_t> &run = peers_[peer].consecutiveFailures;
    if (run.load(std::memory_order_relaxed) != 0) // no write, and no shared line, when 0
      run.store(0, std::memory_order_relaxed);
  }
  bool ejected(size_t peer, Clock::time_point now) const {
    return peers_[peer].ejectedUntil.load(std::memory_order_relaxed) > ticks(now);
  }
  // When the peer's ejection ends (a time past when it is not ejected).
  Clock::time_point ejectedUntil(size_t peer) const {
    return Clock::time_point(
        Clock::duration(peers_[peer].ejectedUntil.load(std::memory_order_relaxed)));
  }
  uint64_t ejections(size_t peer) const {
    return peers_[peer].ejections.load(std::memory_order_relaxed);
  }
  const OutlierSpec &outlier() const { return outlier_; }

  // Once no active policy version has this upstream: its health prober stops.
  void retire() { retired_.store(true, std::memory_order_relaxed); }
  bool retired() const { return retired_.load(std::memory_order_relaxed); }

private:
  static int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

  // One peer's state, on a cache line of its own: workers fail on different peers.
  struct alignas(64) Peer {
    std::atomic<bool> healthy{true}, drained{false};
    std::atomic<uint32_t> consecutiveFailures{0};
    std::atomic<int64_t> ejectedUntil{0}; // steady clock ticks
    std::atomic<uint64_t> ejections{0};   // ever
    std::atomic<uint32_t> streak{0};      // ejections in a row, each within maxEjection of the last
  };
  size_t size_;
  OutlierSpec outlier_;
  std::unique_ptr<Peer[]> peers_;
  std::atomic<bool> retired_{false};
};

} // namespace turnout::upstream
