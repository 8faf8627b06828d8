// Time and randomness: the impure built-ins.
#include "route/abi.h"

#include <ctime>
#include <random>

extern "C" {

int64_t route_Seconds(int64_t nanoseconds) {
  return nanoseconds / 1'000'000'000;
}

int64_t route_Now(void) {
  return static_cast<int64_t>(std::time(nullptr));
}

int64_t route_Random(int64_t n) {
  if (n <= 0)
    return 0;
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return static_cast<int64_t>(generator() % static_cast<uint64_t>(n));
}

} // extern "C"
