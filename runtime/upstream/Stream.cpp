#include "upstream/Stream.h"

namespace turnout::upstream {

asio::ssl::context &TlsContexts::get(bool verify) {
  std::optional<asio::ssl::context> &context = verify ? verifying_ : trusting_;
  if (!context) {
    context.emplace(asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    if (verify) {
      context->set_default_verify_paths();
      context->set_verify_mode(asio::ssl::verify_peer);
    } else {
      context->set_verify_mode(asio::ssl::verify_none);
    }
  }
  return *context;
}

void Stream::startTls(asio::ssl::context &context, const std::string &serverName, bool verify) {
  tls_ = std::make_unique<asio::ssl::stream<TcpSocket>>(std::move(plain_), context);
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
