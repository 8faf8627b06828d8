// The subcommands of routec, one file each.
#pragma once

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
};
int dump(const DumpOptions &options);

struct RunOptions {
  std::string policy;
  std::string request; // "GET http://host/path?query"
  std::vector<std::string> headers;
  std::string from;
  int status = 200;   // the origin's answer
  std::string error;  // or the origin's failure
  bool json = false;
};
int run(const RunOptions &options);

struct TestOptions {
  std::vector<std::string> files;
  bool noJit = false; // run on the interpreter alone
};
int test(const TestOptions &options);

} // namespace routec
