#include "artifact/Artifact.h"

#include <openssl/evp.h>

#include <cstring>

namespace route {

namespace {

constexpr std::string_view kMagic = "ROUTEART\n";
constexpr uint32_t kFormat = 2;

void putInt(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff)); // little-endian, whatever the host
}

void putString(std::string &out, std::string_view text) {
  putInt(out, text.size(), 8);
  out.append(text);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  uint64_t integer(int bytes) {
    if (in.size() < static_cast<size_t>(bytes)) {
      ok = false;
      return 0;
    }
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i)
      value |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(bytes);
    return value;
  }
  std::string string() {
    uint64_t size = integer(8);
    if (!ok || size > in.size()) {
      ok = false;
      return {};
    }
    std::string out(in.substr(0, size));
    in.remove_prefix(size);
    return out;
  }
};

} // namespace

std::string writeArtifact(const Artifact &artifact) {
  std::string out(kMagic);
  putInt(out, kFormat, 4);
  putInt(out, artifact.abiVersion, 4);
  putString(out, artifact.compiler);
  putString(out, artifact.triple);
  putString(out, artifact.cpu);
  putString(out, artifact.features);
  putInt(out, artifact.files.size(), 8);
  for (const auto &[path, text] : artifact.files) {
    putString(out, path);
    putString(out, text);
  }
  putString(out, artifact.object);
  putString(out, artifact.image);
  return out;
}

bool looksLikeArtifact(std::string_view bytes) {
  return bytes.starts_with(kMagic);
}

std::optional<Artifact> readArtifact(std::string_view bytes, std::string &error) {
  if (!looksLikeArtifact(bytes)) {
    error = "not a compiled policy (routec build makes them)";
    return std::nullopt;
  }
  Reader r{bytes.substr(kMagic.size())};
  uint32_t format = static_cast<uint32_t>(r.integer(4));
  if (r.ok && format != kFormat) {
    error = "an artifact of format " + std::to_string(format) + ", this proxy reads format " +
            std::to_string(kFormat);
    return std::nullopt;
  }
  Artifact artifact;
  artifact.abiVersion = static_cast<uint32_t>(r.integer(4));
  artifact.compiler = r.string();
  artifact.triple = r.string();
  artifact.cpu = r.string();
  artifact.features = r.string();
  uint64_t files = r.integer(8);
  for (uint64_t i = 0; r.ok && i < files; ++i) {
    std::string path = r.string();
    std::string text = r.string();
    artifact.files.emplace_back(std::move(path), std::move(text));
  }
  artifact.object = r.string();
  artifact.image = r.string();
  if (!r.ok || !r.in.empty() || artifact.files.empty()) {
    error = "a truncated or damaged artifact";
    return std::nullopt;
  }
  return artifact;
}

std::string versionId(const std::vector<std::string_view> &parts) {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  for (std::string_view part : parts) {
    uint64_t size = part.size();
    EVP_DigestUpdate(context, &size, sizeof size);
    EVP_DigestUpdate(context, part.data(), part.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  EVP_MD_CTX_free(context);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned i = 0; i < 8; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 15];
  }
  return id;
}

} // namespace route
