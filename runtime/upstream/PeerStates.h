// What every worker knows of one upstream's peers beyond its own balancing: whether the
// active health checks let each in, and whether an operator drained it. The health prober
// and the control plane write; every worker's balancer reads (relaxed atomics, no locks).
// Policy versions whose upstream has the same definition share one PeerStates, so a swap
// keeps both the verdicts and the drains.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace turnout::upstream {

class PeerStates {
public:
  explicit PeerStates(size_t peers);

  size_t size() const { return size_; }
  bool healthy(size_t peer) const { return healthy_[peer].load(std::memory_order_relaxed); }
  void setHealthy(size_t peer, bool in) { healthy_[peer].store(in, std::memory_order_relaxed); }
  // A drained peer takes no new requests; those in flight finish.
  bool drained(size_t peer) const { return drained_[peer].load(std::memory_order_relaxed); }
  void setDrained(size_t peer, bool drained) {
    drained_[peer].store(drained, std::memory_order_relaxed);
  }

  // Once no active policy version has this upstream: its health prober stops.
  void retire() { retired_.store(true, std::memory_order_relaxed); }
  bool retired() const { return retired_.load(std::memory_order_relaxed); }

private:
  size_t size_;
  std::unique_ptr<std::atomic<bool>[]> healthy_, drained_;
  std::atomic<bool> retired_{false};
};

} // namespace turnout::upstream
