// A connection to a peer: plain TCP, or TLS over it when the upstream says `tls = true`.
// One type for both, so that pooling, timeouts and HTTP framing do not care which.
#pragma once

#include "io/Io.h"

#include <boost/asio/ssl.hpp>

#include <memory>
#include <optional>
#include <string>

namespace turnout::upstream {

// The client-side TLS settings of one worker: a verifying context (system trust store)
// and one that does not verify, for `verify = false`. Each is made when first needed:
// loading the trust store costs tens of milliseconds and megabytes per worker, which a
// proxy without TLS upstreams should not pay.
class TlsContexts {
public:
  asio::ssl::context &get(bool verify);

private:
  std::optional<asio::ssl::context> verifying_, trusting_;
};

class Stream {
public:
  explicit Stream(const Executor &executor) : plain_(executor) {}

  using executor_type = Executor;
  executor_type get_executor() { return lowest().get_executor(); }
  TcpSocket &lowest() { return tls_ ? tls_->next_layer() : plain_; }
  bool tls() const { return tls_ != nullptr; }

  // Puts TLS over the connected socket, naming `serverName` (SNI, unless it is an
  // address) and, when verifying, requiring a certificate for it. The handshake is the
  // caller's.
  void startTls(asio::ssl::context &context, const std::string &serverName, bool verify);
  awaitable<error_code> handshake();

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers &buffers, Token &&token) {
    if (tls_)
      return tls_->async_read_some(buffers, std::forward<Token>(token));
    return plain_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers &buffers, Token &&token) {
    if (tls_)
      return tls_->async_write_some(buffers, std::forward<Token>(token));
    return plain_.async_write_some(buffers, std::forward<Token>(token));
  }
  void cancel(error_code &ec) { lowest().cancel(ec); }
  void close() {
    error_code ignored;
    lowest().close(ignored);
  }

private:
  TcpSocket plain_;
  std::unique_ptr<asio::ssl::stream<TcpSocket>> tls_;
};

} // namespace turnout::upstream
