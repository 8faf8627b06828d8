#include "ast/Printer.h"
#include "jit/Jit.h"
#include "routec/Commands.h"
#include "routec/Support.h"

#include <cstdio>

namespace routec {

int dump(const DumpOptions &options) {
  if (!options.ast && !options.ir && !options.assembly) {
    std::fputs("routec dump: choose what to show: --ast, --ir or --asm\n", stderr);
    return kExitUsage;
  }
  route::Compilation compilation;
  int exitCode = kExitClean;
  route::LoadedPolicy *policy = loadPolicy(compilation, options.file, exitCode);
  if (!policy)
    return exitCode;
  if (options.ir || options.assembly) {
    std::string why;
    route::JitOptions keep{options.ir, options.assembly};
    std::unique_ptr<route::JitPolicy> jit = route::JitPolicy::compile(policy->program, why, keep);
    if (!jit) {
      std::fprintf(stderr, "routec dump: %s\n", why.c_str());
      return kExitErrors;
    }
    std::fputs((options.ir ? jit->ir() : jit->assembly()).c_str(), stdout);
    return kExitClean;
  }
  for (const route::ast::Module *module : policy->program.modules) {
    std::printf("// %s\n", compilation.sources().path(module->file).c_str());
    std::fputs(route::ast::print(*module, compilation.sources()).c_str(), stdout);
  }
  return kExitClean;
}

} // namespace routec
