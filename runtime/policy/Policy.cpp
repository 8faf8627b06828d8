#include "policy/Policy.h"

#include <sys/stat.h>

#include "driver/Compilation.h"
#include "jit/Jit.h"

#include "artifact/Artifact.h"
#include "route/abi.h"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/mman.h>

#include <fstream>
#include <sstream>
#include <string_view>

namespace turnout {

namespace {

// The first bytes of `path`: enough to tell an artifact from a source.
std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Why an artifact cannot run here, or "" when it can.
std::string mismatch(const route::Artifact &artifact) {
  if (artifact.abiVersion != ROUTE_ABI_VERSION || artifact.compiler != "turnout " TURNOUT_VERSION)
    return fmt::format(
        "built by {} for route ABI {}; this is turnout {} (route ABI {}): build it again with "
        "this routec",
        artifact.compiler, artifact.abiVersion, TURNOUT_VERSION, ROUTE_ABI_VERSION);
  route::HostTarget host = route::hostTarget();
  if (artifact.triple != host.triple || artifact.cpu != host.cpu ||
      artifact.features != host.features)
    return fmt::format(
        "built for {} ({}{}), not for this machine, {} ({}): build it here with routec build",
        artifact.triple, artifact.cpu,
        artifact.triple == host.triple && artifact.cpu == host.cpu ? ", other CPU features" : "",
        host.triple, host.cpu);
  return "";
}

} // namespace

std::shared_ptr<const Policy> Policy::load(const std::string &path, std::string &diagnostics) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->path_ = path;
  policy->compilation_ = std::make_unique<route::Compilation>();
  // A device, a FIFO or a huge file would hold the control plane (or its memory) hostage.
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    diagnostics = fmt::format("{}: {}\n", path, std::strerror(errno));
    return nullptr;
  }
  if (!S_ISREG(info.st_mode) ||
      static_cast<uint64_t>(info.st_size) > route::Compilation::kMaxFileSize) {
    diagnostics = fmt::format("{}: {}\n", path,
                              S_ISREG(info.st_mode)
                                  ? "larger than 64 MiB, the most a policy or artifact may be"
                                  : "not a regular file");
    return nullptr;
  }
  std::string bytes = readAll(path);
  std::optional<route::Artifact> artifact;
  if (route::looksLikeArtifact(bytes)) {
    // Compiled ahead of time: the sources are checked again (the tables and upstreams come
    // from them), the code is linked as it is.
    std::string error;
    artifact = route::readArtifact(bytes, error);
    if (artifact)
      error = mismatch(*artifact);
    if (!error.empty()) {
      diagnostics = fmt::format("{}: {}\n", path, error);
      return nullptr;
    }
    policy->loaded_ = policy->compilation_->loadFiles(artifact->files);
  } else {
    policy->loaded_ = policy->compilation_->load(path);
  }
  diagnostics = policy->compilation_->diags().renderText();
  if (!policy->loaded_ || !policy->loaded_->ok)
    return nullptr;
  const route::SourceManager &sources = policy->compilation_->sources();
  std::vector<std::string_view> texts;
  for (route::FileId file = 0; file < sources.fileCount(); ++file)
    texts.push_back(sources.text(file));
  policy->id_ = route::versionId(artifact ? std::vector<std::string_view>{bytes} : texts);
  const route::Program &program = policy->loaded_->program;
  policy->interpreter_ = std::make_unique<route::Interpreter>(program);
  std::string why;
  route::JitOptions options;
  if (artifact)
    options.prebuiltObject = &artifact->object;
  policy->jit_ = route::JitPolicy::compile(program, why, options);
  if (policy->jit_) {
    policy->backend_ = artifact ? "artifact" : "jit";
    const route::JitPolicy *jit = policy->jit_.get();
    policy->runner_ = [jit](route::schema::Phase phase, RouteCtx *ctx,
                            std::vector<route::SourceRange> *) { jit->runPhase(phase, ctx); };
  } else if (artifact) {
    diagnostics += fmt::format("{}: the artifact's code does not link: {}\n", path, why);
    return nullptr;
  } else {
    policy->backend_ = "interpreter (the JIT declined: " + why + ")";
    const route::Interpreter *interpreter = policy->interpreter_.get();
    policy->runner_ = [interpreter](route::schema::Phase phase, RouteCtx *ctx,
                                    std::vector<route::SourceRange> *) {
      interpreter->runPhase(phase, ctx, nullptr);
    };
  }
  return policy;
}

Policy::~Policy() = default;

const route::Program &Policy::program() const {
  return loaded_->program;
}

std::string Policy::describe(const route::Fault &fault) const {
  return route::describe(fault, compilation_->sources());
}

std::string Policy::balanceKey(route::Exchange &exchange, uint32_t upstream) const {
  const route::ast::Expr *key = program().upstreams[upstream]->config.balanceKey;
  return key ? exchange.balanceKey(*interpreter_, *key) : std::string();
}

size_t Policy::releaseCompilerMemory() {
  // A mapping is dropped whole, and only if none of its pages is the process's own copy
  // (smaps' Anonymous: 0): such pages are the file's, and come back from it unchanged.
  // Writable mappings, and read-only ones written once (relocations), are left alone.
  std::ifstream smaps("/proc/self/smaps");
  std::string line, permissions, path;
  uintptr_t begin = 0, end = 0;
  size_t released = 0;
  while (std::getline(smaps, line)) {
    if (line.starts_with("Anonymous:")) {
      bool copied = std::stoull(line.substr(10)) != 0;
      if (!copied && permissions[1] != 'w' && path.starts_with("/") &&
          ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED) == 0)
        released += end - begin;
      continue;
    }
    std::string_view first = std::string_view(line).substr(0, line.find(' '));
    if (first.empty() || first.ends_with(':'))
      continue; // another field of the mapping above
    std::istringstream fields(line);
    std::string range, offset, device, inode;
    path.clear();
    fields >> range >> permissions >> offset >> device >> inode >> path;
    size_t dash = range.find('-');
    begin = std::stoull(range.substr(0, dash), nullptr, 16);
    end = std::stoull(range.substr(dash + 1), nullptr, 16);
  }
  ::malloc_trim(0);
  return released;
}

} // namespace turnout
