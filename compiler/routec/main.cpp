// routec: the Route compiler's command line.
#include "Commands.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

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
  runCommand->add_option("--tls-version", run.tls.version,
                         "The request came over TLS of this version (TLSv1.2, TLSv1.3)");
  runCommand->add_option("--tls-cipher", run.tls.cipher, "... with this cipher suite");
  runCommand->add_option("--tls-sni", run.tls.sni, "... for this server name (SNI)");
  runCommand->add_option("--tls-alpn", run.tls.alpn, "... with this ALPN protocol");
  runCommand->add_flag("--tls-resumed", run.tls.resumed, "... on a resumed session");
  runCommand->add_option("--tls-client-subject", run.tls.clientSubject,
                         "... with a verified client certificate of this subject");
  runCommand->add_option("--tls-client-issuer", run.tls.clientIssuer, "... and this issuer");
  runCommand->add_option("--tls-client-fingerprint", run.tls.clientFingerprint,
                         "... and this SHA-256 fingerprint");

  routec::DumpOptions dump;
  CLI::App *dumpCommand = app.add_subcommand("dump", "Look inside the compiler");
  dumpCommand->add_option("file", dump.file, "Policy file")->required();
  CLI::Option *ast =
      dumpCommand->add_flag("--ast", dump.ast, "The checked AST: types, resolved names, positions");
  CLI::Option *ir = dumpCommand->add_flag("--ir", dump.ir, "The JIT's optimised LLVM IR");
  CLI::Option *assembly =
      dumpCommand->add_flag("--asm", dump.assembly, "The JIT's machine code, as assembly");
  CLI::Option *upstreams = dumpCommand->add_flag(
      "--upstreams", dump.upstreams,
      "Every upstream's peers (where the proxy connects and health checks probe): a line each");
  dumpCommand->add_flag("--json", dump.json, "With --upstreams: as JSON");
  ast->excludes(ir, assembly, upstreams);
  ir->excludes(assembly, upstreams);
  assembly->excludes(upstreams);

  routec::TestOptions test;
  CLI::App *testCommand = app.add_subcommand("test", "Run the test blocks of policies");
  testCommand->add_option("files", test.files, "Policy files (.route)")->required();
  testCommand->add_flag("--no-jit", test.noJit,
                        "Run on the interpreter alone (by default every test also runs on the "
                        "JIT, and the two must agree)");

  routec::FormatOptions format;
  CLI::App *formatCommand = app.add_subcommand(
      "fmt", "Lay out policies in the one canonical layout (files are rewritten in place)");
  formatCommand->add_option("files", format.files, "Policy files (.route); - for standard input")
      ->required();
  formatCommand->add_flag("--check", format.check,
                          "Change nothing; exit 1 and name each file that is not formatted");
  formatCommand->add_flag("--stdout", format.toStdout, "Print the result instead of rewriting");

  CLI::App *lspCommand = app.add_subcommand(
      "lsp", "Serve the Language Server Protocol over standard input and output (for editors)");

  routec::BuildOptions build;
  CLI::App *buildCommand = app.add_subcommand(
      "build", "Compile a policy ahead of time into an artifact turnout loads as it is");
  buildCommand->add_option("policy", build.policy, "Policy file (.route)")->required();
  buildCommand->add_option("-o,--output", build.output, "The artifact to write")->required();

  // The commands that talk to a running turnout.
  routec::AdminOptions admin;
  const char *socketFromEnvironment = std::getenv("TURNOUT_ADMIN");
  admin.socket = socketFromEnvironment ? socketFromEnvironment : "/run/turnout/admin.sock";
  std::vector<CLI::App *> adminCommands;
  auto adminCommand = [&](const char *name, const char *description) {
    CLI::App *command = app.add_subcommand(name, description);
    command->add_option("--admin", admin.socket,
                        "turnout's admin socket (default $TURNOUT_ADMIN or "
                        "/run/turnout/admin.sock)");
    command->add_flag("--json", admin.json, "Print the proxy's answer as JSON");
    adminCommands.push_back(command);
    return command;
  };
  adminCommand("load", "Check a policy, then make it the running proxy's active version")
      ->add_option("policy", admin.argument, "Policy file (.route)")
      ->required();
  adminCommand("versions", "List the running proxy's policy versions");
  adminCommand("rollback", "Make a kept version active again: the previous one, or ID")
      ->add_option("id", admin.argument, "A version id (see 'versions')");
  adminCommand("peers", "Report the active version's upstream peers: health, drains");
  for (const char *verb : {"drain", "enable"}) {
    CLI::App *command = adminCommand(
        verb, verb == std::string("drain") ? "Send a peer no new requests (those in flight finish)"
                                           : "Send a drained peer requests again");
    command->add_option("upstream", admin.argument, "The upstream's name")->required();
    command->add_option("peer", admin.peer, "The peer's address, HOST:PORT")->required();
  }
  adminCommand("stats", "The running proxy's counters")
      ->add_flag("--rules", admin.rules,
                 "The active policy's source with each rule's hits in the margin, and the rules "
                 "that never fired since its version was loaded");
  int topIterations = 0;
  CLI::App *topCommand = adminCommand(
      "top", "A live view of the running proxy: requests per second by upstream, status "
             "classes, p99 and the busiest rules, every second");
  topCommand->add_option("-n,--iterations", topIterations, "Stop after N refreshes (0: never)")
      ->check(CLI::NonNegativeNumber);
  adminCommand("reload-tls", "Read every TLS listener's certificates and keys again");

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
  if (app.got_subcommand(formatCommand))
    return routec::format(format);
  if (app.got_subcommand(lspCommand))
    return routec::languageServer();
  if (app.got_subcommand(buildCommand))
    return routec::build(build);
  if (app.got_subcommand(topCommand))
    return routec::top(admin, topIterations);
  for (CLI::App *command : adminCommands) {
    if (app.got_subcommand(command)) {
      admin.command = command->get_name();
      return routec::admin(admin);
    }
  }
  return routec::kExitUsage;
}
