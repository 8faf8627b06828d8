// routec build: a policy compiled ahead of time into an artifact the proxy loads without
// parsing, checking or compiling (compiler/artifact/Artifact.h).
#include "Commands.h"
#include "Support.h"
#include "artifact/Artifact.h"
#include "driver/Compilation.h"
#include "jit/Jit.h"
#include "route/abi.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>

namespace routec {

int build(const BuildOptions &options) {
  route::Compilation compilation;
  int exitCode = kExitClean;
  const route::LoadedPolicy *loaded = loadPolicy(compilation, options.policy, exitCode);
  if (!loaded)
    return exitCode;
  std::string why;
  route::JitOptions jitOptions;
  jitOptions.keepObject = true;
  std::unique_ptr<route::JitPolicy> jit =
      route::JitPolicy::compile(loaded->program, why, jitOptions);
  if (!jit) {
    std::fprintf(stderr,
                 "routec: %s: %s; no artifact (turnout runs the source on its interpreter)\n",
                 options.policy.c_str(), why.c_str());
    return kExitErrors;
  }
  route::HostTarget host = route::hostTarget();
  route::Artifact artifact;
  artifact.abiVersion = ROUTE_ABI_VERSION;
  artifact.compiler = "turnout " TURNOUT_VERSION;
  artifact.triple = host.triple;
  artifact.cpu = host.cpu;
  artifact.features = host.features;
  const route::SourceManager &sources = compilation.sources();
  for (route::FileId file = 0; file < sources.fileCount(); ++file)
    artifact.files.emplace_back(sources.path(file), sources.text(file));
  artifact.object = jit->object();
  artifact.image = route::image::encode(jit->image());
  std::string bytes = route::writeArtifact(artifact);
  std::ofstream out(options.output, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "routec: cannot write %s\n", options.output.c_str());
    return kExitUsage;
  }
  std::printf("%s: version %s, %zu bytes, for %s (%s)\n", options.output.c_str(),
              route::versionId({bytes}).c_str(), bytes.size(), host.triple.c_str(),
              host.cpu.c_str());
  return kExitClean;
}

} // namespace routec
