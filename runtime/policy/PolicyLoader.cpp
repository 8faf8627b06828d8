#include "policy/PolicyLoader.h"

#include "artifact/Artifact.h"
#include "driver/Compilation.h"
#include "exchange/Simulation.h"
#include "jit/Jit.h"
#include "route/abi.h"

#include <sys/stat.h>

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

upstream::Balance balanceOf(route::ast::BalanceKind kind) {
  switch (kind) {
  case route::ast::BalanceKind::Random:
    return upstream::Balance::Random;
  case route::ast::BalanceKind::LeastConn:
    return upstream::Balance::LeastConn;
  case route::ast::BalanceKind::Hash:
    return upstream::Balance::Hash;
  case route::ast::BalanceKind::Ketama:
    return upstream::Balance::Ketama;
  default:
    return upstream::Balance::RoundRobin;
  }
}

// A checked upstream declaration as plain data.
upstream::UpstreamSpec specOf(const route::ast::UpstreamDecl &decl) {
  const route::ast::UpstreamConfig &config = decl.config;
  upstream::UpstreamSpec spec;
  spec.name = decl.name;
  for (const route::ast::ServerSpec &server : config.servers)
    spec.peers.push_back({server.host, server.port, server.weight, server.address()});
  spec.balance = balanceOf(config.balance);
  spec.retries = config.retries;
  spec.maxConnections = config.maxConnections;
  spec.connect.connectTimeout = fromNanoseconds(config.connectTimeoutNs);
  spec.connect.readTimeout = fromNanoseconds(config.readTimeoutNs);
  spec.connect.writeTimeout = fromNanoseconds(config.writeTimeoutNs);
  spec.connect.idleTimeout = fromNanoseconds(config.idleTimeoutNs);
  spec.connect.totalTimeout =
      config.totalTimeoutNs ? fromNanoseconds(config.totalTimeoutNs) : Duration(0);
  spec.connect.tls = config.tls;
  spec.connect.verify = config.verify;
  spec.connect.sni = config.sni;
  const route::ast::HealthCheckSpec &health = config.health;
  spec.health.kind =
      health.kind == route::ast::HealthCheckSpec::Kind::Http  ? upstream::HealthSpec::Kind::Http
      : health.kind == route::ast::HealthCheckSpec::Kind::Tcp ? upstream::HealthSpec::Kind::Tcp
                                                              : upstream::HealthSpec::Kind::None;
  spec.health.path = health.path;
  spec.health.expectStatus = health.expectStatus;
  spec.health.interval = fromNanoseconds(health.intervalNs);
  spec.health.timeout = fromNanoseconds(health.timeoutNs);
  spec.health.unhealthyAfter = health.unhealthyAfter;
  spec.health.healthyAfter = health.healthyAfter;
  return spec;
}

// What a loaded policy's functions use, kept alive with it.
struct Compiled {
  route::Compilation compilation;
  route::LoadedPolicy *loaded = nullptr;
  std::unique_ptr<route::Interpreter> interpreter;
  std::unique_ptr<route::JitPolicy> jit;
};

} // namespace

std::shared_ptr<const Policy> loadPolicy(const std::string &path, std::string &diagnostics) {
  auto compiled = std::make_shared<Compiled>();
  Policy::Parts parts;
  parts.path = path;
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
    compiled->loaded = compiled->compilation.loadFiles(artifact->files);
  } else {
    compiled->loaded = compiled->compilation.load(path);
  }
  diagnostics = compiled->compilation.diags().renderText();
  if (!compiled->loaded || !compiled->loaded->ok)
    return nullptr;
  const route::SourceManager &sources = compiled->compilation.sources();
  std::vector<std::string_view> texts;
  for (route::FileId file = 0; file < sources.fileCount(); ++file)
    texts.push_back(sources.text(file));
  parts.id = route::versionId(artifact ? std::vector<std::string_view>{bytes} : texts);
  const route::Program &program = compiled->loaded->program;
  compiled->interpreter = std::make_unique<route::Interpreter>(program);
  std::string why;
  route::JitOptions options;
  if (artifact)
    options.prebuiltObject = &artifact->object;
  compiled->jit = route::JitPolicy::compile(program, why, options);
  if (compiled->jit) {
    parts.backend = artifact ? "artifact" : "jit";
    const route::JitPolicy *jit = compiled->jit.get();
    parts.runner = [jit](route::schema::Phase phase, RouteCtx *ctx,
                         std::vector<route::SourceRange> *) { jit->runPhase(phase, ctx); };
  } else if (artifact) {
    diagnostics += fmt::format("{}: the artifact's code does not link: {}\n", path, why);
    return nullptr;
  } else {
    parts.backend = "interpreter (the JIT declined: " + why + ")";
    const route::Interpreter *interpreter = compiled->interpreter.get();
    parts.runner = [interpreter](route::schema::Phase phase, RouteCtx *ctx,
                                 std::vector<route::SourceRange> *) {
      interpreter->runPhase(phase, ctx, nullptr);
    };
  }
  for (uint32_t u = 0; u < program.upstreams.size(); ++u) {
    const route::ast::UpstreamDecl *decl = program.upstreams[u];
    parts.upstreams.push_back(specOf(*decl));
    const route::ast::Expr *key = decl->config.balanceKey;
    if (compiled->jit && compiled->jit->hasBalanceKey(u)) {
      // The key's native function: no tree on the request path.
      const route::JitPolicy *jit = compiled->jit.get();
      parts.balanceKeys.push_back([jit, u](route::Exchange &x, std::string &out) {
        x.evaluate([&](RouteCtx *ctx) {
          RouteStr key = jit->balanceKey(u, ctx);
          out.assign(key.data ? key.data : "", static_cast<size_t>(key.size));
        });
      });
      continue;
    }
    const route::Interpreter *interpreter = compiled->interpreter.get();
    parts.balanceKeys.push_back(
        key ? Policy::KeyFunction([interpreter, key](route::Exchange &x, std::string &out) {
          out = route::balanceKey(x, *interpreter, *key);
        })
            : Policy::KeyFunction());
  }
  parts.describe = [&sources](const route::Fault &fault) {
    return route::describe(fault, sources);
  };
  parts.owner = compiled;
  return std::make_shared<const Policy>(std::move(parts));
}

size_t releaseCompilerMemory() {
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
