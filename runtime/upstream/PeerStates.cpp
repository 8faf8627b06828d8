#include "upstream/PeerStates.h"

namespace turnout::upstream {

PeerStates::PeerStates(size_t peers)
    : size_(peers), healthy_(std::make_unique<std::atomic<bool>[]>(peers)),
      drained_(std::make_unique<std::atomic<bool>[]>(peers)) {
  for (size_t p = 0; p < peers; ++p) {
    healthy_[p].store(true);
    drained_[p].store(false);
  }
}

} // namespace turnout::upstream
