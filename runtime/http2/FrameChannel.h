// What both sides of HTTP/2 (DownstreamConnection, UpstreamConnection) share of the
// wire: nghttp2's options, and a duplex channel that writes nghttp2's frames in batches
// while it reads.
#pragma once

#include "io/DuplexChannel.h"

#include <nghttp2/nghttp2.h>

#include <string>

namespace turnout::http2 {

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

// An HTTP/2 connection's channel: what nghttp2 has to send leaves in batches.
template <typename Socket> class FrameChannel : public DuplexChannel<Socket> {
public:
  using DuplexChannel<Socket>::DuplexChannel;

  // The writer's buffers go while the connection is idle.
  void idle() {
    std::string().swap(out_);
    DuplexChannel<Socket>::idle();
  }

  enum class Flush { Wrote, Nothing, Failed };
  // Writes a batch of what `session` has to send: Nothing when it has nothing.
  awaitable<Flush> flush(nghttp2_session *session, Duration timeout) {
    out_.clear();
    if (!takeFrames(session, out_))
      co_return Flush::Failed;
    if (out_.empty() && !this->sealedPending())
      co_return Flush::Nothing;
    IoStatus status = co_await this->write(out_, timeout);
    if (out_.capacity() > 4 * kWriteBatch)
      std::string().swap(out_);
    co_return status == IoStatus::Ok ? Flush::Wrote : Flush::Failed;
  }

private:
  std::string out_; // frames on their way out
};

} // namespace turnout::http2
