#include "upstream/Balancer.h"

#include <gtest/gtest.h>

#include <map>

namespace turnout::upstream {
namespace {

std::vector<PeerSpec> peers(int n, int64_t firstWeight = 1) {
  std::vector<PeerSpec> out;
  for (int i = 0; i < n; ++i)
    out.push_back({"10.0.0." + std::to_string(i + 1), 8080, i == 0 ? firstWeight : 1,
                   "10.0.0." + std::to_string(i + 1) + ":8080"});
  return out;
}

const Balancer::Clock::time_point kNow{};

TEST(Balancer, RoundRobinIsSmoothAndWeighted) {
  Balancer b(Balance::RoundRobin, peers(2, 3));
  std::string order;
  for (int i = 0; i < 8; ++i)
    order += std::to_string(b.pick("", {}, kNow));
  EXPECT_EQ(order, "00100010"); // 3:1, interleaved as nginx does
}

TEST(Balancer, RandomFollowsTheWeights) {
  Balancer b(Balance::Random, peers(2, 3), 42);
  int first = 0;
  for (int i = 0; i < 40000; ++i)
    first += b.pick("", {}, kNow) == 0;
  EXPECT_NEAR(first / 40000.0, 0.75, 0.02);
}

TEST(Balancer, LeastConnPrefersTheIdlePeer) {
  Balancer b(Balance::LeastConn, peers(3));
  b.started(0);
  b.started(1);
  EXPECT_EQ(b.pick("", {}, kNow), 2);
  b.started(2);
  b.started(2);
  b.finished(0);
  EXPECT_EQ(b.pick("", {}, kNow), 0);
}

TEST(Balancer, TriedAndFailedPeersAreSkipped) {
  Balancer b(Balance::RoundRobin, peers(3));
  std::vector<bool> tried{true, false, false};
  b.failed(1, kNow);
  EXPECT_EQ(b.pick("", tried, kNow), 2);
  EXPECT_EQ(b.pick("", tried, kNow + Balancer::kFailTimeout + std::chrono::seconds(1)) != 0, true);
  EXPECT_EQ(b.pick("", {true, true, true}, kNow), Balancer::kNoPeer);
  // Every untried peer resting: they are tried anyway.
  Balancer c(Balance::RoundRobin, peers(2));
  c.failed(0, kNow);
  c.failed(1, kNow);
  EXPECT_NE(c.pick("", {}, kNow), Balancer::kNoPeer);
}

TEST(Balancer, PeersAtTheirCapArePassedOver) {
  Balancer b(Balance::RoundRobin, peers(2), 1, /*maxActive=*/1);
  b.started(0);
  EXPECT_EQ(b.pick("", {}, kNow), 1);
  b.started(1);
  EXPECT_EQ(b.pick("", {}, kNow), Balancer::kNoPeer);
  b.finished(0);
  EXPECT_EQ(b.pick("", {}, kNow), 0);
}

TEST(Balancer, UnhealthyPeersAreLeftOutAndDrainedOnesAlways) {
  auto shared = std::make_shared<PeerStates>(3);
  Balancer b(Balance::RoundRobin, peers(3), 1, 0, shared);
  shared->setHealthy(0, false);
  shared->setDrained(1, true);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(b.pick("", {}, kNow), 2);
  // Every peer out of health: they are tried anyway; a drained peer never is.
  shared->setHealthy(2, false);
  EXPECT_NE(b.pick("", {}, kNow), 1);
  shared->setDrained(0, true);
  shared->setDrained(2, true);
  EXPECT_EQ(b.pick("", {}, kNow), Balancer::kNoPeer);
  shared->setDrained(1, false);
  EXPECT_EQ(b.pick("", {}, kNow), 1);
}

TEST(Balancer, UpstreamDefinitionsDifferInWhatTheirStateDependsOn) {
  UpstreamSpec a, b;
  a.name = b.name = "web";
  a.peers = b.peers = peers(2);
  EXPECT_EQ(a.definition(), b.definition());
  b.connect.readTimeout = Duration(1); // a timeout is read per request: no state depends on it
  EXPECT_EQ(a.definition(), b.definition());
  b.peers[1].weight = 5;
  EXPECT_NE(a.definition(), b.definition());
  b.peers = a.peers;
  b.health.kind = HealthSpec::Kind::Tcp;
  EXPECT_NE(a.definition(), b.definition());
}

// The share of 10,000 keys whose peer changes when a fifth peer joins four: a consistent
// hash moves about 1/5 of them, and only to the new peer.
double movedShare(Balance balance) {
  Balancer four(balance, peers(4)), five(balance, peers(5));
  int moved = 0;
  for (int k = 0; k < 10000; ++k) {
    std::string key = "user-" + std::to_string(k);
    int before = four.pick(key, {}, kNow), after = five.pick(key, {}, kNow);
    EXPECT_EQ(before, four.pick(key, {}, kNow)); // stable
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, 4) << "a key moved between old peers";
    }
  }
  return moved / 10000.0;
}

TEST(Balancer, HashMovesOnlyTheNewPeersShare) {
  EXPECT_NEAR(movedShare(Balance::Hash), 0.2, 0.03);
}
TEST(Balancer, KetamaMovesOnlyTheNewPeersShare) {
  EXPECT_NEAR(movedShare(Balance::Ketama), 0.2, 0.05);
}

TEST(Balancer, HashesSpreadKeysByWeight) {
  for (Balance balance : {Balance::Hash, Balance::Ketama}) {
    Balancer b(balance, peers(3, 2));
    std::map<int, int> counts;
    for (int k = 0; k < 20000; ++k)
      ++counts[b.pick("k" + std::to_string(k), {}, kNow)];
    EXPECT_NEAR(counts[0] / 20000.0, 0.5, 0.05);
    EXPECT_NEAR(counts[1] / 20000.0, 0.25, 0.05);
  }
}

TEST(Balancer, AHashedKeyFallsToAnotherPeerWhenItsPeerIsTried) {
  for (Balance balance : {Balance::Hash, Balance::Ketama}) {
    Balancer b(balance, peers(3));
    int first = b.pick("alice", {}, kNow);
    std::vector<bool> tried(3);
    tried[first] = true;
    int second = b.pick("alice", tried, kNow);
    EXPECT_NE(second, first);
    EXPECT_NE(second, Balancer::kNoPeer);
  }
}

} // namespace
} // namespace turnout::upstream
