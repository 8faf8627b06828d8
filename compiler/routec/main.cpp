// routec: the Route compiler's command line.
#include "driver/Compilation.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace {

// Exit codes, as the README documents them.
constexpr int kExitClean = 0;
constexpr int kExitErrors = 1;
constexpr int kExitUsage = 2;

struct CheckOptions {
  std::vector<std::string> files;
  std::string format = "text";
  bool werror = false;
};

int runCheck(const CheckOptions &options) {
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

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"routec: check, test and compile Route policies for the turnout proxy"};
  app.set_version_flag("--version", std::string("routec ") + TURNOUT_VERSION);
  app.require_subcommand(1);

  CheckOptions check;
  CLI::App *checkCommand =
      app.add_subcommand("check", "Parse and check policies; print diagnostics");
  checkCommand->add_option("files", check.files, "Policy files (.route)")->required();
  checkCommand->add_option("--format", check.format, "Diagnostics as text or json")
      ->check(CLI::IsMember({"text", "json"}));
  checkCommand->add_flag("--werror", check.werror, "Treat warnings as errors");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? kExitClean : kExitUsage;
  }
  if (app.got_subcommand(checkCommand))
    return runCheck(check);
  return kExitUsage;
}
