// Passive health (outlier detection): failures in a row eject, a success ends the run,
// ejections double up to their cap, and no more than max_ejected of the peers are out.
#include "upstream/PeerStates.h"

#include <gtest/gtest.h>

namespace turnout::upstream {
namespace {

using Clock = PeerStates::Clock;
const Clock::time_point kStart = Clock::time_point(std::chrono::hours(1));

OutlierSpec consecutive(int64_t failures, int64_t percent) {
  OutlierSpec spec;
  spec.enabled = true;
  spec.failures = failures;
  spec.ejection = Duration(1000);
  spec.maxEjection = Duration(3000);
  spec.maxEjectedPercent = percent;
  return spec;
}

TEST(PeerStates, FailuresInARowEjectAndASuccessEndsTheRun) {
  PeerStates states(4, consecutive(3, 50));
  EXPECT_FALSE(states.attemptFailed(0, kStart));
  EXPECT_FALSE(states.attemptFailed(0, kStart));
  states.attemptSucceeded(0);
  EXPECT_FALSE(states.attemptFailed(0, kStart));
  EXPECT_FALSE(states.attemptFailed(0, kStart));
  EXPECT_FALSE(states.ejected(0, kStart));
  EXPECT_TRUE(states.attemptFailed(0, kStart));
  EXPECT_TRUE(states.ejected(0, kStart + std::chrono::milliseconds(999)));
  EXPECT_FALSE(states.ejected(0, kStart + std::chrono::milliseconds(1000)));
  EXPECT_EQ(states.ejections(0), 1u);
}

TEST(PeerStates, EjectionsSoonAfterTheLastDoubleUpToTheCap) {
  PeerStates states(2, consecutive(1, 100));
  auto at = kStart;
  std::vector<int64_t> lengths;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(states.attemptFailed(0, at));
    lengths.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(states.ejectedUntil(0) - at).count());
    at = states.ejectedUntil(0) + std::chrono::milliseconds(10);
  }
  EXPECT_EQ(lengths, (std::vector<int64_t>{1000, 2000, 3000, 3000}));
  // Long after the last one, an ejection is as short as the first.
  at += std::chrono::seconds(10);
  ASSERT_TRUE(states.attemptFailed(0, at));
  EXPECT_EQ(states.ejectedUntil(0) - at, std::chrono::milliseconds(1000));
}

TEST(PeerStates, NoMoreThanMaxEjectedAreOutButOneAlwaysMayBe) {
  PeerStates half(4, consecutive(1, 50));
  EXPECT_TRUE(half.attemptFailed(0, kStart));
  EXPECT_TRUE(half.attemptFailed(1, kStart));
  EXPECT_FALSE(half.attemptFailed(2, kStart));
  EXPECT_FALSE(half.ejected(2, kStart));
  PeerStates tenth(2, consecutive(1, 10));
  EXPECT_TRUE(tenth.attemptFailed(0, kStart));
  EXPECT_FALSE(tenth.attemptFailed(1, kStart));
}

TEST(PeerStates, WithoutOutlierDetectionNothingIsEjected) {
  PeerStates states(2);
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(states.attemptFailed(0, kStart));
  EXPECT_FALSE(states.ejected(0, kStart));
}

} // namespace
} // namespace turnout::upstream
