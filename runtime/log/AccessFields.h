// The fields a JSON access log line may have (`log.access_fields`), by their keys. Header
// only: the server config checks the names it is given against these.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace turnout::log {

enum class AccessField : uint8_t {
  Time,                // "2026-12-05T08:40:01.123Z", when the request ended (UTC)
  RequestId,           // req.id
  ClientIp,            // the client (a PROXY header's, when one named it)
  ClientPort,          //
  RemoteIp,            // the immediate peer: a PROXY protocol relay, or the client
  Protocol,            // "HTTP/1.1", "HTTP/2"
  TlsVersion,          // "TLSv1.3"; null without TLS
  Sni,                 // the server name the client asked for; null without one
  Method,              //
  Host,                //
  Path,                //
  Query,               //
  Status,              // the status the client got
  BytesIn,             // request body bytes read from the client
  BytesOut,            // response body bytes sent to the client
  DurationMs,          // first request byte to last response byte
  Upstream,            // the upstream's name; null when answered without one
  Peer,                // the last attempt's peer
  Attempts,            // attempts made upstream
  UpstreamFirstByteMs, // the last attempt's request head sent to response head read
  PolicyVersion,       // the id of the policy version that served it
  Rule,                // "file:line" of the rule whose statement made the answer
  Error,               // error.kind of the failure it met, if any
  TraceId,             // the W3C trace id
  GrpcStatus,          // a gRPC call's grpc-status
};

inline constexpr std::array<std::string_view, 25> kAccessFieldNames{
    "time",           "request_id",  "client_ip", "client_port", "remote_ip",
    "protocol",       "tls_version", "sni",       "method",      "host",
    "path",           "query",       "status",    "bytes_in",    "bytes_out",
    "duration_ms",    "upstream",    "peer",      "attempts",    "upstream_first_byte_ms",
    "policy_version", "rule",        "error",     "trace_id",    "grpc_status"};

inline std::string_view name(AccessField field) {
  return kAccessFieldNames[static_cast<size_t>(field)];
}
inline std::optional<AccessField> accessField(std::string_view name) {
  for (size_t i = 0; i < kAccessFieldNames.size(); ++i)
    if (kAccessFieldNames[i] == name)
      return static_cast<AccessField>(i);
  return std::nullopt;
}
// "time, request_id, ...": for messages.
inline std::string accessFieldNames() {
  std::string all;
  for (std::string_view n : kAccessFieldNames)
    all.append(all.empty() ? "" : ", ").append(n);
  return all;
}

} // namespace turnout::log
