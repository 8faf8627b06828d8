// An HTTP/2 connection's bytes, plain or TLS, read by one coroutine while another writes:
// HTTP/2 multiplexes, so a connection reads frames while its writer waits on a slow
// client, which io/Transport's one-operation-at-a-time reads and writes do not allow. TLS
// records are decrypted by the reader and the output OpenSSL makes is written by the
// writer alone: only the writer writes to the socket. Both sides of the proxy use it
// (DownstreamConnection, UpstreamConnection).
#pragma once

#include "io/Transport.h"

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>

#include <string>

namespace turnout::http2 {

// A read with nothing to time out: a connection's idleness is judged stream by stream.
inline constexpr Duration kNoTimeout = std::chrono::hours(24 * 365);
// Frames gathered for one write: many small ones leave in one system call (and TLS record).
inline constexpr size_t kWriteBatch = 64 * 1024;

// nghttp2's options for either side: windows that open only as the application consumes
// (flow control that follows the other side), and the flood limits (CONTINUATION frames
// for one header block, acknowledgements queued unsent, entries of one SETTINGS frame).
class SessionOptions {
public:
  SessionOptions() {
    nghttp2_option_new(&option_);
    nghttp2_option_set_no_auto_window_update(option_, 1);
    nghttp2_option_set_max_continuations(option_, 8);
    nghttp2_option_set_max_outbound_ack(option_, 1000);
    nghttp2_option_set_max_settings(option_, 32);
  }
  ~SessionOptions() { nghttp2_option_del(option_); }
  SessionOptions(const SessionOptions &) = delete;
  SessionOptions &operator=(const SessionOptions &) = delete;
  nghttp2_option *get() const { return option_; }

private:
  nghttp2_option *option_;
};

// Appends what `session` has to send to `out`, up to about kWriteBatch; false when nghttp2
// fails (out of memory, or a callback failed).
inline bool takeFrames(nghttp2_session *session, std::string &out) {
  while (out.size() < kWriteBatch) {
    const uint8_t *data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n < 0)
      return false;
    if (n == 0)
      return true;
    out.append(reinterpret_cast<const char *>(data), static_cast<size_t>(n));
  }
  return true;
}

template <typename Socket> class FrameChannel {
public:
  FrameChannel(Transport<Socket> &transport, const Executor &executor)
      : transport_(transport), readDog_(executor), writeDog_(executor) {}

  // Plaintext into `in`. An `idle` connection (no stream open) waits for its peer holding
  // no read buffer: thousands of idle connections must not hold one each.
  awaitable<IoStatus> read(InputBuffer &in, bool idle) {
    if (idle && !transport_.buffered()) {
      if (IoStatus status = co_await waitReadable(transport_.lowest(), readDog_, kNoTimeout);
          status != IoStatus::Ok)
        co_return status;
    }
    if (!transport_.tls())
      co_return co_await readSome(transport_.lowest(), in, readDog_, kNoTimeout);
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
              co_await readSome(transport_.lowest(), channel.input(), readDog_, kNoTimeout);
          status != IoStatus::Ok)
        co_return status;
    }
  }

  // The writer's buffers go while the connection is idle.
  void idle() {
    std::string().swap(out_);
    std::string().swap(sealed_);
    if (transport_.tls() && transport_.channel().output().empty())
      transport_.channel().idle();
  }

  // Whether TLS made output (a key update's answer, as the reader decrypted) that is not
  // written yet.
  bool sealedPending() { return transport_.tls() && !transport_.channel().output().empty(); }

  enum class Flush { Wrote, Nothing, Failed };
  // Writes a batch of what `session` has to send: Nothing when it has nothing.
  awaitable<Flush> flush(nghttp2_session *session, Duration timeout) {
    out_.clear();
    if (!takeFrames(session, out_))
      co_return Flush::Failed;
    if (out_.empty() && !sealedPending())
      co_return Flush::Nothing;
    IoStatus status = co_await write(out_, timeout);
    if (out_.capacity() > 4 * kWriteBatch)
      std::string().swap(out_);
    co_return status == IoStatus::Ok ? Flush::Wrote : Flush::Failed;
  }

private:
  // Writes `bytes` (and over TLS, what OpenSSL made before them).
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
      if (sealed_.capacity() > 4 * kWriteBatch)
        std::string().swap(sealed_);
      if (status != IoStatus::Ok)
        co_return status;
      if (result == 1 && channel.output().empty())
        co_return IoStatus::Ok;
    }
  }

  Transport<Socket> &transport_;
  Watchdog readDog_, writeDog_;
  std::string out_;    // frames on their way out
  std::string sealed_; // TLS records on their way out
};

} // namespace turnout::http2
