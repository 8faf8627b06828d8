#include "upstream/PeerStates.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace turnout::upstream {

PeerStates::PeerStates(size_t peers, OutlierSpec outlier)
    : size_(peers), outlier_(outlier), peers_(std::make_unique<Peer[]>(peers)) {
}

bool PeerStates::attemptFailed(size_t peer, Clock::time_point now) {
  if (!outlier_.enabled)
    return false;
  Peer &p = peers_[peer];
  uint32_t run = p.consecutiveFailures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (run < static_cast<uint64_t>(outlier_.failures))
    return false;
  const int64_t at = ticks(now);
  int64_t until = p.ejectedUntil.load(std::memory_order_relaxed);
  if (until > at)
    return false; // ejected already: failures of requests sent before it was
  // Never more than max_ejected of the peers at once, but one always may be (Envoy's rule).
  size_t ejectedNow = 0;
  for (size_t other = 0; other < size_; ++other)
    ejectedNow += peers_[other].ejectedUntil.load(std::memory_order_relaxed) > at;
  size_t allowed =
      std::max<size_t>(1, size_ * static_cast<size_t>(outlier_.maxEjectedPercent) / 100);
  if (ejectedNow >= allowed)
    return false;
  // Ejected again soon after the last: for twice as long, up to max_ejection.
  const int64_t maxEjection =
      std::chrono::duration_cast<Clock::duration>(outlier_.maxEjection).count();
  uint32_t streak =
      until != 0 && at - until < maxEjection ? p.streak.load(std::memory_order_relaxed) + 1 : 0;
  auto length = std::chrono::duration_cast<Clock::duration>(outlier_.ejection).count();
  for (uint32_t i = 0; i < streak && length < maxEjection; ++i)
    length *= 2;
  length = std::min(length, std::max<int64_t>(maxEjection, 1));
  if (!p.ejectedUntil.compare_exchange_strong(until, at + length, std::memory_order_relaxed))
    return false; // another worker ejected it first
  p.streak.store(streak, std::memory_order_relaxed);
  p.consecutiveFailures.store(0, std::memory_order_relaxed);
  p.ejections.fetch_add(1, std::memory_order_relaxed);
  return true;
}

} // namespace turnout::upstream
