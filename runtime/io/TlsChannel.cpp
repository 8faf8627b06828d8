#include "io/TlsChannel.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

namespace turnout {

TlsChannel::TlsChannel(SSL *ssl, BufferPool &pool) : ssl_(ssl), input_(pool) {
  BIO *bio = BIO_new(const_cast<BIO_METHOD *>(method()));
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio); // one reference, for both directions
}

TlsChannel::~TlsChannel() {
  // OpenSSL takes a session freed without a shutdown for a broken one and stops it being
  // resumed; a client's session with its peer is sound whatever ended the connection after
  // the handshake. (A server's sessions keep OpenSSL's caution.)
  if (!SSL_is_server(ssl_))
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
}

std::string describeOpenSslError(unsigned long code) {
  const char *reason = ERR_reason_error_string(code);
  const char *library = ERR_lib_error_string(code);
  return std::string(reason ? reason : "unknown error") +
         (library ? std::string(" (") + library + ")" : "");
}

std::string TlsChannel::failure() const {
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK)
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  return error_ ? describeOpenSslError(error_) : "the connection closed";
}

void TlsChannel::received(InputBuffer &bytes) {
  while (!bytes.empty()) {
    auto space = input_.space();
    size_t n = std::min(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), n);
    input_.commit(n);
    bytes.consume(n);
  }
}

void TlsChannel::written() {
  if (output_.capacity() > 16 * 1024)
    std::string().swap(output_);
  else
    output_.clear();
}

int TlsChannel::read(BIO *bio, char *out, size_t size, size_t *done) {
  auto &channel = *static_cast<TlsChannel *>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  InputBuffer &input = channel.input_;
  if (input.empty()) {
    BIO_set_retry_read(bio);
    *done = 0;
    return 0;
  }
  size_t n = std::min(size, input.size());
  std::memcpy(out, input.data(), n);
  input.consume(n);
  *done = n;
  return 1;
}

int TlsChannel::write(BIO *bio, const char *in, size_t size, size_t *done) {
  auto &channel = *static_cast<TlsChannel *>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (channel.output_.size() >= kOutputLimit) {
    BIO_set_retry_write(bio);
    *done = 0;
    return 0;
  }
  channel.output_.append(in, size);
  *done = size;
  return 1;
}

long TlsChannel::control(BIO *bio, int command, long, void *) {
  auto &channel = *static_cast<TlsChannel *>(BIO_get_data(bio));
  switch (command) {
  case BIO_CTRL_FLUSH: // the output is written by the connection, after each operation
    return 1;
  case BIO_CTRL_PENDING:
    return static_cast<long>(channel.input_.size());
  case BIO_CTRL_WPENDING:
    return static_cast<long>(channel.output_.size());
  default:
    return 0;
  }
}

const BIO_METHOD *TlsChannel::method() {
  static const BIO_METHOD *made = [] {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "turnout channel");
    BIO_meth_set_read_ex(m, &TlsChannel::read);
    BIO_meth_set_write_ex(m, &TlsChannel::write);
    BIO_meth_set_ctrl(m, &TlsChannel::control);
    return m;
  }();
  return made;
}

} // namespace turnout
