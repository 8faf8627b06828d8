// A latency histogram with fixed bucket bounds, as Prometheus exposes one: counts per
// bucket (not cumulative here; the exposition sums them), their sum and count. Plain
// integers: one thread writes it, and a scrape copies it on that thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace turnout::metrics {

class Histogram {
public:
  // Upper bounds in seconds: the Prometheus client libraries' defaults, with 1 ms and
  // 2.5 ms before them (a proxy's own time is often under 5 ms).
  static constexpr std::array<double, 13> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25,  0.5,    1,     2.5,  5,     10};

  void observe(double seconds) {
    size_t bucket = 0;
    while (bucket < kBounds.size() && seconds > kBounds[bucket])
      ++bucket;
    ++counts_[bucket];
    sum_ += seconds;
  }
  void add(const Histogram &other) {
    for (size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    sum_ += other.sum_;
  }
  // Observations in bucket `i` alone; i == kBounds.size() is the one above the last bound.
  uint64_t bucket(size_t i) const { return counts_[i]; }
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t c : counts_)
      n += c;
    return n;
  }
  double sum() const { return sum_; }

private:
  std::array<uint64_t, kBounds.size() + 1> counts_{};
  double sum_ = 0;
};

} // namespace turnout::metrics
