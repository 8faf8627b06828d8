// TLS's records between OpenSSL and a connection's socket. OpenSSL reads the ciphertext the
// connection read from its socket, and leaves the ciphertext it makes for the connection
// to write, through a BIO of ours: a TLS connection's bytes then go through the worker's
// ring as a plain connection's do (one io_uring_enter a turn of the event loop for all of
// them), where OpenSSL's own socket reads and writes cost a system call each, and each
// wait for readiness one more (Asio's epoll_ctl).
#pragma once

#include "io/Io.h"

#include <openssl/ssl.h>

#include <string>

namespace turnout {

// OpenSSL's error `code` as "reason (library)".
std::string describeOpenSslError(unsigned long code);

class TlsChannel {
public:
  // TLS in `ssl` (which this takes) over ciphertext buffers, the input one from `pool`
  // while it holds bytes.
  TlsChannel(SSL *ssl, BufferPool &pool);
  ~TlsChannel();
  TlsChannel(const TlsChannel &) = delete;
  TlsChannel &operator=(const TlsChannel &) = delete;

  SSL *ssl() const { return ssl_; }
  // Ciphertext read from the socket that OpenSSL has not taken yet.
  InputBuffer &input() { return input_; }
  // Takes the ciphertext read into `bytes` before TLS began (emptying it).
  void received(InputBuffer &bytes);
  // Ciphertext OpenSSL made that is not on the socket yet. Past kOutputLimit bytes OpenSSL
  // is told to wait (SSL_ERROR_WANT_WRITE) until it is written: a large write is sent a
  // piece at a time, never whole in memory.
  std::string &output() { return output_; }
  static constexpr size_t kOutputLimit = 64 * 1024;
  // Called once the output went out: a large one's memory goes, a small one's stays for the
  // next response.
  void written();
  // Called as the connection starts to wait for its client: the output's memory goes.
  void idle() { std::string().swap(output_); }
  // Whether OpenSSL may have plaintext to give without reading the socket.
  bool pending() const { return !input_.empty() || SSL_has_pending(ssl_); }
  // Why the connection failed: OpenSSL's error `error` (its last queued one, taken before
  // the queue is cleared), or the peer's certificate that did not verify.
  void failed(unsigned long error) { error_ = error; }
  std::string failure() const;

private:
  static int read(BIO *bio, char *out, size_t size, size_t *done);
  static int write(BIO *bio, const char *in, size_t size, size_t *done);
  static long control(BIO *bio, int command, long number, void *pointer);
  static const BIO_METHOD *method();

  SSL *ssl_;
  InputBuffer input_;
  std::string output_;
  unsigned long error_ = 0;
};

} // namespace turnout
