// libFuzzer entry point: any bytes as an artifact file (routec build's format), which the
// proxy reads from disk on `load` and SIGHUP. Reading must refuse what is not a whole
// artifact, and what it accepts must write back to the same bytes.
#include "artifact/Artifact.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  std::string error;
  std::optional<route::Artifact> artifact = route::readArtifact(bytes, error);
  if (artifact && route::writeArtifact(*artifact) != bytes)
    __builtin_trap();
  if (!artifact && error.empty())
    __builtin_trap(); // a refusal says why
  return 0;
}
