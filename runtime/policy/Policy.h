// A policy as the proxy runs it: checked, compiled to native code (or interpreted where
// the JIT declines a construct), with its upstreams' settings. Immutable once loaded and
// shared by every worker thread; a request holds the version it started with.
#pragma once

#include "exchange/Exchange.h"

#include <memory>
#include <string>

namespace route {
class Compilation;
struct LoadedPolicy;
class JitPolicy;
} // namespace route

namespace turnout {

class Policy {
public:
  // Loads, checks and compiles the policy in `path`. On failure returns null and puts the
  // diagnostics (FILE:LINE:COL: ...) in `diagnostics`; warnings go there too on success.
  static std::shared_ptr<const Policy> load(const std::string &path, std::string &diagnostics);
  ~Policy();

  // Gives back the memory compiling took and a serving proxy does not use: the pages the
  // process reads from its files (the code and read-only data of the executable and its
  // libraries: tens of megabytes of LLVM and ANTLR; the proxy's own come back from the
  // page cache at their next use), and the heap memory compilations left free. Returns
  // the bytes of file pages released.
  static size_t releaseCompilerMemory();

  const route::Program &program() const;
  const std::string &path() const { return path_; }
  // The version id: a hash of the sources (the root file and its imports).
  const std::string &id() const { return id_; }
  // "jit", or "interpreter" with the JIT's reason.
  const std::string &backend() const { return backend_; }

  void runPhase(route::Exchange &exchange, route::schema::Phase phase) const {
    exchange.runPhase(runner_, phase);
  }
  const route::Decision &runErrorPhase(route::Exchange &exchange) const {
    return exchange.runErrorPhase(runner_);
  }
  // A run-time error of this policy, for the log: "FILE:LINE:COL: run-time error in ...".
  std::string describe(const route::Fault &fault) const;
  // The balancing key of upstream `upstream` for this exchange; "" when it has none.
  std::string balanceKey(route::Exchange &exchange, uint32_t upstream) const;

private:
  Policy() = default;
  std::string path_, backend_, id_;
  std::unique_ptr<route::Compilation> compilation_;
  route::LoadedPolicy *loaded_ = nullptr;
  std::unique_ptr<route::Interpreter> interpreter_;
  std::unique_ptr<route::JitPolicy> jit_;
  route::PhaseRunner runner_;
};

} // namespace turnout
