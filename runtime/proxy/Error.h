// The one error type of the request flow, as Pingora's: what failed (a kind of
// dsl/schema/error_kinds.def, the names `error.kind` reads), on which side, whether
// another attempt may follow, and a message for the log and `error.message`. Retry
// decisions read the kind and the retry, never the message.
#pragma once

#include "schema/Schema.h"

#include <string>

namespace turnout::proxy {

using route::schema::ErrorKind;
using route::schema::ErrorRetry;
using route::schema::ErrorSide;

struct Error {
  ErrorKind kind = ErrorKind::UpstreamReset;
  ErrorRetry retry = ErrorRetry::Never;
  // A connection taken from the pool that the peer had closed before the request reached
  // it: not the peer's fault; the request may go once more on a fresh connection, if it
  // is safe to send twice.
  bool stale = false;
  // The peer said it did not act on the request (HTTP/2's REFUSED_STREAM, a stream above a
  // GOAWAY's last): it may go again whatever its method (RFC 9113 8.7).
  bool unprocessed = false;
  std::string message;

  Error() = default;
  Error(ErrorKind kind, std::string message)
      : kind(kind), retry(route::schema::errorKind(kind).retry), message(std::move(message)) {}
  static Error staleConnection() {
    Error error(ErrorKind::UpstreamReset, "");
    error.stale = true;
    return error;
  }
  static Error refusedStream() {
    Error error = staleConnection();
    error.unprocessed = true;
    return error;
  }

  const char *name() const { return route::schema::errorKind(kind).name; }
  int status() const { return route::schema::errorKind(kind).status; }
  ErrorSide side() const { return route::schema::errorKind(kind).side; }
};

} // namespace turnout::proxy
