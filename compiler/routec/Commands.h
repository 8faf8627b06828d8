// The subcommands of routec, one file each.
#pragma once

#include "exchange/Exchange.h"

#include <string>
#include <vector>

namespace routec {

// Exit codes, as the README documents them.
inline constexpr int kExitClean = 0;
inline constexpr int kExitErrors = 1; // diagnostics with errors, or failing tests
inline constexpr int kExitUsage = 2;  // bad arguments, unreadable files

struct CheckOptions {
  std::vector<std::string> files;
  std::string format = "text";
  bool werror = false;
};
int check(const CheckOptions &options);

struct DumpOptions {
  std::string file;
  bool ast = false;
  bool ir = false;
  bool assembly = false;
  bool upstreams = false; // every upstream's peers, as text or (json) JSON
  bool json = false;
};
int dump(const DumpOptions &options);

struct RunOptions {
  std::string policy;
  std::string request; // "GET http://host/path?query"
  std::vector<std::string> headers;
  std::string from;
  int status = 200;  // the origin's answer
  std::string error; // or the origin's failure
  bool json = false;
  route::TlsFacts tls; // the connection's TLS, when a --tls-* option is given
};
int run(const RunOptions &options);

struct TestOptions {
  std::vector<std::string> files;
  bool noJit = false; // run on the interpreter alone
};
int test(const TestOptions &options);

// fmt: the canonical layout, written back, printed, or only checked.
struct FormatOptions {
  std::vector<std::string> files; // "-": standard input to standard output
  bool check = false;             // change nothing; exit 1 if a file is not formatted
  bool toStdout = false;          // print instead of rewriting the files
};
int format(const FormatOptions &options);

// lsp: the language server, over standard input and output.
int languageServer();

// build: an artifact the proxy loads without compiling.
struct BuildOptions {
  std::string policy;
  std::string output;
};
int build(const BuildOptions &options);

// load, versions, rollback, peers, drain, enable, stats: a running turnout's admin socket.
struct AdminOptions {
  std::string command;  // as the admin protocol names it
  std::string socket;   // the admin socket's path
  std::string argument; // load: the policy; rollback: a version id; drain/enable: the upstream
  std::string peer;     // drain/enable: the peer's address
  bool json = false;    // print the proxy's answer as it is
  bool rules = false;   // stats: the active policy's rules and their hits
};
int admin(const AdminOptions &options);
// stats --rules: the active policy's source with each rule's hits in the margin, and the
// rules that never fired since its version was loaded.
int statsRules(const AdminOptions &options);
// top: requests per second by upstream, status classes, p99 and the busiest rules, every
// second until interrupted (or `iterations` times, when not 0).
int top(const AdminOptions &options, int iterations);

} // namespace routec
