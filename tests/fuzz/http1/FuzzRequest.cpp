// libFuzzer entry point: any bytes as what a client sends on one connection, read as the
// proxy reads requests (head, body pieces, the next message), in pieces whose size the
// first byte chooses. Every call must take bytes, take all it was given, or change the
// parser's state: a parser that does none of these would spin its worker.
#include "ParserDrive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  turnout::http1::fuzzDrive(turnout::http1::Parser::Kind::Request, data, size);
  return 0;
}
