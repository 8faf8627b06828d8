// The one place where the proxy meets the compiler: a policy file (a source or a `routec
// build` artifact) loaded, checked and compiled into a Policy, its upstreams made plain
// data. The control plane calls it; workers only ever see the Policy.
#pragma once

#include "policy/Policy.h"

#include <memory>
#include <string>

namespace route {
struct Program;
class SourceManager;
} // namespace route

namespace turnout {

// Loads, checks and compiles the policy in `path`. On failure returns null and puts the
// diagnostics (FILE:LINE:COL: ...) in `diagnostics`; warnings go there too on success.
std::shared_ptr<const Policy> loadPolicy(const std::string &path, std::string &diagnostics);

// A checked program as a policy whose phases run on `runner` (routec run and test: the
// interpreter, recording the rules that fired, or the JIT beside it) and whose balancing
// keys run on an interpreter. `program` and `sources` must outlive it; without sources,
// run-time errors are described without their place.
std::shared_ptr<const Policy> policyOf(const route::Program &program,
                                       const route::SourceManager *sources,
                                       route::PhaseRunner runner);

// Gives back the memory compiling took and a serving proxy does not use: the pages the
// process reads from its files (the code and read-only data of the executable and its
// libraries: tens of megabytes of LLVM and ANTLR; the proxy's own come back from the
// page cache at their next use), and the heap memory compilations left free. Returns
// the bytes of file pages released.
size_t releaseCompilerMemory();

} // namespace turnout
