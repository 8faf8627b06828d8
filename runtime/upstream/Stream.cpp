#include "upstream/Stream.h"

#include <fmt/format.h>

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

// A context for `settings`; null with `error` when one of its files cannot be used.
std::unique_ptr<asio::ssl::context> makeContext(const ConnectSettings &settings,
                                                std::string &error) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  error_code ec;
  if (settings.verify) {
    if (settings.ca.empty())
      context->set_default_verify_paths(ec);
    else if (context->load_verify_file(settings.ca, ec); ec)
      error = fmt::format("ca {}: {}", settings.ca, ec.message());
    context->set_verify_mode(asio::ssl::verify_peer);
  } else {
    context->set_verify_mode(asio::ssl::verify_none);
  }
  if (error.empty() && !settings.clientCert.empty()) {
    if (context->use_certificate_chain_file(settings.clientCert, ec); ec)
      error = fmt::format("client_cert {}: {}", settings.clientCert, ec.message());
    else if (context->use_private_key_file(settings.clientKey, asio::ssl::context::pem, ec); ec)
      error = fmt::format("client_key {} (for client_cert {}): {}", settings.clientKey,
                          settings.clientCert, ec.message());
    else if (SSL_CTX_check_private_key(context->native_handle()) != 1)
      error =
          fmt::format("client_key {}: not the key of {}", settings.clientKey, settings.clientCert);
  }
  if (!error.empty())
    return nullptr;
  SSL_CTX_set_session_cache_mode(context->native_handle(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(context->native_handle(), &onNewSession);
  return context;
}

} // namespace

TlsContexts::~TlsContexts() {
  for (auto &[identity, session] : sessions_)
    if (session)
      SSL_SESSION_free(session);
}

asio::ssl::context *TlsContexts::get(const ConnectSettings &settings, std::string &error) {
  std::unique_ptr<asio::ssl::context> &context = contexts_[contextKey(settings)];
  if (!context)
    context = makeContext(settings, error);
  return context.get();
}

bool TlsContexts::check(const ConnectSettings &settings, std::string &error) {
  return settings.ca.empty() && settings.clientCert.empty()
             ? true
             : makeContext(settings, error) != nullptr;
}

Stream::~Stream() {
  // OpenSSL takes a session freed without a shutdown for a broken one and stops it being
  // resumed; the peer's session is sound whatever ended the connection after its handshake.
  if (tls_)
    SSL_set_shutdown(tls_->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

void Stream::startTls(asio::ssl::context &context, const std::string &serverName, bool verify,
                      SSL_SESSION **session) {
  tls_ = std::make_unique<asio::ssl::stream<TcpSocket>>(std::move(plain_), context);
  if (session) {
    SSL_set_ex_data(tls_->native_handle(), sessionSlotIndex(), session);
    if (*session)
      SSL_set_session(tls_->native_handle(), *session);
  }
  error_code notAnAddress;
  asio::ip::make_address(serverName, notAnAddress);
  if (notAnAddress) // SNI carries names only (RFC 6066 3)
    SSL_set_tlsext_host_name(tls_->native_handle(), serverName.c_str());
  if (verify)
    tls_->set_verify_callback(asio::ssl::host_name_verification(serverName));
}

awaitable<error_code> Stream::handshake() {
  auto [ec] =
      co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::as_tuple(use_awaitable));
  co_return ec;
}

} // namespace turnout::upstream
