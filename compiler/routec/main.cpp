// routec: the Route compiler's command line.
#include "routec/Commands.h"

#include <CLI/CLI.hpp>

int main(int argc, char **argv) {
  CLI::App app{"routec: check, test and compile Route policies for the turnout proxy"};
  app.set_version_flag("--version", std::string("routec ") + TURNOUT_VERSION);
  app.require_subcommand(1);

  routec::CheckOptions check;
  CLI::App *checkCommand =
      app.add_subcommand("check", "Parse and check policies; print diagnostics");
  checkCommand->add_option("files", check.files, "Policy files (.route)")->required();
  checkCommand->add_option("--format", check.format, "Diagnostics as text or json")
      ->check(CLI::IsMember({"text", "json"}));
  checkCommand->add_flag("--werror", check.werror, "Treat warnings as errors");

  routec::RunOptions run;
  CLI::App *runCommand = app.add_subcommand(
      "run", "Run a policy's phases on a synthetic request and show what the proxy would do");
  runCommand->add_option("policy", run.policy, "Policy file")->required();
  runCommand->add_option("--request", run.request, "The request: 'METHOD http://host/path?query'")
      ->required();
  runCommand->add_option("-H,--header", run.headers, "A request header: 'name: value'");
  runCommand->add_option("--from", run.from, "The client's address (default 192.0.2.1)");
  runCommand->add_option("--response", run.status, "The status the origin answers with")
      ->check(CLI::Range(100, 599));
  runCommand->add_option("--error", run.error,
                         "Make the origin fail instead: connect_failed, read_timeout, ...");
  runCommand->add_flag("--json", run.json, "Print the outcome as JSON");

  routec::DumpOptions dump;
  CLI::App *dumpCommand = app.add_subcommand("dump", "Look inside the compiler");
  dumpCommand->add_option("file", dump.file, "Policy file")->required();
  CLI::Option *ast =
      dumpCommand->add_flag("--ast", dump.ast, "The checked AST: types, resolved names, positions");
  CLI::Option *ir = dumpCommand->add_flag("--ir", dump.ir, "The JIT's optimised LLVM IR");
  CLI::Option *assembly =
      dumpCommand->add_flag("--asm", dump.assembly, "The JIT's machine code, as assembly");
  ast->excludes(ir, assembly);
  ir->excludes(assembly);

  routec::TestOptions test;
  CLI::App *testCommand = app.add_subcommand("test", "Run the test blocks of policies");
  testCommand->add_option("files", test.files, "Policy files (.route)")->required();
  testCommand->add_flag("--no-jit", test.noJit,
                        "Run on the interpreter alone (by default every test also runs on the "
                        "JIT, and the two must agree)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? routec::kExitClean : routec::kExitUsage;
  }
  if (app.got_subcommand(checkCommand))
    return routec::check(check);
  if (app.got_subcommand(dumpCommand))
    return routec::dump(dump);
  if (app.got_subcommand(runCommand))
    return routec::run(run);
  if (app.got_subcommand(testCommand))
    return routec::test(test);
  return routec::kExitUsage;
}
