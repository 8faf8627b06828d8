// The JIT back end: a checked policy lowered to LLVM IR, optimised at O2 and compiled by
// ORC LLJIT into one native function per phase, `void phase(RouteCtx *)`, that reaches
// its exchange through route/abi.h as the interpreter does. No LLVM type appears here.
#pragma once

#include "image/PolicyImage.h"
#include "route/abi.h"
#include "sema/Checker.h"

#include <memory>
#include <string>

namespace route {

struct JitOptions {
  bool keepIr = false;       // keep the optimised IR as text, for routec dump --ir
  bool keepAssembly = false; // keep the machine code as assembly, for routec dump --asm
  bool keepObject = false;   // keep the relocatable object the JIT linked (an artifact's code)
};

// What the JIT compiles for on this machine; an artifact must have been built for the same.
struct HostTarget {
  std::string triple, cpu, features;
};
HostTarget hostTarget();

class JitPolicy {
public:
  // Compiles a policy checked without errors. The result holds nothing of `program`: its
  // code and tables are its own. Returns null and says why in `error` when it cannot.
  static std::unique_ptr<JitPolicy> compile(const Program &program, std::string &error,
                                            JitOptions options = {});
  // Links `object` (an artifact's code, compiled for this target) with the objects
  // `image` describes, without a program. Returns null and says why when it cannot.
  static std::unique_ptr<JitPolicy> link(const std::string &object, const image::PolicyImage &image,
                                         std::string &error);
  ~JitPolicy();

  // Runs the native code of the policy's handler of `phase`, if it has one.
  void runPhase(schema::Phase phase, RouteCtx *ctx) const;
  // Whether upstream `upstream` hashes on a key, and its native key function's value (in
  // the context's arena).
  bool hasBalanceKey(uint32_t upstream) const;
  RouteStr balanceKey(uint32_t upstream, RouteCtx *ctx) const;

  // What links this policy's code again, apart from the code (an artifact's image).
  image::PolicyImage image() const;
  // Its upstreams, by index (the image's, without copying its tables).
  const std::vector<image::Upstream> &upstreams() const;
  // Its rules, by number (the image's).
  const std::vector<image::Rule> &rules() const;

  // What JitOptions asked to keep; empty otherwise.
  const std::string &ir() const;
  const std::string &assembly() const;
  // The object file the JIT compiled and linked, when kept: the same bytes for the same
  // program in any process (it names host objects by symbol, not by address).
  const std::string &object() const;

  struct Impl;

private:
  explicit JitPolicy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace route
