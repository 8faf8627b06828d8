// A connection to a peer: plain TCP, or TLS over it when the upstream says `tls = true`.
// One type for both, so that pooling, timeouts and HTTP framing do not care which.
#pragma once

#include "io/Io.h"
#include "upstream/UpstreamSpec.h"

#include <boost/asio/ssl.hpp>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace turnout::upstream {

// The client-side TLS of one worker: a context per set of upstream TLS settings (verify,
// CA file, client certificate), each made when first needed (loading the system's trust
// store costs tens of milliseconds and megabytes per worker, which a proxy without TLS
// upstreams should not pay), and the last session of each peer, which the next connection
// to it resumes (TLS 1.3 tickets arrive after the handshake: they are taken as they come).
class TlsContexts {
public:
  TlsContexts() = default;
  TlsContexts(const TlsContexts &) = delete;
  TlsContexts &operator=(const TlsContexts &) = delete;
  ~TlsContexts();

  // The context for `settings`; null with `error` (the file and why) when a file of them
  // cannot be used.
  asio::ssl::context *get(const ConnectSettings &settings, std::string &error);
  // Where the sessions of the connections named `identity` (a peer and its settings) are
  // kept: its last one, for the next connection.
  SSL_SESSION **sessionSlot(const std::string &identity) { return &sessions_[identity]; }
  // Whether contexts for `settings` can be made (a policy's upstream files, checked when it
  // loads); false with `error`.
  static bool check(const ConnectSettings &settings, std::string &error);

private:
  std::unordered_map<std::string, std::unique_ptr<asio::ssl::context>> contexts_;
  std::unordered_map<std::string, SSL_SESSION *> sessions_;
};

class Stream {
public:
  explicit Stream(const Executor &executor) : plain_(executor) {}
  Stream(Stream &&) = default;
  Stream &operator=(Stream &&) = default;
  ~Stream();

  using executor_type = Executor;
  executor_type get_executor() { return lowest().get_executor(); }
  TcpSocket &lowest() { return tls_ ? tls_->next_layer() : plain_; }
  bool tls() const { return tls_ != nullptr; }

  // Puts TLS over the connected socket, naming `serverName` (SNI, unless it is an
  // address) and, when verifying, requiring a certificate for it. The handshake is the
  // caller's.
  // `session`, when given, holds the peer's last session: resumed if there is one, and
  // replaced by the session this connection gets.
  void startTls(asio::ssl::context &context, const std::string &serverName, bool verify,
                SSL_SESSION **session = nullptr);
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
