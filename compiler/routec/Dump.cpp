#include "ast/Printer.h"
#include "driver/Compilation.h"
#include "routec/Commands.h"

#include <cstdio>

namespace routec {

int dump(const DumpOptions &options) {
  route::Compilation compilation;
  route::LoadedPolicy *policy = compilation.load(options.file);
  std::fputs(compilation.diags().renderText().c_str(), stderr);
  if (!policy)
    return kExitUsage;
  if (!policy->ok)
    return kExitErrors;
  for (const route::ast::Module *module : policy->program.modules) {
    std::printf("// %s\n", compilation.sources().path(module->file).c_str());
    std::fputs(route::ast::print(*module, compilation.sources()).c_str(), stdout);
  }
  return kExitClean;
}

} // namespace routec
