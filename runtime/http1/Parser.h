// An HTTP/1.x message parser over llhttp, for both directions: requests from clients and
// responses from upstreams. It stops after a message's head, so that the proxy can decide
// where the body goes before any of it is read, and after a message's end, so that
// pipelined bytes stay for the next message. Bodies come out de-chunked, piece by piece;
// nothing here buffers a whole body. No llhttp type appears in this header.
#pragma once

#include "exchange/HeaderList.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turnout::http1 {

using Fields = route::HeaderFields;

// Limits on a message's head; a client that passes one gets 414 or 431.
struct HeadLimits {
  size_t maxRequestLine = 8 * 1024;  // request target, as nginx's large_client_header_buffers
  size_t maxHeaderBytes = 32 * 1024; // all header names and values together
  size_t maxHeaderCount = 100;
};

struct Head {
  std::string method; // requests
  std::string target; // requests: as sent (origin-form or absolute-form)
  int status = 0;     // responses
  int versionMajor = 1, versionMinor = 1;
  Fields fields; // in arrival order, names as sent
};

class Parser {
public:
  enum class Kind { Request, Response };
  Parser(Kind kind, HeadLimits limits = {});
  ~Parser();
  Parser(const Parser &) = delete;
  Parser &operator=(const Parser &) = delete;

  // Parses what it can of `data` and returns how many bytes it took. It stops early at
  // the end of the head and at the end of the message; call next() before the next one.
  // Body bytes are appended to body(). On error, failed() is true and says why.
  size_t feed(const char *data, size_t size);
  // The peer closed: ends a message delimited by the connection's end.
  void finish();
  // Starts the next message on the same connection.
  void next();
  // Starts over, as on a new connection (an upstream connection per attempt).
  void reset();
  // Takes back a head's fields that were moved out of head(), to fill them again (their
  // capacity, not their contents): a message then needs no new vector. Kept by the thread,
  // not by this parser: a connection between requests holds none.
  void recycle(Fields fields);
  // For a response to HEAD, or any response that has no body whatever its head says.
  void expectNoBody() { noBody_ = true; }

  bool started() const { return started_; }
  bool headComplete() const { return headComplete_; }
  bool messageComplete() const { return messageComplete_; }
  bool failed() const { return errorStatus_ != 0; }
  // 400, 413, 414 or 431 for requests; 502 for responses.
  int errorStatus() const { return errorStatus_; }
  const std::string &errorReason() const { return errorReason_; }

  const Head &head() const { return head_; }
  Head &head() { return head_; }
  std::string &body() { return body_; }
  const Fields &trailers() const { return trailers_; }

  bool chunked() const;
  bool hasContentLength() const;
  uint64_t contentLength() const { return contentLength_; }
  // Whether the message has a body to read after its head.
  bool hasBody() const;
  // Whether the message's body runs to the connection's end (responses only).
  bool bodyUntilClose() const;
  // Whether the connection may carry another message after this one.
  bool keepAlive() const;
  bool upgrade() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
  HeadLimits limits_;
  Head head_;
  std::string body_;
  Fields trailers_;
  uint64_t contentLength_ = 0;
  size_t headBytes_ = 0;
  bool started_ = false, headComplete_ = false, messageComplete_ = false, noBody_ = false;
  bool switched_ = false; // the message switched protocols (101, CONNECT): nothing follows
  bool inValue_ = false;
  enum class ValuePiece { None, EndedAtInputEnd, EndedInside } valuePiece_ = ValuePiece::None;
  const char *inputEnd_ = nullptr;
  int errorStatus_ = 0;
  std::string errorReason_;
  friend struct Callbacks;
};

// Whether a Host field or absolute-form authority has only the characters of RFC 3986's
// reg-name, IPv4 and bracketed IPv6 forms, and a port.
bool validAuthority(std::string_view authority);
// `text` with ASCII letters in lowercase (field names, hosts).
std::string lowercase(std::string_view text);
// The host of an authority ("Example.com:8080", "[::1]:80"), lowercase, without its port.
std::string hostOf(std::string_view authority);

// The hop-by-hop fields of one message (RFC 9110 7.6.1): Connection, the fields it names,
// Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade and Proxy-*; a proxy never forwards
// them. Built once per message: whether it has a Connection field at all is looked up once,
// not once per field.
class HopByHop {
public:
  explicit HopByHop(const Fields &fields);
  bool operator()(std::string_view name) const;

private:
  const Fields &fields_;
  bool connection_ = false; // the message has a Connection field naming others
};

} // namespace turnout::http1
