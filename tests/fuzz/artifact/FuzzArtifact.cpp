// libFuzzer entry point: any bytes as an artifact file (routec build's format), which the
// proxy reads from disk on `load` and SIGHUP. Reading must refuse what is not a whole
// artifact, and what it accepts must write back to the same bytes; its policy image (the
// tables and upstreams the proxy builds without the sources) must decode or be refused
// with a reason, and what decodes must encode back to an image that decodes alike.
#include "artifact/Artifact.h"
#include "image/PolicyImage.h"

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
  if (artifact) {
    error.clear();
    std::optional<route::image::PolicyImage> image = route::image::decode(artifact->image, error);
    if (!image && error.empty())
      __builtin_trap();
    if (image) {
      std::string encoded = route::image::encode(*image);
      std::optional<route::image::PolicyImage> again = route::image::decode(encoded, error);
      if (!again || route::image::encode(*again) != encoded)
        __builtin_trap();
    }
  }
  return 0;
}
