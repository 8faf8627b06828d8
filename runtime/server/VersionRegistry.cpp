#include "server/VersionRegistry.h"

#include "upstream/Health.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

namespace turnout {

namespace {

std::string utcNow() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(
                                                  std::chrono::system_clock::now())));
}

} // namespace

VersionRegistry::VersionRegistry(size_t keep, std::vector<std::unique_ptr<Worker>> &workers)
    : keep_(std::max<size_t>(keep, 2)), workers_(workers) {
}

VersionRegistry::~VersionRegistry() {
  for (auto &[definition, states] : peerStates_)
    states->retire();
}

const VersionRegistry::Kept *VersionRegistry::find(const std::string &id) const {
  for (const Kept &kept : kept_)
    if (kept.policy->id() == id)
      return &kept;
  return nullptr;
}

void VersionRegistry::activate(std::shared_ptr<const Policy> policy) {
  if (!find(policy->id())) {
    kept_.push_back(Kept{policy, utcNow(),
                         std::make_shared<RuleCounts>(policy->rules().size(), workers_.size())});
    // The oldest versions go, but the active one and the one being activated.
    for (auto it = kept_.begin(); kept_.size() > keep_ && it != kept_.end();) {
      if (it->policy->id() == activeId_ || it->policy->id() == policy->id())
        ++it;
      else
        it = kept_.erase(it);
    }
  }
  // Upstreams keep their peer states (health verdicts, drains) when their definition is
  // unchanged; new ones start with every peer in, and their health checks start.
  auto version = std::make_shared<PolicyVersion>();
  version->policy = policy;
  version->generation = ++generation_;
  version->ruleCounts = find(policy->id())->ruleCounts;
  std::unordered_map<std::string, std::shared_ptr<upstream::PeerStates>> states;
  for (const upstream::UpstreamSpec &spec : policy->upstreams()) {
    std::string definition = spec.definition();
    std::shared_ptr<upstream::PeerStates> &peers = states[definition];
    if (auto kept = peerStates_.find(definition); kept != peerStates_.end()) {
      peers = kept->second;
    } else {
      peers = std::make_shared<upstream::PeerStates>(spec.peers.size(), spec.outlier);
      if (spec.health.kind != upstream::HealthSpec::Kind::None)
        upstream::startHealthCheck(workers_.front()->context(), spec, peers,
                                   workers_.front()->tls());
    }
    version->upstreams.push_back({definition, peers});
  }
  for (auto &[definition, peers] : peerStates_)
    if (!states.count(definition))
      peers->retire();
  peerStates_ = std::move(states);
  if (activeId_ != policy->id()) {
    previousId_ = activeId_;
    activeId_ = policy->id();
  }
  active_ = version;
  for (auto &worker : workers_)
    worker->install(version);
}

} // namespace turnout
