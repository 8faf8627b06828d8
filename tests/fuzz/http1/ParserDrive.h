// What the HTTP/1 fuzz targets share: a parser driven over input as the proxy drives it.
#pragma once

#include "http1/Parser.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace turnout::http1 {

inline void fuzzDrive(Parser::Kind kind, const uint8_t *data, size_t size) {
  if (size < 2)
    return;
  size_t chunk = 1 + data[0] % 64;
  bool head = data[1] & 1;
  const char *text = reinterpret_cast<const char *>(data + 2);
  size = size - 2;
  Parser parser(kind, HeadLimits{256, 2048, 16});
  if (head)
    parser.expectNoBody();
  size_t pos = 0, available = 0;
  // A bound no correct walk reaches: a step takes a byte, asks for more, or ends a state.
  for (size_t step = 0; step < 8 * size + 64; ++step) {
    if (parser.failed())
      return;
    if (parser.messageComplete()) {
      parser.next();
      if (head)
        parser.expectNoBody();
      continue;
    }
    if (pos == available) {
      if (available == size) {
        parser.finish();
        return;
      }
      available = std::min(size, available + chunk);
    }
    bool headDone = parser.headComplete();
    size_t taken = parser.feed(text + pos, available - pos);
    if (taken == 0 && !parser.failed() && headDone == parser.headComplete() &&
        !parser.messageComplete())
      __builtin_trap(); // no progress: the proxy would spin here
    if (taken > available - pos)
      __builtin_trap();
    pos += taken;
    parser.body().clear();
  }
  __builtin_trap();
}

} // namespace turnout::http1
