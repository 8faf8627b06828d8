// libFuzzer entry point: any bytes as a traceparent field. A value that parses must print
// back as the same version-00 value (a later version's extra fields dropped), and whatever
// the proxy sends upstream from it must parse again, in the same trace.
#include "exchange/TraceContext.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view value(reinterpret_cast<const char *>(data), size);
  std::optional<route::trace::TraceParent> parsed = route::trace::parseTraceParent(value);
  std::mt19937_64 random(size);
  route::trace::TraceParent ours = route::trace::continueOrStart(parsed, 0.5, random);
  std::optional<route::trace::TraceParent> again =
      route::trace::parseTraceParent(route::trace::formatTraceParent(ours));
  if (!again || again->traceId != ours.traceId || again->parentId != ours.parentId)
    std::abort();
  if (parsed) {
    std::string printed = route::trace::formatTraceParent(*parsed);
    if (value.substr(0, 2) == "00" && printed != value)
      std::abort();
    if (ours.traceId != parsed->traceId || ours.flags != parsed->flags)
      std::abort();
  }
  return 0;
}
