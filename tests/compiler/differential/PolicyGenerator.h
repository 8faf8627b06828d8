// Random well-typed Route policies and requests, for differential testing of the back ends.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace route::testing {

struct GeneratedRequest {
  std::string method;
  std::string url;
  std::string clientIp;
  std::vector<std::pair<std::string, std::string>> headers;
  int originStatus = 200;
  std::string originError; // "" or a failure kind
};

class PolicyGenerator {
public:
  explicit PolicyGenerator(uint64_t seed) : rng_(seed) {}
  std::string policy();
  // A run of rules that the JIT lowers to a table: host hashes, prefix tries, regex sets.
  std::string ruleTable();
  GeneratedRequest request();

private:
  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  template <typename T> const T &oneOf(const std::vector<T> &items) {
    return items[pick(items.size())];
  }

  std::string stringExpr(int depth);
  std::string intExpr(int depth);
  std::string condition(int depth);
  std::string block(const std::string &phase, int depth, bool mayEnd);
  std::string block(const std::string &phase, int depth, bool mayEnd, bool &ends);
  std::string action(const std::string &phase);
  std::string edit(const std::string &phase);

  std::mt19937_64 rng_;
  int lets_ = 0;
  bool inCapture_ = false; // inside an `if` whose condition matched the capture regex
};

} // namespace route::testing
