// `routec lsp`: a Language Server (LSP 3.17) over a pair of streams, built on the
// compiler's own front end. One thread; every request is answered from the buffers as they
// stand, re-analysed on each change. Nothing a client sends ends the session but `exit`
// or the end of its input.
#pragma once

#include <cstdio>

namespace route::lsp {

// Serves until `exit` or the end of `in`. Returns the process's exit code: 0 when `exit`
// came after `shutdown`, 1 otherwise (as the protocol asks). `log` gets one line per
// problem with the client's messages.
int serve(std::FILE *in, std::FILE *out, std::FILE *log);

} // namespace route::lsp
