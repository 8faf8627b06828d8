#include "upstream/Stream.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace turnout::upstream {

namespace {

// Where an SSL keeps the slot of its peer's sessions, for the new-session callback.
int sessionSlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A session to resume later (TLS 1.2 at the handshake's end, 1.3 when a ticket comes):
// it replaces the slot's last one. Taking it (1) keeps OpenSSL's reference.
int onNewSession(SSL *ssl, SSL_SESSION *session) {
  auto **slot = static_cast<SSL_SESSION **>(SSL_get_ex_data(ssl, sessionSlotIndex()));
  if (!slot)
    return 0;
  if (*slot)
    SSL_SESSION_free(*slot);
  *slot = session;
  return 1;
}

std::string contextKey(const ConnectSettings &settings) {
  return fmt::format("{}|{}|{}|{}", settings.verify, settings.ca, settings.clientCert,
                     settings.clientKey);
}

// OpenSSL's last error, taken off its queue.
std::string openSslError() {
  std::string error = describeOpenSslError(ERR_peek_last_error());
  ERR_clear_error();
  return error;
}

bool isAddress(const std::string &name) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, name.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, name.c_str(), bytes) == 1;
}

// A context for `settings`; null with `error` when one of its files cannot be used.
SSL_CTX *makeContext(const ConnectSettings &settings, std::string &error) {
  SSL_CTX *context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_ALL);
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (settings.verify) {
    if (settings.ca.empty())
      SSL_CTX_set_default_verify_paths(context);
    else if (SSL_CTX_load_verify_locations(context, settings.ca.c_str(), nullptr) != 1)
      error = fmt::format("ca {}: {}", settings.ca, openSslError());
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  }
  if (error.empty() && !settings.clientCert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context, settings.clientCert.c_str()) != 1)
      error = fmt::format("client_cert {}: {}", settings.clientCert, openSslError());
    else if (SSL_CTX_use_PrivateKey_file(context, settings.clientKey.c_str(), SSL_FILETYPE_PEM) !=
             1)
      error = fmt::format("client_key {} (for client_cert {}): {}", settings.clientKey,
                          settings.clientCert, openSslError());
    else if (SSL_CTX_check_private_key(context) != 1)
      error =
          fmt::format("client_key {}: not the key of {}", settings.clientKey, settings.clientCert);
  }
  if (!error.empty()) {
    SSL_CTX_free(context);
    return nullptr;
  }
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(context, &onNewSession);
  return context;
}

} // namespace

TlsContexts::~TlsContexts() {
  for (auto &[identity, session] : sessions_)
    if (session)
      SSL_SESSION_free(session);
}

SSL *TlsContexts::newConnection(const ConnectSettings &settings, const std::string &serverName,
                                const std::string *identity, std::string &error) {
  auto &context = contexts_[contextKey(settings)];
  if (!context)
    context.reset(makeContext(settings, error));
  if (!context)
    return nullptr;
  SSL *ssl = SSL_new(context.get());
  if (identity) {
    SSL_SESSION **slot = &sessions_[*identity];
    SSL_set_ex_data(ssl, sessionSlotIndex(), slot);
    if (*slot)
      SSL_set_session(ssl, *slot);
  }
  // HTTP/2 is asked for by ALPN; an HTTP/1 upstream offers none, as before.
  if (settings.protocol == ConnectSettings::Protocol::H2)
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char *>("\x02h2"), 3);
  else if (settings.protocol == ConnectSettings::Protocol::Auto)
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char *>("\x02h2\x08http/1.1"), 12);
  bool address = isAddress(serverName);
  if (!address) // SNI carries names only (RFC 6066 3)
    SSL_set_tlsext_host_name(ssl, serverName.c_str());
  if (settings.verify) {
    if (address)
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName.c_str());
    else
      SSL_set1_host(ssl, serverName.c_str());
  }
  return ssl;
}

bool TlsContexts::check(const ConnectSettings &settings, std::string &error) {
  if (settings.ca.empty() && settings.clientCert.empty())
    return true;
  SSL_CTX *context = makeContext(settings, error);
  SSL_CTX_free(context);
  return context != nullptr;
}

awaitable<IoStatus> connect(Stream &stream, const std::string &address, uint16_t port,
                            const ConnectSettings &settings, TlsContexts &tls,
                            const std::string *identity, BufferPool &buffers, Watchdog &dog,
                            Duration timeout, std::string &error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(address, ec), port);
  if (ec) {
    error = fmt::format("{} is not an IP address", address);
    co_return IoStatus::Failed;
  }
  dog.arm(stream.lowest(), timeout);
  auto [connectError] =
      co_await stream.lowest().async_connect(endpoint, asio::as_tuple(use_awaitable));
  dog.disarm();
  if (connectError) {
    error = connectError.message();
    co_return dog.fired() ? IoStatus::TimedOut : IoStatus::Failed;
  }
  stream.lowest().set_option(tcp::no_delay(true), ec);
  if (!settings.tls)
    co_return IoStatus::Ok;
  // The handshake counts against the connect timeout, as nginx's proxy_connect_timeout.
  SSL *ssl =
      tls.newConnection(settings, settings.sni.empty() ? address : settings.sni, identity, error);
  if (!ssl) {
    error = "TLS: " + error;
    co_return IoStatus::Failed;
  }
  stream.connectTls(ssl, buffers);
  IoStatus status = co_await handshake(stream, dog, detail::until(deadline));
  if (status == IoStatus::TimedOut)
    error = "the TLS handshake timed out";
  else if (status != IoStatus::Ok)
    error = "TLS: " + stream.channel().failure();
  co_return status == IoStatus::Closed ? IoStatus::Failed : status;
}

} // namespace turnout::upstream
