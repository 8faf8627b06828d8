// A compiled policy as a file (`routec build`): machine code for one target, what the code
// needs besides (its policy image: entry points, tables, upstreams; image/PolicyImage.h),
// and the sources it came from, for routec and for error positions. The proxy loads it
// without parsing or checking the sources. Deterministic: the same sources, compiler and target
// give the same bytes, and a hash of those bytes is the version id the proxy reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace route {

struct Artifact {
  uint32_t abiVersion = 0;                                // route/abi.h's ROUTE_ABI_VERSION
  std::string compiler;                                   // "turnout 0.1.0": tables number alike
  std::string triple, cpu, features;                      // the target the code is for
  std::vector<std::pair<std::string, std::string>> files; // path and text; the root first
  std::string object;                                     // a relocatable object file
  std::string image; // the encoded policy image (image::encode)
};

std::string writeArtifact(const Artifact &artifact);
// Whether `bytes` begin as an artifact does (the proxy takes a source or an artifact).
bool looksLikeArtifact(std::string_view bytes);
// Nothing, with `error` set, when `bytes` are not a whole artifact of this format.
std::optional<Artifact> readArtifact(std::string_view bytes, std::string &error);

// A version id: the first 16 hex digits of the SHA-256 of `parts`, each preceded by its
// length. Sources give theirs (the root, then its imports); an artifact its bytes.
std::string versionId(const std::vector<std::string_view> &parts);

} // namespace route
