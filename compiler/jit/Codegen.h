// Lowering a checked program to LLVM IR. Private to the JIT.
#pragma once

#include "jit/Thunks.h"
#include "sema/Checker.h"

#include <memory>
#include <stdexcept>
#include <vector>

namespace llvm {
class Module;
}

namespace route::jit {

// What the generated code points at: compiled regexes, ACLs and map indexes. Owned by the
// compiled policy and freed with it.
struct RuntimeData {
  std::vector<RouteRegex *> regexes;
  std::vector<RouteAcl *> acls;
  std::vector<std::unique_ptr<MapIndex>> maps;
  std::vector<std::unique_ptr<PrefixIndex>> prefixes;
  std::vector<RouteRegexSet *> regexSets;
  // Every object above the code refers to, in the order the code first did: the code
  // names object i by the external symbol objectSymbol(i), bound to objects[i] when the
  // JIT links it. The IR and the object code hold no address of this process.
  std::vector<const void *> objects;
  RuntimeData() = default;
  RuntimeData(const RuntimeData &) = delete;
  RuntimeData &operator=(const RuntimeData &) = delete;
  ~RuntimeData();
};

// A construct the JIT does not lower; the policy then runs on the interpreter.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The name of the native function of a phase: "route_phase_request", ...
std::string phaseSymbol(schema::Phase phase);

// The name of the native function of upstream `index`'s balancing key: "route_key_2". It
// takes the context and a RouteStr to fill: the key's bytes (an int as decimal text, an ip
// as its 16 bytes, as the interpreter gives them).
std::string keySymbol(size_t index);

// The symbol by which generated code names RuntimeData::objects[index]: "route_obj_7".
std::string objectSymbol(size_t index);

// Emits one function per phase handler (and one per user function) into `module`.
void generate(const Program &program, llvm::Module &module, RuntimeData &data);

// The addresses of everything generated code may call, by symbol name.
std::vector<std::pair<const char *, void *>> hostSymbols();

} // namespace route::jit
