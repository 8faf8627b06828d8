// gRPC in the request flow: the proxy's own answers to calls, and gRPC-Web (gRPC's
// PROTOCOL-WEB) into gRPC and back, as Envoy's grpc_web filter does it: a call from a
// browser, over HTTP/1.1 or HTTP/2, goes to an HTTP/2 upstream as gRPC, and the response's
// trailers come back as the body's last frame (flag 0x80, then "name:value\r\n" lines).
// The -text form is base64 both ways, decoded and encoded as the pieces stream.
#pragma once

#include "exchange/Exchange.h"
#include "exchange/Grpc.h"
#include "exchange/HeaderList.h"

#include <string>
#include <string_view>

namespace turnout::proxy {

// A grpc-status field's value among `fields`: -1 when there is none.
int64_t grpcStatusIn(const route::HeaderFields &fields);

// Makes the proxy's own answer to a gRPC call (x.grpc) a gRPC one, a trailers-only
// response (200 with grpc-status and grpc-message), so that its client sees a gRPC error,
// not an HTTP one; the HTTP status says which. A grpc-status the policy set stands.
void answerAsCall(route::Exchange &x);

class GrpcWebCall {
public:
  explicit GrpcWebCall(route::grpc::Wire wire) : text_(wire == route::grpc::Wire::WebText) {}

  bool text() const { return text_; }
  // The response's content-type for one the upstream named `grpc` (application/grpc[+x]).
  std::string responseType(std::string_view grpc) const;
  // A piece of the request body as gRPC: -text decoded in place, a partial quantum kept for
  // the next piece. False when it is not base64, or the body ends inside a quantum.
  bool decodeRequest(std::string &piece, bool last);
  // Appends a piece of the response body to `out` as gRPC-Web; the last piece adds the
  // trailers' frame.
  void encodeResponse(std::string_view piece, bool last, const route::HeaderFields &trailers,
                      std::string &out);

private:
  void encode(std::string_view bytes, bool last, std::string &out);

  bool text_;
  std::string quantum_; // -text: base64 characters of a quantum not yet whole (at most 3)
  std::string pending_; // -text: response bytes not yet encoded (at most 2)
};

} // namespace turnout::proxy
