// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` field read
// and written. A request that carries a valid one continues its trace; one that does not
// starts a trace, sampled at a ratio. The proxy's own span becomes the parent of what goes
// upstream.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace route::trace {

struct TraceParent {
  std::array<uint8_t, 16> traceId{};
  std::array<uint8_t, 8> parentId{};
  uint8_t flags = 0; // bit 0: sampled
};

// A `traceparent` value, or nothing when it is not a valid one: version 00 exactly
// 55 characters; a later version (not ff) at least 55, read as 00; ids in lowercase hex
// and not all zero.
std::optional<TraceParent> parseTraceParent(std::string_view value);
// "00-<trace id>-<parent id>-<flags>".
std::string formatTraceParent(const TraceParent &parent);
// Lowercase hex of `bytes`.
std::string hex(const uint8_t *bytes, size_t size);

// The context of a request as the proxy passes it on: the trace continued from `incoming`
// (a traceparent the client sent, or nothing) or a new one, sampled with probability
// `sampleRatio`, and a new span id for the proxy's part. `random` gives 64 random bits.
template <typename Random>
TraceParent continueOrStart(const std::optional<TraceParent> &incoming, double sampleRatio,
                            Random &random) {
  TraceParent out;
  auto fill = [&](uint8_t *bytes, size_t size) {
    bool zero = true;
    while (zero) { // an all-zero id is invalid: drawn again (once in 2^64)
      for (size_t i = 0; i < size; i += 8) {
        uint64_t r = random();
        for (size_t b = 0; b < 8 && i + b < size; ++b)
          bytes[i + b] = static_cast<uint8_t>(r >> (8 * b));
      }
      for (size_t i = 0; i < size; ++i)
        zero = zero && bytes[i] == 0;
    }
  };
  if (incoming) {
    out.traceId = incoming->traceId;
    out.flags = incoming->flags;
  } else {
    fill(out.traceId.data(), out.traceId.size());
    double draw = static_cast<double>(random() >> 11) / static_cast<double>(1ull << 53);
    out.flags = draw < sampleRatio ? 1 : 0;
  }
  fill(out.parentId.data(), out.parentId.size());
  return out;
}

} // namespace route::trace
