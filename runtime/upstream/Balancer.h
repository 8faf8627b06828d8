// Choosing a peer of an upstream, as its policy's `balance` says: weighted round robin
// (nginx's smooth variant), weighted random, least connections, and two consistent
// hashes of a per-request key: `hash` (weighted rendezvous hashing) and `ketama` (a ring
// of 160 points per unit of weight). Each worker thread has its own balancers, so nothing
// here locks. A peer that failed is left out for a while (passive health, as nginx's
// max_fails=1 fail_timeout=10s); when every peer is out, all are tried again.
#pragma once

#include "upstream/PeerStates.h"
#include "upstream/UpstreamSpec.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace turnout::upstream {

class Balancer {
public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kFailTimeout{10};
  static constexpr int kNoPeer = -1;

  // The seed of worker `index`'s balancers: each worker's rotations start elsewhere, so
  // that the first requests of all workers do not go to one peer.
  static constexpr uint64_t workerSeed(unsigned index) {
    return 0x9e3779b97f4a7c15ull * (index + 1);
  }

  // `maxActive` caps the requests in flight to one peer (0: no cap); a peer at its cap
  // is passed over as if tried.
  // `shared`, when given, says per peer whether active health checks let it in, whether
  // passive health ejected it, and whether it is drained (a drained peer is passed over as
  // if tried).
  Balancer(Balance balance, std::vector<PeerSpec> peers, uint64_t seed = 1, int64_t maxActive = 0,
           std::shared_ptr<PeerStates> shared = nullptr);

  // A peer for a request with balancing key `key` (unused but by the hashes), skipping
  // those in `tried` and those at their cap; kNoPeer when none is left.
  int pick(std::string_view key, const std::vector<bool> &tried, Clock::time_point now);

  void started(int peer) { ++peers_[peer].active; }
  void finished(int peer) { --peers_[peer].active; }
  // A failed connect rests the peer on this worker, unless the upstream has passive health
  // (outlier detection), which counts failures over every worker instead.
  void failed(int peer, Clock::time_point now) {
    if (!shared_ || !shared_->outlier().enabled)
      peers_[peer].downUntil = now + kFailTimeout;
  }
  void succeeded(int peer) { peers_[peer].downUntil = {}; }

  size_t size() const { return peers_.size(); }
  PeerStates *shared() const { return shared_.get(); }
  const PeerSpec &peer(int index) const { return peers_[index].spec; }
  // "ip:port", "[v6]:port": the peer's name (upstream.peer, logs, pool keys, hash keys).
  const std::string &address(int index) const { return peers_[index].spec.address; }
  bool down(int peer, Clock::time_point now) const {
    return peers_[peer].downUntil > now ||
           (shared_ && (!shared_->healthy(peer) || shared_->ejected(peer, now)));
  }

private:
  struct Peer {
    PeerSpec spec;
    uint64_t seed = 0;   // stableHash(spec.address): the peer's side of a rendezvous score
    int64_t current = 0; // smooth round robin
    int64_t active = 0;  // requests in flight (least_conn)
    Clock::time_point downUntil{};
  };

  int pickFrom(std::string_view key, const std::vector<bool> &skip);

  Balance balance_;
  int64_t maxActive_;
  std::shared_ptr<PeerStates> shared_;
  std::vector<Peer> peers_;
  std::vector<std::pair<uint32_t, int>> ring_; // ketama: point, peer
  std::mt19937_64 random_;
  std::vector<bool> skip_; // pick()'s scratch, kept to spare an allocation per request
};

// A stable 64-bit hash (the stdlib's hash64, FNV-1a, through a murmur finaliser so that
// every bit depends on every byte): keys hash the same in every process and on every
// machine, so consistent hashing is consistent across restarts.
uint64_t stableHash(std::string_view bytes, uint64_t seed = 0);

} // namespace turnout::upstream
