// Moving body bytes from one socket to another through a kernel pipe (splice(2)), as
// HAProxy does: the bytes never enter the process, so a large response holds no read
// buffer and is not copied in and out of user space.
#pragma once

#include "server/Io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

namespace turnout {

// A worker's empty pipes, reused: a new one costs a system call and two descriptors.
class PipePool {
public:
  struct Pipe {
    int read = -1, write = -1;
  };
  PipePool() = default;
  PipePool(const PipePool &) = delete;
  PipePool &operator=(const PipePool &) = delete;
  ~PipePool() {
    for (Pipe pipe : free_)
      close(pipe);
  }

  // None when the system refuses one (out of descriptors): the caller copies instead.
  std::optional<Pipe> take() {
    if (!free_.empty()) {
      Pipe pipe = free_.back();
      free_.pop_back();
      return pipe;
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
      return std::nullopt;
    return Pipe{fds[0], fds[1]};
  }
  // `empty`: nothing was left in it; a pipe holding bytes is closed, not reused.
  void give(Pipe pipe, bool empty) {
    if (empty && free_.size() < kKept)
      free_.push_back(pipe);
    else
      close(pipe);
  }

private:
  static void close(Pipe pipe) {
    ::close(pipe.read);
    ::close(pipe.write);
  }
  static constexpr size_t kKept = 64;
  std::vector<Pipe> free_;
};

enum class SpliceResult { Done, SourceClosed, SourceTimedOut, SourceFailed, SinkFailed };

// Moves `length` bytes from `from` to `to` through `pipe`, counting those delivered in
// `moved`. Each wait for the source is bounded by `readTimeout()` (called for each: a
// total timeout shrinks as the body goes), each for the sink by `writeTimeout`. On any
// result but Done the pipe may still hold bytes.
template <typename Source, typename Sink, typename ReadTimeout>
awaitable<SpliceResult> spliceBody(Source &from, Watchdog &fromDog, ReadTimeout readTimeout, Sink &to,
                                   Watchdog &toDog, Duration writeTimeout, PipePool::Pipe pipe, uint64_t length,
                                   uint64_t &moved) {
  error_code ec;
  from.non_blocking(true, ec); // splice(2) blocks on a socket in blocking mode
  to.non_blocking(true, ec);
  constexpr size_t kMaxMove = 1 << 20; // a pipe takes what it has room for
  uint64_t inPipe = 0;
  while (length > 0 || inPipe > 0) {
    if (length > 0) {
      ssize_t n = ::splice(from.native_handle(), nullptr, pipe.write, nullptr, std::min<uint64_t>(length, kMaxMove),
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        length -= static_cast<uint64_t>(n);
        inPipe += static_cast<uint64_t>(n);
      } else if (n == 0) {
        co_return SpliceResult::SourceClosed;
      } else if (errno != EAGAIN && errno != EINTR) {
        co_return SpliceResult::SourceFailed;
      } else if (inPipe == 0) { // nothing to read yet (a full pipe has bytes in it)
        IoStatus status = co_await waitUntil(from, asio::socket_base::wait_read, fromDog, readTimeout());
        if (status != IoStatus::Ok)
          co_return status == IoStatus::TimedOut ? SpliceResult::SourceTimedOut : SpliceResult::SourceFailed;
        continue;
      }
    }
    if (inPipe > 0) {
      ssize_t n = ::splice(pipe.read, nullptr, to.native_handle(), nullptr, inPipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        inPipe -= static_cast<uint64_t>(n);
        moved += static_cast<uint64_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (co_await waitUntil(to, asio::socket_base::wait_write, toDog, writeTimeout) != IoStatus::Ok)
          co_return SpliceResult::SinkFailed;
      } else {
        co_return SpliceResult::SinkFailed;
      }
    }
  }
  co_return SpliceResult::Done;
}

} // namespace turnout
