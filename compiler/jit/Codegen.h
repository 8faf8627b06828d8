// Lowering a checked program to LLVM IR. Private to the JIT.
#pragma once

#include "Thunks.h"
#include "image/PolicyImage.h"
#include "sema/Checker.h"

#include <memory>
#include <stdexcept>
#include <vector>

namespace llvm {
class Module;
}

namespace route::jit {

// What the generated code points at: compiled regexes, ACLs and map indexes, each built
// from the image::Table that describes it (an artifact carries the tables, and the code
// links to objects built again from them). Owned by the compiled policy, freed with it.
struct RuntimeData {
  // Builds the object `table` describes as objects.back(); null, with nothing added, when
  // it does not build (a regex set RE2 refuses).
  const void *add(image::Table table);

  // Every object the code refers to: the code names object i by the external symbol
  // objectSymbol(i), bound to objects[i] when the JIT links it. The IR and the object
  // code hold no address of this process.
  std::vector<const void *> objects;
  std::vector<image::Table> tables; // what built each object
  RuntimeData() = default;
  RuntimeData(const RuntimeData &) = delete;
  RuntimeData &operator=(const RuntimeData &) = delete;
  ~RuntimeData();

private:
  std::vector<RouteRegex *> regexes_;
  std::vector<RouteAcl *> acls_;
  std::vector<std::unique_ptr<MapIndex>> maps_;
  std::vector<std::unique_ptr<PrefixIndex>> prefixes_;
  std::vector<RouteRegexSet *> regexSets_;
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
