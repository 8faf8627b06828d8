#include "Commands.h"
#include "lsp/Server.h"

#include <cstdio>

namespace routec {

int languageServer() {
  // Standard output carries the protocol alone; anything else goes to standard error.
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
  return route::lsp::serve(stdin, stdout, stderr);
}

} // namespace routec
