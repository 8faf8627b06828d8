// A connection's bytes: its socket's, or those of TLS over it (a server's side, today's
// downstream TLS). TLS is driven by readiness, as nginx drives it: OpenSSL reads and writes
// the descriptor itself, with no buffer of ours and its own given back while the
// connection is idle (SSL_MODE_RELEASE_BUFFERS), and the connection waits on the socket
// when OpenSSL says it must. readSome, waitReadable and writeAll take a Transport as they
// take a socket; plain ones still go through the worker's ring.
#pragma once

#include "io/Io.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace turnout {

template <typename Socket> class Transport {
public:
  using executor_type = Executor;
  explicit Transport(Socket socket) : socket_(std::move(socket)) {}
  ~Transport() {
    if (ssl_)
      SSL_free(ssl_);
  }
  Transport(const Transport &) = delete;
  Transport &operator=(const Transport &) = delete;

  // TLS over the socket from here on, as its server, in `ssl` (which this takes). The
  // handshake is handshake()'s.
  void acceptTls(SSL *ssl) {
    ssl_ = ssl;
    error_code ignored;
    socket_.non_blocking(true, ignored); // OpenSSL's reads and writes must not block
    SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
    SSL_set_accept_state(ssl_);
  }
  bool tls() const { return ssl_ != nullptr; }
  SSL *ssl() const { return ssl_; }
  Socket &lowest() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  auto native_handle() { return socket_.native_handle(); }
  void cancel(error_code &ec) { socket_.cancel(ec); }
  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers &buffers, Token &&token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers &buffers, Token &&token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }
  template <typename Token> auto async_wait(asio::socket_base::wait_type wait, Token &&token) {
    return socket_.async_wait(wait, std::forward<Token>(token));
  }
  // No more writes: TLS's close_notify first, if the handshake was done (not waited on:
  // the close follows).
  void shutdownSend() {
    if (ssl_ && SSL_is_init_finished(ssl_)) {
      SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  }
  void close(error_code &ec) { socket_.close(ec); }

private:
  Socket socket_;
  SSL *ssl_ = nullptr;
};

namespace detail {

// Waits for what OpenSSL asked (SSL_ERROR_WANT_READ or _WANT_WRITE) on the socket.
template <typename Socket>
awaitable<IoStatus> waitForTls(Transport<Socket> &transport, int want, Watchdog &dog,
                               Duration timeout) {
  dog.arm(transport.lowest(), timeout);
  auto [ec] = co_await transport.lowest().async_wait(
      want == SSL_ERROR_WANT_WRITE ? asio::socket_base::wait_write : asio::socket_base::wait_read,
      asio::as_tuple(use_awaitable));
  dog.disarm();
  if (!ec)
    co_return IoStatus::Ok;
  co_return dog.fired() ? IoStatus::TimedOut : IoStatus::Failed;
}

// What an OpenSSL call's failure means for the connection; Ok when it only has to wait.
inline IoStatus tlsFailure(SSL *ssl, int result, int &want) {
  want = SSL_get_error(ssl, result);
  if (want == SSL_ERROR_WANT_READ || want == SSL_ERROR_WANT_WRITE)
    return IoStatus::Ok;
  bool closed = want == SSL_ERROR_ZERO_RETURN || (want == SSL_ERROR_SYSCALL && !ERR_peek_error());
  ERR_clear_error();
  return closed ? IoStatus::Closed : IoStatus::Failed;
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
      co_return IoStatus::Ok;
    int want = 0;
    IoStatus status = detail::tlsFailure(transport.ssl(), result, want);
    if (status != IoStatus::Ok)
      co_return status;
    auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    if (left <= Duration(0))
      co_return IoStatus::TimedOut;
    status = co_await detail::waitForTls(transport, want, dog, left);
    if (status != IoStatus::Ok)
      co_return status;
  }
}

template <typename Socket>
awaitable<IoStatus> waitReadable(Transport<Socket> &transport, Watchdog &dog, Duration timeout) {
  if (!transport.tls())
    co_return co_await waitReadable(transport.lowest(), dog, timeout);
  if (SSL_has_pending(transport.ssl()))
    co_return IoStatus::Ok;
  co_return co_await detail::waitForTls(transport, SSL_ERROR_WANT_READ, dog, timeout);
}

template <typename Socket>
awaitable<IoStatus> readSome(Transport<Socket> &transport, InputBuffer &in, Watchdog &dog,
                             Duration timeout) {
  if (!transport.tls())
    co_return co_await readSome(transport.lowest(), in, dog, timeout);
  auto space = in.space();
  if (space.size() == 0)
    co_return IoStatus::Failed; // the caller let the buffer fill without parsing it
  for (;;) {
    ERR_clear_error();
    size_t n = 0;
    int result = SSL_read_ex(transport.ssl(), space.data(), space.size(), &n);
    if (result == 1) {
      in.commit(n);
      co_return IoStatus::Ok;
    }
    int want = 0;
    IoStatus status = detail::tlsFailure(transport.ssl(), result, want);
    if (status == IoStatus::Ok)
      status = co_await detail::waitForTls(transport, want, dog, timeout);
    if (status != IoStatus::Ok) {
      in.commit(0); // gives the buffer back if nothing is in it
      co_return status;
    }
  }
}

template <typename Socket, typename ConstBuffers>
  requires asio::is_const_buffer_sequence<ConstBuffers>::value
awaitable<IoStatus> writeAll(Transport<Socket> &transport, ConstBuffers buffers, Watchdog &dog,
                             Duration timeout) {
  if (!transport.tls())
    co_return co_await writeAll(transport.lowest(), buffers, dog, timeout);
  // Pieces that fit one TLS record go out as one: a record and a system call each would
  // cost both ends more than the copy.
  constexpr size_t kRecord = 16 * 1024;
  std::string joined;
  size_t total = asio::buffer_size(buffers);
  if (total <= kRecord &&
      asio::buffer_sequence_end(buffers) - asio::buffer_sequence_begin(buffers) > 1) {
    joined.resize(total);
    asio::buffer_copy(asio::buffer(joined), buffers);
  }
  auto write = [&](asio::const_buffer piece) -> awaitable<IoStatus> {
    const char *at = static_cast<const char *>(piece.data());
    size_t left = piece.size();
    while (left > 0) {
      ERR_clear_error();
      size_t n = 0;
      int result = SSL_write_ex(transport.ssl(), at, left, &n);
      if (result == 1) {
        at += n;
        left -= n;
        continue;
      }
      int want = 0;
      IoStatus status = detail::tlsFailure(transport.ssl(), result, want);
      if (status == IoStatus::Ok)
        status = co_await detail::waitForTls(transport, want, dog, timeout);
      if (status != IoStatus::Ok)
        co_return status == IoStatus::Closed ? IoStatus::Failed : status;
    }
    co_return IoStatus::Ok;
  };
  if (!joined.empty())
    co_return co_await write(asio::buffer(joined));
  for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
       ++it)
    if (IoStatus status = co_await write(asio::const_buffer(*it)); status != IoStatus::Ok)
      co_return status;
  co_return IoStatus::Ok;
}

template <typename Socket>
awaitable<IoStatus> writeAll(Transport<Socket> &transport, std::string_view bytes, Watchdog &dog,
                             Duration timeout) {
  return writeAll(transport, asio::const_buffer(bytes.data(), bytes.size()), dog, timeout);
}

} // namespace turnout
