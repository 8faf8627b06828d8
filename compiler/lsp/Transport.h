// JSON-RPC 2.0 messages framed as the Language Server Protocol frames them: a
// `Content-Length` header, a blank line, then that many bytes of JSON.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdio>
#include <string>

namespace route::lsp {

class Transport {
public:
  // A message larger than this is refused (and skipped): policies are at most 64 MiB.
  static constexpr size_t kMaxMessage = 128u << 20;

  Transport(std::FILE *in, std::FILE *out) : in_(in), out_(out) {}

  enum class Read { Message, End, Malformed };
  // The next message. Malformed: a frame without a usable length, too large, or not JSON;
  // `error` says which, and the stream is left at the next frame where that is possible.
  Read read(nlohmann::json &message, std::string &error);
  void write(const nlohmann::json &message);

private:
  std::FILE *in_;
  std::FILE *out_;
};

} // namespace route::lsp
