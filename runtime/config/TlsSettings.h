// A TLS listener's settings: the server config's `listen: - {address: ..., tls: {...}}`, or
// `--listen-tls` with `--cert`/`--key` pairs. Plain data; runtime/tls builds contexts of it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace turnout {

struct TlsSettings {
  struct Certificate {
    std::string cert; // PEM: the certificate, then its chain
    std::string key;  // PEM: its private key
    std::string ocsp; // DER: an OCSP response for it, stapled to handshakes; "": none
  };
  enum class ClientAuth { None, Optional, Require };

  std::vector<Certificate> certificates; // chosen by SNI; the first is the default
  std::vector<std::string> protocols = {"TLSv1.2", "TLSv1.3"};
  // TLS 1.2's ciphers: Mozilla's "intermediate" list (TLS 1.3's suites are all modern).
  std::string ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                        "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
                        "DHE-RSA-CHACHA20-POLY1305";
  // Offered in this order of preference: HTTP/2 first, as nginx, HAProxy and Envoy offer it.
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::string clientCa; // PEM: the CAs client certificates must chain to
  ClientAuth clientAuth = ClientAuth::None;
  bool sessionTickets = true;
  std::string ticketKeyFile; // keys of 80 bytes (tls/TicketKeys.h); empty: random, rotated
  std::chrono::milliseconds handshakeTimeout{10'000}; // the whole handshake
};

} // namespace turnout
