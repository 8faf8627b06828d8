// A connection to a peer: plain TCP, or TLS over it when the upstream says `tls = true`.
// One type for both, so that pooling, timeouts and HTTP framing do not care which; its TLS
// is the client side's of io/Transport.h, the one TLS of turnout, read and written through
// the worker's ring.
#pragma once

#include "io/Transport.h"
#include "upstream/UpstreamSpec.h"

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <unordered_map>

namespace turnout::upstream {

using Stream = Transport<TcpSocket>;

// The client-side TLS of one thread: a context per set of upstream TLS settings (verify,
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

  // A connection's TLS for `settings`, naming `serverName` (SNI, unless it is an address)
  // and, when verifying, requiring a certificate for it; resuming the last session of the
  // connections named `identity` (a peer and its settings), when given, and keeping the
  // one it gets for the next. Null with `error` (the file and why) when a file of the
  // settings cannot be used.
  SSL *newConnection(const ConnectSettings &settings, const std::string &serverName,
                     const std::string *identity, std::string &error);
  // Whether contexts for `settings` can be made (a policy's upstream files, checked when it
  // loads); false with `error`.
  static bool check(const ConnectSettings &settings, std::string &error);

private:
  struct FreeContext {
    void operator()(SSL_CTX *context) const { SSL_CTX_free(context); }
  };
  std::unordered_map<std::string, std::unique_ptr<SSL_CTX, FreeContext>> contexts_;
  std::unordered_map<std::string, SSL_SESSION *> sessions_;
};

// Connects `stream` (a closed socket) to `address:port` and, when `settings.tls`, shakes
// hands over it naming `settings.sni` or else `address`, resuming `identity`'s session
// (see TlsContexts::newConnection), its ciphertext read into buffers of `buffers`: all
// within `timeout`. Ok, or TimedOut or Failed with why in `error`.
awaitable<IoStatus> connect(Stream &stream, const std::string &address, uint16_t port,
                            const ConnectSettings &settings, TlsContexts &tls,
                            const std::string *identity, BufferPool &buffers, Watchdog &dog,
                            Duration timeout, std::string &error);

} // namespace turnout::upstream
