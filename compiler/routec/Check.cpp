#include "Commands.h"
#include "driver/Compilation.h"

#include <fmt/format.h>

#include <cstdio>

namespace routec {

int check(const CheckOptions &options) {
  route::Compilation compilation;
  compilation.diags().setWarningsAsErrors(options.werror);
  bool ioError = false;
  for (const std::string &file : options.files)
    ioError |= compilation.load(file) == nullptr;

  route::DiagnosticEngine &diags = compilation.diags();
  if (options.format == "json") {
    std::fputs(diags.renderJson().c_str(), stdout);
  } else {
    std::fputs(diags.renderText().c_str(), stderr);
    if (diags.errorCount() || diags.warningCount())
      std::fputs(fmt::format("{} error{}, {} warning{}\n", diags.errorCount(),
                             diags.errorCount() == 1 ? "" : "s", diags.warningCount(),
                             diags.warningCount() == 1 ? "" : "s")
                     .c_str(),
                 stderr);
  }
  if (ioError)
    return kExitUsage;
  return diags.hasErrors() ? kExitErrors : kExitClean;
}

} // namespace routec
