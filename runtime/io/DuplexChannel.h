// A connection's bytes, plain or TLS, read by one coroutine while another writes: an
// HTTP/2 connection reads frames while its writer waits on a slow peer, a tunnel carries
// bytes both ways at once, which io/Transport's one-operation-at-a-time reads and writes
// do not allow. TLS records are decrypted by the reader and the output OpenSSL makes is
// written by the writer alone: only the writer writes to the socket.
#pragma once

#include "io/Transport.h"

#include <openssl/err.h>

#include <string>

namespace turnout {

// A wait with nothing to time out: idleness is judged elsewhere (stream by stream, by a
// tunnel's other side).
inline constexpr Duration kNoTimeout = std::chrono::hours(24 * 365);

template <typename Socket> class DuplexChannel {
public:
  DuplexChannel(Transport<Socket> &transport, const Executor &executor)
      : transport_(transport), readDog_(executor), writeDog_(executor) {}

  // Plaintext into `in`, within `timeout`. An `idle` connection waits for its peer
  // holding no read buffer: thousands of idle connections must not hold one each.
  awaitable<IoStatus> read(InputBuffer &in, bool idle, Duration timeout = kNoTimeout) {
    if (idle && !transport_.buffered()) {
      if (IoStatus status = co_await waitReadable(transport_.lowest(), readDog_, timeout);
          status != IoStatus::Ok)
        co_return status;
    }
    if (!transport_.tls())
      co_return co_await readSome(transport_.lowest(), in, readDog_, timeout);
    TlsChannel &channel = transport_.channel();
    for (;;) {
      if (channel.pending()) {
        auto space = in.space();
        ERR_clear_error();
        size_t n = 0;
        int result = SSL_read_ex(transport_.ssl(), space.data(), space.size(), &n);
        in.commit(result == 1 ? n : 0);
        if (result == 1)
          co_return IoStatus::Ok;
        int want = SSL_get_error(transport_.ssl(), result);
        ERR_clear_error();
        if (want == SSL_ERROR_ZERO_RETURN)
          co_return IoStatus::Closed;
        if (want != SSL_ERROR_WANT_READ)
          co_return IoStatus::Failed;
      }
      if (IoStatus status =
              co_await readSome(transport_.lowest(), channel.input(), readDog_, timeout);
          status != IoStatus::Ok)
        co_return status;
    }
  }

  // Writes `bytes` (and over TLS, what OpenSSL made before them), within `timeout`.
  awaitable<IoStatus> write(std::string_view bytes, Duration timeout) {
    if (!transport_.tls())
      co_return co_await writeAll(transport_.lowest(), bytes, writeDog_, timeout);
    TlsChannel &channel = transport_.channel();
    for (;;) {
      int result = detail::encrypt(transport_.ssl(), bytes);
      if (result != 1 && SSL_get_error(transport_.ssl(), result) != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        co_return IoStatus::Failed;
      }
      // The records leave from a buffer of the writer's: the reader's decryption may add to
      // the channel's output meanwhile.
      sealed_.swap(channel.output());
      IoStatus status =
          co_await writeAll(transport_.lowest(), std::string_view(sealed_), writeDog_, timeout);
      sealed_.clear();
      if (sealed_.capacity() > kKeptSealedBytes)
        std::string().swap(sealed_);
      if (status != IoStatus::Ok)
        co_return status;
      if (result == 1 && channel.output().empty())
        co_return IoStatus::Ok;
    }
  }

  // The writer's buffers go while the connection is idle.
  void idle() {
    std::string().swap(sealed_);
    if (transport_.tls() && transport_.channel().output().empty())
      transport_.channel().idle();
  }

  // Whether TLS made output (a key update's answer, as the reader decrypted) that is not
  // written yet.
  bool sealedPending() { return transport_.tls() && !transport_.channel().output().empty(); }

private:
  static constexpr size_t kKeptSealedBytes = 256 * 1024;

  Transport<Socket> &transport_;
  Watchdog readDog_, writeDog_;
  std::string sealed_; // TLS records on their way out
};

} // namespace turnout
