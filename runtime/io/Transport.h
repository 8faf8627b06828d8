// A connection's bytes: its socket's, or those of TLS over it (a client's connection, as
// its server; a peer's, as its client). TLS reads and writes its records through a TlsChannel: the
// ciphertext is read and written as a plain socket's bytes are (through the worker's ring), OpenSSL
// turning it into plaintext and back in between. readSome, waitReadable and writeAll take
// a Transport as they take a socket. A connection makes one operation at a time.
#pragma once

#include "io/Io.h"
#include "io/TlsChannel.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace turnout {

template <typename Socket> class Transport {
public:
  using executor_type = Executor;
  explicit Transport(Socket socket) : socket_(std::move(socket)) {}
  Transport(Transport &&) = default;
  Transport &operator=(Transport &&) = default;
  Transport(const Transport &) = delete;
  Transport &operator=(const Transport &) = delete;

  // TLS over the socket from here on, as its server or its client, in `ssl` (which this
  // takes), its ciphertext read into buffers of `pool`. The handshake is handshake()'s.
  void acceptTls(SSL *ssl, BufferPool &pool) {
    tls_ = std::make_unique<TlsChannel>(ssl, pool);
    SSL_set_accept_state(ssl);
  }
  void connectTls(SSL *ssl, BufferPool &pool) {
    tls_ = std::make_unique<TlsChannel>(ssl, pool);
    SSL_set_connect_state(ssl);
  }
  bool tls() const { return tls_ != nullptr; }
  // Whether TLS holds bytes read already: something may come without reading the socket.
  bool buffered() const { return tls_ && tls_->pending(); }
  SSL *ssl() const { return tls_ ? tls_->ssl() : nullptr; }
  TlsChannel &channel() { return *tls_; }
  Socket &lowest() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  auto native_handle() { return socket_.native_handle(); }
  void cancel(error_code &ec) { socket_.cancel(ec); }
  // No more writes: TLS's close_notify first, if the handshake was done, sent if the socket
  // takes it at once (not waited on: the close follows).
  void shutdownSend() {
    if (tls_ && SSL_is_init_finished(tls_->ssl())) {
      SSL_shutdown(tls_->ssl());
      ERR_clear_error();
      std::string &out = tls_->output();
      if (!out.empty()) {
        [[maybe_unused]] ssize_t sent =
            ::send(socket_.native_handle(), out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      tls_->written();
    }
    error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  }
  void close(error_code &ec) { socket_.close(ec); }
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

private:
  Socket socket_;
  std::unique_ptr<TlsChannel> tls_;
};

// A Transport's reads, writes and waits are its socket's, TLS or not.
template <typename Socket> void cancelIo(Transport<Socket> &transport) {
  cancelIo(transport.lowest());
}

// Whether bytes wait: TLS's, read already, or the socket's.
template <typename Socket> Pending pending(Transport<Socket> &transport) {
  if (transport.buffered())
    return Pending::Bytes;
  return pending(static_cast<int>(transport.native_handle()));
}

namespace detail {

// Writes out what OpenSSL made.
template <typename Socket>
awaitable<IoStatus> flushTls(Transport<Socket> &transport, Watchdog &dog, Duration timeout) {
  TlsChannel &channel = transport.channel();
  if (channel.output().empty())
    co_return IoStatus::Ok;
  IoStatus status =
      co_await writeAll(transport.lowest(), std::string_view(channel.output()), dog, timeout);
  channel.written();
  co_return status == IoStatus::Closed ? IoStatus::Failed : status;
}

// What OpenSSL asked for after `result`: Ok once the output it made is written and, for
// SSL_ERROR_WANT_READ, more ciphertext is read; otherwise what the connection's failure
// means (an alert it made goes out first, if it can at once).
template <typename Socket>
awaitable<IoStatus> serveTls(Transport<Socket> &transport, int result, Watchdog &dog,
                             Duration timeout) {
  SSL *ssl = transport.ssl();
  int want = SSL_get_error(ssl, result);
  if (want != SSL_ERROR_WANT_READ && want != SSL_ERROR_WANT_WRITE) {
    bool closed = want == SSL_ERROR_ZERO_RETURN || (want == SSL_ERROR_SYSCALL && !ERR_peek_error());
    transport.channel().failed(ERR_peek_last_error());
    ERR_clear_error();
    co_await flushTls(transport, dog, std::min(timeout, Duration(1000)));
    co_return closed ? IoStatus::Closed : IoStatus::Failed;
  }
  IoStatus status = co_await flushTls(transport, dog, timeout);
  if (status == IoStatus::Ok && want == SSL_ERROR_WANT_READ)
    status = co_await readSome(transport.lowest(), transport.channel().input(), dog, timeout);
  co_return status;
}

// Encrypts `bytes` into the channel's output until they are all in or OpenSSL must wait;
// SSL_write_ex's last result (1: all in), `bytes` keeping what is left.
inline int encrypt(SSL *ssl, std::string_view &bytes) {
  while (!bytes.empty()) {
    ERR_clear_error();
    size_t n = 0;
    int result = SSL_write_ex(ssl, bytes.data(), bytes.size(), &n);
    if (result != 1)
      return result;
    bytes.remove_prefix(n);
  }
  return 1;
}

// encrypt()'s slow way: serves what OpenSSL asks after `result`, and encrypts again, until
// `bytes` are all in.
template <typename Socket>
awaitable<IoStatus> encryptAll(Transport<Socket> &transport, std::string_view &bytes, int result,
                               Watchdog &dog, Duration timeout) {
  for (;;) {
    if (IoStatus status = co_await serveTls(transport, result, dog, timeout);
        status != IoStatus::Ok)
      co_return status;
    result = encrypt(transport.ssl(), bytes);
    if (result == 1)
      co_return IoStatus::Ok;
  }
}

// The time left until `deadline`, at least a millisecond.
inline Duration until(std::chrono::steady_clock::time_point deadline) {
  return std::max(Duration(1), std::chrono::duration_cast<Duration>(
                                   deadline - std::chrono::steady_clock::now()));
}

} // namespace detail

// The TLS handshake, bounded as a whole by `timeout`.
template <typename Socket>
awaitable<IoStatus> handshake(Transport<Socket> &transport, Watchdog &dog, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    int result = SSL_do_handshake(transport.ssl());
    if (result == 1)
      co_return co_await detail::flushTls(transport, dog, detail::until(deadline));
    if (std::chrono::steady_clock::now() >= deadline)
      co_return IoStatus::TimedOut;
    IoStatus status = co_await detail::serveTls(transport, result, dog, detail::until(deadline));
    if (status != IoStatus::Ok)
      co_return status;
  }
}

template <typename Socket>
awaitable<IoStatus> waitReadable(Transport<Socket> &transport, Watchdog &dog, Duration timeout) {
  if (transport.buffered())
    co_return IoStatus::Ok;
  if (transport.tls())
    transport.channel().idle();
  co_return co_await waitReadable(transport.lowest(), dog, timeout);
}

// Reads some plaintext into `in`: a TLS connection's ciphertext is read first when OpenSSL
// holds none, so that a connection waiting for bytes holds no plaintext buffer. However
// the records trickle in, the read ends within `timeout`.
template <typename Socket>
awaitable<IoStatus> readSome(Transport<Socket> &transport, InputBuffer &in, Watchdog &dog,
                             Duration timeout) {
  if (!transport.tls())
    co_return co_await readSome(transport.lowest(), in, dog, timeout);
  TlsChannel &channel = transport.channel();
  std::chrono::steady_clock::time_point deadline{};
  if (!channel.pending()) {
    deadline = std::chrono::steady_clock::now() + timeout;
    if (IoStatus status = co_await readSome(transport.lowest(), channel.input(), dog, timeout);
        status != IoStatus::Ok)
      co_return status;
  }
  for (;;) {
    auto space = in.space();
    if (space.size() == 0)
      co_return IoStatus::Failed; // the caller let the buffer fill without parsing it
    ERR_clear_error();
    size_t n = 0;
    int result = SSL_read_ex(transport.ssl(), space.data(), space.size(), &n);
    in.commit(result == 1 ? n : 0); // gives the buffer back if nothing is in it
    if (result == 1) { // what reading made (a TLS 1.3 key update's answer) goes out with it
      if (channel.output().empty())
        co_return IoStatus::Ok;
      co_return co_await detail::flushTls(transport, dog, timeout);
    }
    if (deadline == std::chrono::steady_clock::time_point{})
      deadline = std::chrono::steady_clock::now() + timeout;
    else if (std::chrono::steady_clock::now() >= deadline)
      co_return IoStatus::TimedOut;
    if (IoStatus status =
            co_await detail::serveTls(transport, result, dog, detail::until(deadline));
        status != IoStatus::Ok)
      co_return status;
  }
}

template <typename Socket, typename ConstBuffers>
  requires asio::is_const_buffer_sequence<ConstBuffers>::value
awaitable<IoStatus> writeAll(Transport<Socket> &transport, ConstBuffers buffers, Watchdog &dog,
                             Duration timeout) {
  if (!transport.tls())
    co_return co_await writeAll(transport.lowest(), buffers, dog, timeout);
  TlsChannel &channel = transport.channel();
  SSL *ssl = transport.ssl();
  IoStatus status = IoStatus::Ok;
  if (!channel.output().empty())
    status = co_await detail::flushTls(transport, dog, timeout);
  // Pieces that fit one TLS record are encrypted as one: a record each would cost both ends
  // more than the copy. The copy is the thread's: a record of at most 16 KiB fits the
  // channel's empty output, so OpenSSL takes it whole before anything else runs here.
  constexpr size_t kRecord = 16 * 1024;
  static thread_local std::string joined;
  size_t total = asio::buffer_size(buffers);
  auto begin = asio::buffer_sequence_begin(buffers), end = asio::buffer_sequence_end(buffers);
  if (status == IoStatus::Ok && total <= kRecord && end - begin > 1) {
    joined.resize(total);
    asio::buffer_copy(asio::buffer(joined), buffers);
    std::string_view rest(joined);
    if (int result = detail::encrypt(ssl, rest); result != 1) {
      std::string kept(rest); // the thread's copy is not this write's across a wait
      rest = kept;
      status = co_await detail::encryptAll(transport, rest, result, dog, timeout);
    }
  } else {
    for (auto it = begin; it != end && status == IoStatus::Ok; ++it) {
      asio::const_buffer piece(*it);
      std::string_view rest(static_cast<const char *>(piece.data()), piece.size());
      if (int result = detail::encrypt(ssl, rest); result != 1)
        status = co_await detail::encryptAll(transport, rest, result, dog, timeout);
    }
  }
  if (status == IoStatus::Ok && !channel.output().empty()) {
    status =
        co_await writeAll(transport.lowest(), std::string_view(channel.output()), dog, timeout);
    channel.written();
  }
  co_return status == IoStatus::Closed ? IoStatus::Failed : status;
}

template <typename Socket>
awaitable<IoStatus> writeAll(Transport<Socket> &transport, std::string_view bytes, Watchdog &dog,
                             Duration timeout) {
  return writeAll(transport, asio::const_buffer(bytes.data(), bytes.size()), dog, timeout);
}

} // namespace turnout
