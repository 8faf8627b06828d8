// gRPC as an exchange shows it (gRPC over HTTP/2, gRPC-Web): which requests are calls,
// what they call, and how an HTTP status reads as a gRPC one. The proxy, the policy's
// grpc.* variables and routec's simulation read it alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace route::grpc {

// How a call travels, by the request's content-type.
enum class Wire : uint8_t {
  None,    // not a gRPC call
  Grpc,    // application/grpc[+proto|+json...]
  Web,     // application/grpc-web[+proto]: gRPC-Web's binary form
  WebText, // application/grpc-web-text[+proto]: the same, base64-encoded
};
Wire wireOf(std::string_view contentType);

// A call's service ("package.Service") and method, from its path "/package.Service/Method";
// none for another path.
struct Call {
  std::string_view service, method;
};
std::optional<Call> callOf(std::string_view path);

// gRPC's status codes the proxy answers with.
enum Status : int {
  Ok = 0,
  Unknown = 2,
  DeadlineExceeded = 4,
  PermissionDenied = 7,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  Unauthenticated = 16,
};
// The status an answer of the proxy's own with this HTTP status means to a gRPC client.
Status statusOfHttp(int64_t httpStatus);
// grpc-message's percent-encoding: bytes outside printable ASCII, and '%'.
std::string encodeMessage(std::string_view message);
// A grpc-timeout value ("100m", "5S": at most 8 digits and a unit of H, M, S, m, u, n).
std::optional<std::chrono::nanoseconds> parseTimeout(std::string_view value);

} // namespace route::grpc
