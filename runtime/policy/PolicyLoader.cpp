#include "policy/PolicyLoader.h"

#include "artifact/Artifact.h"
#include "driver/Compilation.h"
#include "image/PolicyImage.h"
#include "interp/OnExchange.h"
#include "jit/Jit.h"
#include "route/abi.h"
#include "upstream/Stream.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <malloc.h>
#include <sys/mman.h>

#include <fstream>
#include <sstream>
#include <string_view>

namespace turnout {

namespace {

// The bytes of `path`, a source or an artifact.
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

// An upstream's settings, as the compiler gives them, as the data plane's plain data.
upstream::UpstreamSpec specOf(const route::image::Upstream &upstream) {
  const route::ast::UpstreamConfig &config = upstream.config;
  upstream::UpstreamSpec spec;
  spec.name = upstream.name;
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
  spec.connect.protocol = static_cast<upstream::ConnectSettings::Protocol>(config.protocol);
  spec.connect.verify = config.verify;
  spec.connect.sni = config.sni;
  spec.connect.ca = config.ca;
  spec.connect.clientCert = config.clientCert;
  spec.connect.clientKey = config.clientKey;
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
  const route::ast::OutlierSpec &outlier = upstream.config.outlier;
  spec.outlier.enabled = outlier.enabled;
  spec.outlier.failures = outlier.failures;
  spec.outlier.ejection = fromNanoseconds(outlier.ejectionNs);
  spec.outlier.maxEjection = fromNanoseconds(outlier.maxEjectionNs);
  spec.outlier.maxEjectedPercent = outlier.maxEjectedPercent;
  spec.outlier.count5xx = outlier.count5xx;
  return spec;
}

// What a loaded policy's functions use, kept alive with it. With the JIT: its code and
// tables, and the sources for error positions; no program. On the interpreter: the
// program.
struct Compiled {
  route::SourceManager sources;
  std::unique_ptr<route::JitPolicy> jit;
  std::unique_ptr<route::Compilation> compilation;
  std::unique_ptr<route::Interpreter> interpreter;
};

// Numbered rules (a program's or an image's) as a policy keeps them: placed in `sources`.
template <typename Rules>
std::vector<Policy::Rule> placedRules(const Rules &rules, const route::SourceManager *sources) {
  std::vector<Policy::Rule> placed;
  placed.reserve(rules.size());
  for (const auto &rule : rules) {
    Policy::Rule &p = placed.emplace_back();
    p.file = rule.range.file;
    p.action = std::string(rule.action);
    if (sources && rule.range.file < sources->fileCount()) {
      route::LineColumn at = sources->lineColumn(rule.range.file, rule.range.begin);
      p.line = at.line;
      p.column = at.column;
    }
  }
  return placed;
}

// The parts of a policy that runs on the JIT, from its code, sources and image.
void jitParts(Compiled &compiled, Policy::Parts &parts) {
  const route::JitPolicy *jit = compiled.jit.get();
  parts.rules = placedRules(jit->rules(), &compiled.sources);
  parts.runner = [jit](route::schema::Phase phase, RouteCtx *ctx,
                       std::vector<route::SourceRange> *) { jit->runPhase(phase, ctx); };
  const std::vector<route::image::Upstream> &upstreams = jit->upstreams();
  for (uint32_t u = 0; u < upstreams.size(); ++u) {
    parts.upstreams.push_back(specOf(upstreams[u]));
    if (!jit->hasBalanceKey(u)) {
      parts.balanceKeys.emplace_back();
      continue;
    }
    // The key's native function: no tree on the request path.
    parts.balanceKeys.push_back([jit, u](route::Exchange &x, std::string &out) {
      x.evaluate([&](RouteCtx *ctx) {
        RouteStr key = jit->balanceKey(u, ctx);
        out.assign(key.data ? key.data : "", static_cast<size_t>(key.size));
      });
    });
  }
}

// An artifact's code linked as it is, with the tables and upstreams its image describes.
bool loadArtifact(const std::string &path, std::string_view bytes, Compiled &compiled,
                  Policy::Parts &parts, std::string &diagnostics) {
  std::string error;
  std::optional<route::Artifact> artifact = route::readArtifact(bytes, error);
  if (artifact)
    error = mismatch(*artifact);
  std::optional<route::image::PolicyImage> image;
  if (error.empty())
    image = route::image::decode(artifact->image, error);
  if (image) {
    compiled.jit = route::JitPolicy::link(artifact->object, *image, error);
    if (!compiled.jit)
      error = "the artifact's code does not link: " + error;
  }
  if (!compiled.jit) {
    diagnostics = fmt::format("{}: {}\n", path, error);
    return false;
  }
  for (auto &[file, text] : artifact->files)
    compiled.sources.add(std::move(file), std::move(text));
  parts.id = route::versionId({bytes});
  parts.backend = "artifact";
  jitParts(compiled, parts);
  return true;
}

// The parts of a policy that runs on `runner`, its keys on `interpreter`.
void interpretedParts(const route::Program &program, const route::Interpreter &interpreter,
                      route::PhaseRunner runner, Policy::Parts &parts) {
  parts.runner = std::move(runner);
  for (const route::image::Upstream &upstream : route::image::upstreamsOf(program.upstreams))
    parts.upstreams.push_back(specOf(upstream));
  for (const route::ast::UpstreamDecl *decl : program.upstreams) {
    const route::ast::Expr *key = decl->config.balanceKey;
    parts.balanceKeys.push_back(
        key ? Policy::KeyFunction([&interpreter, key](route::Exchange &x, std::string &out) {
          out = route::balanceKey(x, interpreter, *key);
        })
            : Policy::KeyFunction());
  }
}

// A source parsed, checked and compiled; on the interpreter when the JIT declines it.
bool loadSource(const std::string &path, Compiled &compiled, Policy::Parts &parts,
                std::string &diagnostics) {
  auto compilation = std::make_unique<route::Compilation>();
  route::LoadedPolicy *loaded = compilation->load(path);
  diagnostics = compilation->diags().renderText();
  if (!loaded || !loaded->ok)
    return false;
  const route::SourceManager &sources = compilation->sources();
  std::vector<std::string_view> texts;
  for (route::FileId file = 0; file < sources.fileCount(); ++file)
    texts.push_back(sources.text(file));
  parts.id = route::versionId(texts);
  const route::Program &program = loaded->program;
  std::string why;
  compiled.jit = route::JitPolicy::compile(program, why);
  if (compiled.jit) {
    // The program goes with the compilation: a kept version holds code, tables and text.
    for (route::FileId file = 0; file < sources.fileCount(); ++file)
      compiled.sources.add(sources.path(file), sources.text(file));
    parts.backend = "jit";
    jitParts(compiled, parts);
    return true;
  }
  parts.backend = "interpreter (the JIT declined: " + why + ")";
  parts.rules = placedRules(program.rules, &sources);
  compiled.interpreter = std::make_unique<route::Interpreter>(program);
  const route::Interpreter *interpreter = compiled.interpreter.get();
  interpretedParts(
      program, *interpreter,
      [interpreter](route::schema::Phase phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
        interpreter->runPhase(phase, ctx, nullptr);
      },
      parts);
  compiled.compilation = std::move(compilation);
  return true;
}

} // namespace

std::shared_ptr<const Policy> loadPolicy(const std::string &path, std::string &diagnostics) {
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
  auto compiled = std::make_shared<Compiled>();
  Policy::Parts parts;
  parts.path = path;
  std::string bytes = readAll(path);
  bool loaded = route::looksLikeArtifact(bytes)
                    ? loadArtifact(path, bytes, *compiled, parts, diagnostics)
                    : loadSource(path, *compiled, parts, diagnostics);
  if (!loaded)
    return nullptr;
  // An upstream's TLS files are read now: a policy whose files cannot be used never goes
  // live (a connection would fail on every request).
  for (const upstream::UpstreamSpec &spec : parts.upstreams) {
    std::string error;
    if (spec.connect.tls && !upstream::TlsContexts::check(spec.connect, error)) {
      diagnostics += fmt::format("{}: upstream '{}': {}\n", path, spec.name, error);
      return nullptr;
    }
  }
  const route::SourceManager &sources =
      compiled->compilation ? compiled->compilation->sources() : compiled->sources;
  parts.describe = [&sources](const route::Fault &fault) {
    return route::describe(fault, sources);
  };
  parts.sources = &sources;
  parts.owner = compiled;
  return std::make_shared<const Policy>(std::move(parts));
}

std::shared_ptr<const Policy> policyOf(const route::Program &program,
                                       const route::SourceManager *sources,
                                       route::PhaseRunner runner) {
  auto interpreter = std::make_shared<route::Interpreter>(program);
  Policy::Parts parts;
  parts.path = sources ? sources->path(program.root) : "";
  parts.backend = "interpreter";
  interpretedParts(program, *interpreter, std::move(runner), parts);
  parts.rules = placedRules(program.rules, sources);
  parts.sources = sources;
  parts.describe = [sources](const route::Fault &fault) {
    return sources ? route::describe(fault, *sources) : fault.what;
  };
  parts.owner = interpreter;
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
