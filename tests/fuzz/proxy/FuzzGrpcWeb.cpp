// libFuzzer entry point: any bytes as a gRPC-Web -text request body, cut into pieces where
// the first byte says. Decoding must not depend on where the pieces are cut, and encoding
// any bytes as a response, in pieces, must decode back to them.
#include "proxy/Grpc.h"

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

using turnout::proxy::GrpcWebCall;

namespace {

// The bytes cut every `step` (1 to 16), decoded piece by piece.
bool decodeInPieces(std::string_view bytes, size_t step, std::string &out) {
  GrpcWebCall call(route::grpc::Wire::WebText);
  for (size_t at = 0; at < bytes.size() || at == 0; at += step) {
    std::string piece(bytes.substr(at, step));
    bool last = at + step >= bytes.size();
    if (!call.decodeRequest(piece, last))
      return false;
    out += piece;
    if (last)
      break;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  size_t step = data[0] % 16 + 1;
  std::string_view bytes(reinterpret_cast<const char *>(data) + 1, size - 1);
  std::string whole, pieces;
  bool wholeOk = decodeInPieces(bytes, bytes.size() + 1, whole);
  bool piecesOk = decodeInPieces(bytes, step, pieces);
  if (wholeOk != piecesOk || (wholeOk && whole != pieces))
    __builtin_trap();

  // Encoded in pieces, then decoded at once: the bytes, then the trailers' frame.
  GrpcWebCall call(route::grpc::Wire::WebText);
  std::string encoded;
  route::HeaderFields trailers{{"grpc-status", "0"}};
  for (size_t at = 0; at < bytes.size(); at += step)
    call.encodeResponse(bytes.substr(at, step), false, {}, encoded);
  call.encodeResponse({}, true, trailers, encoded);
  GrpcWebCall reader(route::grpc::Wire::WebText);
  if (!reader.decodeRequest(encoded, true) || encoded.substr(0, bytes.size()) != bytes ||
      encoded.substr(bytes.size()) != std::string("\x80\0\0\0\x0fgrpc-status:0\r\n", 20))
    __builtin_trap();
  return 0;
}
