// libFuzzer entry point: any bytes through parse, check and both renderers. The driver
// (routec, the LSP server) must never crash, hang or leak on them.
#include "driver/Compilation.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  route::Compilation compilation;
  compilation.loadText("fuzz.route", std::string(reinterpret_cast<const char *>(data), size));
  volatile size_t rendered =
      compilation.diags().renderText().size() + compilation.diags().renderJson().size();
  (void)rendered;
  return 0;
}
