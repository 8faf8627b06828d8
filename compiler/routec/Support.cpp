#include "Support.h"

#include "Commands.h"
#include "artifact/Artifact.h"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

namespace routec {

namespace {

// An artifact's sources, or nothing when `path` is not an artifact (it may be a source, or
// unreadable: Compilation::load reports that). `error` is set for a damaged artifact.
std::optional<route::Artifact> readArtifactAt(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  char head[64] = {};
  in.read(head, sizeof head);
  if (!route::looksLikeArtifact(std::string_view(head, static_cast<size_t>(in.gcount()))))
    return std::nullopt;
  in.clear();
  in.seekg(0);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return route::readArtifact(bytes.view(), error);
}

} // namespace

bool isAddress(const std::string &text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

route::TlsFacts simulatedTls(const route::HttpRequest &request) {
  route::TlsFacts tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_128_GCM_SHA256";
  std::string host = request.host;
  if (host.size() > 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  if (!isAddress(host))
    tls.sni = request.host;
  tls.alpn = "http/1.1";
  return tls;
}

route::LoadedPolicy *loadPolicy(route::Compilation &compilation, const std::string &path,
                                int &exitCode) {
  std::string error;
  std::optional<route::Artifact> artifact = readArtifactAt(path, error);
  if (!error.empty()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
    exitCode = kExitUsage;
    return nullptr;
  }
  route::LoadedPolicy *policy =
      artifact ? compilation.loadFiles(artifact->files) : compilation.load(path);
  std::fputs(compilation.diags().renderText().c_str(), stderr);
  if (!policy) {
    exitCode = kExitUsage;
    return nullptr;
  }
  if (!policy->ok) {
    exitCode = kExitErrors;
    return nullptr;
  }
  return policy;
}

std::string describeDecision(const route::Exchange &x, const route::Program &program) {
  using Kind = route::Decision::Kind;
  switch (x.decision.kind) {
  case Kind::Route:
    return fmt::format("route {}", program.upstreams[x.decision.upstream]->name);
  case Kind::Respond:
    return fmt::format("respond {}", x.decision.status);
  case Kind::Redirect:
    return fmt::format("redirect {} to {}", x.decision.status, x.decision.location);
  default:
    return "no route (404)";
  }
}

std::string describeSource(const route::SourceManager &sources, route::SourceRange range) {
  route::LineColumn lc = sources.lineColumn(range.file, range.begin);
  std::string_view text = sources.slice(range);
  text = text.substr(0, text.find('\n'));
  std::string shown(text.substr(0, 80));
  if (text.size() > 80)
    shown += "...";
  return fmt::format("{}:{}:{}  {}", sources.path(range.file), lc.line, lc.column, shown);
}

} // namespace routec
