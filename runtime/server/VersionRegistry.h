// The policy versions of a running proxy: those kept (for rollback), the active one and
// the one before it, and the hand-out of the active one to every worker. Each version's
// upstreams get their shared peer states here (health verdicts and drains), carried over
// from version to version while an upstream's definition stays the same; a new upstream's
// health checks start here and a gone one's stop. The admin protocol (Control) drives it.
#pragma once

#include "server/Worker.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace turnout {

class VersionRegistry {
public:
  struct Kept {
    std::shared_ptr<const Policy> policy;
    std::string loadedAt; // UTC, ISO 8601
    std::shared_ptr<RuleCounts> ruleCounts;
  };

  // Keeps at most `keep` versions (at least 2: the active one and the one being activated).
  VersionRegistry(size_t keep, std::vector<std::unique_ptr<Worker>> &workers);
  ~VersionRegistry();

  // Keeps `policy` as a version and makes it the active one: every worker installs it for
  // its new requests (see generation() for when they have).
  void activate(std::shared_ptr<const Policy> policy);
  // The kept version with this id, or null.
  const Kept *find(const std::string &id) const;
  const std::vector<Kept> &kept() const { return kept_; }
  const std::string &activeId() const { return activeId_; }
  const std::string &previousId() const { return previousId_; }
  // The active version, as the workers run it; null before the first activation.
  const std::shared_ptr<const PolicyVersion> &active() const { return active_; }
  // Activations so far: a worker whose installedGeneration() is at least this runs the
  // active version.
  uint64_t generation() const { return generation_; }

private:
  size_t keep_;
  std::vector<std::unique_ptr<Worker>> &workers_;
  std::vector<Kept> kept_; // in load order; the active one and the most recent others
  std::string activeId_, previousId_;
  uint64_t generation_ = 0;
  std::shared_ptr<const PolicyVersion> active_;
  // The active version's upstreams' peer states, by definition.
  std::unordered_map<std::string, std::shared_ptr<upstream::PeerStates>> peerStates_;
};

} // namespace turnout
