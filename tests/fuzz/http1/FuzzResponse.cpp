// libFuzzer entry point: any bytes as what an upstream answers on one connection, read as
// the proxy reads responses (interim 1xx passed over, bodies, a response to HEAD when the
// second byte is odd), in pieces whose size the first byte chooses.
#include "ParserDrive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  turnout::http1::fuzzDrive(turnout::http1::Parser::Kind::Response, data, size);
  return 0;
}
