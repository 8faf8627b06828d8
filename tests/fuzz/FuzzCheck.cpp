// libFuzzer entry point: any bytes through parse, check, both renderers and the formatter.
// The driver (routec, the LSP server) must never crash, hang or leak on them.
#include "driver/Compilation.h"
#include "format/Format.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  route::Compilation compilation;
  compilation.loadText("fuzz.route", std::string(reinterpret_cast<const char *>(data), size));
  volatile size_t rendered =
      compilation.diags().renderText().size() + compilation.diags().renderJson().size();
  (void)rendered;

  route::SourceManager sources;
  route::FileId file =
      sources.add("fuzz.route", std::string(reinterpret_cast<const char *>(data), size));
  route::DiagnosticEngine diags(sources);
  std::optional<std::string> formatted = route::formatFile(sources, file, diags);
  // A layout that cannot be kept would make `routec fmt` rewrite a file forever.
  if (formatted) {
    route::FileId again = sources.add("fuzz.route", *formatted);
    if (route::formatFile(sources, again, diags) != formatted)
      __builtin_trap();
  }
  return 0;
}
