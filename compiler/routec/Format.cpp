#include "format/Format.h"
#include "Commands.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace routec {

namespace fs = std::filesystem;

namespace {

bool readAll(std::istream &in, std::string &text) {
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return !in.bad();
}

// The 1-based line where two texts first differ.
size_t firstDifferentLine(const std::string &a, const std::string &b) {
  size_t line = 1;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    line += a[i] == '\n';
  return line;
}

// Replaces `path` by `text` in one step (a new file renamed over it), keeping its mode.
bool replaceFile(const std::string &path, const std::string &text, std::string &why) {
  std::error_code ec;
  fs::perms mode = fs::status(path, ec).permissions();
  std::string temporary = path + ".routec-fmt.tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      why = "cannot write " + temporary;
      fs::remove(temporary, ec);
      return false;
    }
  }
  fs::permissions(temporary, mode, ec);
  fs::rename(temporary, path, ec);
  if (ec) {
    why = ec.message();
    fs::remove(temporary, ec);
    return false;
  }
  return true;
}

} // namespace

int format(const FormatOptions &options) {
  int exitCode = kExitClean;
  for (const std::string &path : options.files) {
    bool standardStreams = path == "-";
    std::string text;
    if (standardStreams) {
      readAll(std::cin, text);
    } else {
      std::ifstream in(path, std::ios::binary);
      if (!in || !readAll(in, text)) {
        std::fprintf(stderr, "routec fmt: cannot read '%s'\n", path.c_str());
        exitCode = kExitUsage;
        continue;
      }
    }
    route::SourceManager sources;
    route::FileId file = sources.add(standardStreams ? "<stdin>" : path, text);
    route::DiagnosticEngine diags(sources);
    std::optional<std::string> formatted = route::formatFile(sources, file, diags);
    if (!formatted) {
      std::fputs(diags.renderText().c_str(), stderr);
      exitCode = std::max(exitCode, kExitErrors);
      continue;
    }
    if (options.check) {
      if (*formatted != text) {
        std::fprintf(stderr, "%s: not formatted (first difference on line %zu); run routec fmt\n",
                     standardStreams ? "<stdin>" : path.c_str(),
                     firstDifferentLine(text, *formatted));
        exitCode = std::max(exitCode, kExitErrors);
      }
    } else if (standardStreams || options.toStdout) {
      std::fwrite(formatted->data(), 1, formatted->size(), stdout);
    } else if (*formatted != text) {
      std::string why;
      if (!replaceFile(path, *formatted, why)) {
        std::fprintf(stderr, "routec fmt: cannot rewrite '%s': %s\n", path.c_str(), why.c_str());
        exitCode = kExitUsage;
      }
    }
  }
  return exitCode;
}

} // namespace routec
