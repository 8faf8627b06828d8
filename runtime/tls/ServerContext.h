// The TLS side of a listener, built from its settings: certificates chosen by SNI (each
// serves the DNS names of its subjectAltName, wildcards as RFC 6125, exact names first;
// an RSA and an ECDSA certificate for the same names share one context, and OpenSSL gives
// each client the one it supports), protocols, ciphers, ALPN and client certificates.
// Immutable once built; a reload builds another while handshakes under way keep theirs.
// OpenSSL's types stay in the .cpp.
#pragma once

#include "config/TlsSettings.h"
#include "tls/TicketKeys.h"

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace route {
struct TlsFacts;
}

namespace turnout::tls {

class ServerContext {
public:
  // Reads and checks every file of `settings`. Null, with `error` naming the file and the
  // reason, when one cannot be used (missing, unparsable, a key that is not its
  // certificate's, ...); `warnings` gets what loads but should not (an expired
  // certificate).
  // New sessions' tickets are sealed with `ticketKeys` (when tickets are on).
  static std::shared_ptr<const ServerContext> load(const TlsSettings &settings,
                                                   std::shared_ptr<const TicketKeys> ticketKeys,
                                                   std::string &error,
                                                   std::vector<std::string> &warnings);
  ~ServerContext();
  ServerContext(const ServerContext &) = delete;
  ServerContext &operator=(const ServerContext &) = delete;

  // A new connection's TLS state, in server mode, on the default context (SNI moves it);
  // the caller frees it (SSL_free). Null when OpenSSL cannot allocate one.
  ssl_st *newConnection() const;
  std::chrono::milliseconds handshakeTimeout() const { return handshakeTimeout_; }

  struct Impl;

private:
  explicit ServerContext(std::unique_ptr<Impl> impl, std::chrono::milliseconds handshakeTimeout);
  std::unique_ptr<Impl> impl_;
  std::chrono::milliseconds handshakeTimeout_;
};

// What the finished handshake on `ssl` settled: version, cipher, SNI, ALPN, resumption,
// and the client's certificate.
void settled(ssl_st *ssl, route::TlsFacts &facts);

// A TLS listener's context as its workers take it: the one in use, replaced whole by a
// reload that succeeds. Shared by the listener's acceptors on every worker.
class ListenerContext {
public:
  ListenerContext(std::string address, TlsSettings settings)
      : address_(std::move(address)), settings_(std::move(settings)),
        ticketKeys_(std::make_shared<TicketKeys>()) {}
  // Reads the certificates (and the ticket key file) again; on failure keeps those in use
  // and says why.
  bool reload(std::string &error, std::vector<std::string> &warnings);
  // The control plane's, every 12 hours (TicketKeys::rotate).
  void rotateTicketKeys() { ticketKeys_->rotate(); }
  // The ticket keys a binary upgrade hands over (TicketKeys::exported); none for a
  // listener whose keys come from its ticket_key_file, which the new process reads itself.
  std::string handedTicketKeys() const {
    return settings_.ticketKeyFile.empty() ? ticketKeys_->exported() : std::string();
  }
  // Takes the keys the process before handed over, unless keys come from a file.
  bool adoptTicketKeys(std::string_view bytes) {
    return settings_.ticketKeyFile.empty() && ticketKeys_->adopt(bytes);
  }
  std::shared_ptr<const ServerContext> current() const { return current_.load(); }
  const std::string &address() const { return address_; }

private:
  std::string address_;
  TlsSettings settings_;
  std::shared_ptr<TicketKeys> ticketKeys_; // outlives every context: connections use it
  std::atomic<std::shared_ptr<const ServerContext>> current_;
};

} // namespace turnout::tls
