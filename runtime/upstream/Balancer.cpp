#include "upstream/Balancer.h"

#include "route/abi.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace turnout::upstream {

uint64_t stableHash(std::string_view bytes, uint64_t seed) {
  uint64_t h = static_cast<uint64_t>(route_Hash64({bytes.data(), bytes.size()})) ^ seed;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

Balancer::Balancer(Balance balance, std::vector<PeerSpec> peers, uint64_t seed, int64_t maxActive,
                   std::shared_ptr<PeerStates> shared)
    : balance_(balance), maxActive_(maxActive), shared_(std::move(shared)), random_(seed) {
  for (PeerSpec &spec : peers) {
    uint64_t seed = stableHash(spec.address);
    peers_.push_back(Peer{std::move(spec), seed});
  }
  if (balance_ == Balance::Ketama) {
    for (size_t p = 0; p < peers_.size(); ++p) {
      const std::string &name = peers_[p].spec.address;
      int64_t points = 160 * std::max<int64_t>(1, peers_[p].spec.weight);
      for (int64_t i = 0; i < points; ++i)
        ring_.emplace_back(static_cast<uint32_t>(stableHash(name + "-" + std::to_string(i))),
                           static_cast<int>(p));
    }
    std::sort(ring_.begin(), ring_.end());
  }
}

int Balancer::pick(std::string_view key, const std::vector<bool> &tried, Clock::time_point now) {
  std::vector<bool> &skip = skip_;
  skip.assign(peers_.size(), false);
  bool anyUp = false;
  auto unavailable = [&](size_t p) {
    return (p < tried.size() && tried[p]) || (maxActive_ > 0 && peers_[p].active >= maxActive_) ||
           (shared_ && shared_->drained(p));
  };
  for (size_t p = 0; p < peers_.size(); ++p) {
    skip[p] = unavailable(p) || down(static_cast<int>(p), now);
    anyUp = anyUp || !skip[p];
  }
  if (!anyUp) // every available peer is resting: try them anyway rather than fail
    for (size_t p = 0; p < peers_.size(); ++p)
      skip[p] = unavailable(p);
  return pickFrom(key, skip);
}

int Balancer::pickFrom(std::string_view key, const std::vector<bool> &skip) {
  int best = kNoPeer;
  switch (balance_) {
  case Balance::RoundRobin: {
    // Smooth weighted round robin: every eligible peer gains its weight, the richest is
    // chosen and pays the total. Weights 3:1 give a b a a, not a a a b.
    int64_t total = 0;
    for (size_t p = 0; p < peers_.size(); ++p) {
      if (skip[p])
        continue;
      peers_[p].current += peers_[p].spec.weight;
      total += peers_[p].spec.weight;
      if (best == kNoPeer || peers_[p].current > peers_[best].current)
        best = static_cast<int>(p);
    }
    if (best != kNoPeer)
      peers_[best].current -= total;
    return best;
  }
  case Balance::Random: {
    int64_t total = 0;
    for (size_t p = 0; p < peers_.size(); ++p)
      total += skip[p] ? 0 : peers_[p].spec.weight;
    if (total == 0)
      return kNoPeer;
    int64_t ticket = static_cast<int64_t>(random_() % static_cast<uint64_t>(total));
    for (size_t p = 0; p < peers_.size(); ++p) {
      if (skip[p])
        continue;
      ticket -= peers_[p].spec.weight;
      if (ticket < 0)
        return static_cast<int>(p);
    }
    return kNoPeer;
  }
  case Balance::LeastConn: {
    // Fewest requests in flight per unit of weight; ties go round robin.
    for (size_t p = 0; p < peers_.size(); ++p) {
      if (skip[p])
        continue;
      if (best == kNoPeer ||
          peers_[p].active * peers_[best].spec.weight <
              peers_[best].active * peers_[p].spec.weight ||
          (peers_[p].active * peers_[best].spec.weight ==
               peers_[best].active * peers_[p].spec.weight &&
           peers_[p].current > peers_[best].current))
        best = static_cast<int>(p);
    }
    if (best != kNoPeer) {
      for (size_t p = 0; p < peers_.size(); ++p)
        peers_[p].current += skip[p] ? 0 : 1;
      peers_[best].current -= static_cast<int64_t>(peers_.size());
    }
    return best;
  }
  case Balance::Hash: {
    // Weighted rendezvous hashing: each peer scores the key; the highest score wins. A
    // peer added or removed moves only the keys it wins or won.
    double bestScore = -std::numeric_limits<double>::infinity();
    for (size_t p = 0; p < peers_.size(); ++p) {
      if (skip[p])
        continue;
      uint64_t h = stableHash(key, peers_[p].seed);
      double unit = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0; // (0, 1)
      double score = static_cast<double>(peers_[p].spec.weight) / -std::log(unit);
      if (score > bestScore) {
        bestScore = score;
        best = static_cast<int>(p);
      }
    }
    return best;
  }
  case Balance::Ketama: {
    if (ring_.empty())
      return kNoPeer;
    auto point = static_cast<uint32_t>(stableHash(key));
    auto at = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(point, -1));
    for (size_t step = 0; step < ring_.size(); ++step, ++at) {
      if (at == ring_.end())
        at = ring_.begin();
      if (!skip[at->second])
        return at->second;
    }
    return kNoPeer;
  }
  }
  return kNoPeer;
}

} // namespace turnout::upstream
