// Asio plumbing the connection code shares: a read buffer, and reads and writes that give
// up after a timeout, through the worker's ring (Ring.h) where it has one. Included only by
// the server's and upstreams' own translation units: Asio is slow to compile.
#pragma once

#include "config/ServerConfig.h"
#include "io/BufferPool.h"
#include "io/Ring.h"

#include <boost/asio.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace turnout {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
// One executor type for every socket, timer and coroutine: each runs on an io_context (a
// worker's, or the control thread's), and the concrete type spares every completion the
// type-erased dispatch of asio::any_io_executor.
using Executor = asio::io_context::executor_type;
template <typename T> using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using TcpSocket = asio::basic_stream_socket<tcp, Executor>;
using TcpAcceptor = asio::basic_socket_acceptor<tcp, Executor>;
using UnixSocket = asio::basic_stream_socket<asio::local::stream_protocol, Executor>;
using UnixAcceptor = asio::basic_socket_acceptor<asio::local::stream_protocol, Executor>;

// Bytes read from a socket and not yet parsed, in a buffer of the pool while there are any.
class InputBuffer {
public:
  explicit InputBuffer(BufferPool &pool) : pool_(pool) {}
  ~InputBuffer() { clear(); }
  InputBuffer(const InputBuffer &) = delete;
  InputBuffer &operator=(const InputBuffer &) = delete;

  const char *data() const { return data_ + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_)
      clear();
  }
  // Room to read into, after moving unparsed bytes to the front if that makes room.
  asio::mutable_buffer space() {
    if (!data_)
      data_ = pool_.take();
    size_t capacity = pool_.bufferSize();
    if (end_ == capacity && begin_ > 0) {
      std::memmove(data_, data_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return asio::buffer(data_ + end_, capacity - end_);
  }
  void commit(size_t n) {
    end_ += n;
    if (empty())
      clear();
  }
  void clear() {
    begin_ = end_ = 0;
    if (data_)
      pool_.give(std::exchange(data_, nullptr));
  }

private:
  BufferPool &pool_;
  char *data_ = nullptr; // the pool's
  size_t begin_ = 0, end_ = 0;
};

enum class IoStatus { Ok, Closed, TimedOut, Failed };

// The descriptor the worker's ring may read and write directly: a plain socket's; -1 for
// a stream with TLS over its socket (upstream::Stream), whose bytes are not the socket's.
template <typename Socket> int plainDescriptor(Socket &socket) {
  if constexpr (requires { socket.tls(); })
    return socket.tls() ? -1 : socket.lowest().native_handle();
  else
    return socket.native_handle();
}

// The ring that does `socket`'s reads and writes, or null for Asio's reactor.
template <typename Socket> Ring *ringFor(Socket &socket, int &fd) {
  Ring *ring = Ring::current();
  fd = ring ? plainDescriptor(socket) : -1;
  return fd >= 0 ? ring : nullptr;
}

// What waits to be read on a socket, looked at without reading it (one system call): nothing
// yet, bytes, or the peer's close (or an error).
enum class Pending { Nothing, Bytes, Closed };
inline Pending pending(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0)
    return Pending::Bytes;
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? Pending::Nothing : Pending::Closed;
}

// Ends every read, write and wait in flight on `socket` with operation_aborted.
template <typename Socket> void cancelIo(Socket &socket) {
  error_code ignored;
  socket.cancel(ignored);
  int fd;
  if (Ring *ring = ringFor(socket, fd))
    ring->cancel(fd);
}

// A plain socket as Asio's composed writes see a stream, its writes going through a ring.
class RingWriter {
public:
  using executor_type = Executor;
  RingWriter(Ring &ring, int fd, const Executor &executor)
      : ring_(ring), fd_(fd), executor_(executor) {}
  executor_type get_executor() const { return executor_; }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers &buffers, Token &&token) {
    return ring_.asyncWriteSome(fd_, buffers, std::forward<Token>(token));
  }

private:
  Ring &ring_;
  int fd_;
  Executor executor_;
};

// Cancels a socket's operations when a deadline passes: the one timeout mechanism of
// every read and write. Arming only records the deadline; the timer is set again when it
// fires early or when a nearer deadline comes, so a request's dozen reads and writes cost
// no timer operations, where a timer per operation cost a queue insert, a cancel and a
// cancelled handler each.
//
// The timer's state lives apart, held by the watchdog alone: a handler whose timer expired
// may already be queued when the watchdog's owner (a connection) ends, and it must find
// nothing to act on rather than freed memory.
class Watchdog {
public:
  using Clock = std::chrono::steady_clock;
  explicit Watchdog(const Executor &executor) : state_(std::make_shared<State>(executor)) {}
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

  template <typename Socket> void arm(Socket &socket, Duration timeout) {
    State &s = *state_;
    s.fired = false;
    s.armed = true;
    s.deadline = Clock::now() + timeout;
    s.target = &socket;
    s.cancel = [](void *target) { cancelIo(*static_cast<Socket *>(target)); };
    if (!s.waiting || s.deadline < s.waitingUntil)
      wait(state_);
  }
  void disarm() { state_->armed = false; }
  bool fired() const { return state_->fired; }

private:
  struct State {
    explicit State(const Executor &executor) : timer(executor) {}
    Timer timer;
    Clock::time_point deadline{}, waitingUntil{};
    void *target = nullptr;
    void (*cancel)(void *) = nullptr;
    uint64_t generation = 0;
    bool armed = false, waiting = false, fired = false;
  };

  static void wait(const std::shared_ptr<State> &state) {
    State &s = *state;
    s.waiting = true;
    s.waitingUntil = s.deadline;
    s.timer.expires_at(s.deadline); // cancels a wait already set, whose handler then returns
    s.timer.async_wait(
        [weak = std::weak_ptr<State>(state), generation = ++s.generation](const error_code &ec) {
          std::shared_ptr<State> state = ec ? nullptr : weak.lock();
          if (!state || generation != state->generation)
            return; // cancelled, overtaken by a later wait, or the watchdog is gone
          State &s = *state;
          s.waiting = false;
          if (!s.armed)
            return; // nothing to watch; the next arm() sets the timer again
          if (Clock::now() < s.deadline) {
            wait(state); // the deadline moved on since
            return;
          }
          s.fired = true;
          s.armed = false;
          s.cancel(s.target);
        });
  }

  std::shared_ptr<State> state_;
};

// One coroutine's wake-up call, with a timeout: another part of the same worker calls
// notify(); a notice given before the wait is not lost.
class Signal {
public:
  explicit Signal(const Executor &executor) : timer_(executor) {}
  Executor executor() { return timer_.get_executor(); }
  void notify() {
    notified_ = true;
    if (waiting_)
      timer_.cancel();
  }
  // True when notified, false when `timeout` passed first.
  awaitable<bool> wait(Duration timeout) {
    if (!notified_) {
      waiting_ = true;
      timer_.expires_after(timeout);
      co_await timer_.async_wait(asio::as_tuple(use_awaitable));
      waiting_ = false;
    }
    co_return std::exchange(notified_, false);
  }

private:
  Timer timer_;
  bool notified_ = false, waiting_ = false;
};

// Waits until `socket` has something to read, holding no buffer meanwhile.
template <typename Socket>
awaitable<IoStatus> waitReadable(Socket &socket, Watchdog &dog, Duration timeout) {
  dog.arm(socket, timeout);
  int fd;
  Ring *ring = ringFor(socket, fd);
  auto [ec] = ring ? co_await ring->asyncWaitReadable(fd, asio::as_tuple(use_awaitable))
                   : co_await socket.async_wait(asio::socket_base::wait_read,
                                                asio::as_tuple(use_awaitable));
  dog.disarm();
  if (!ec)
    co_return IoStatus::Ok;
  co_return dog.fired() ? IoStatus::TimedOut : IoStatus::Failed;
}

template <typename Socket>
awaitable<IoStatus> readSome(Socket &socket, InputBuffer &in, Watchdog &dog, Duration timeout) {
  auto space = in.space();
  if (space.size() == 0)
    co_return IoStatus::Failed; // the caller let the buffer fill without parsing it
  dog.arm(socket, timeout);
  int fd;
  Ring *ring = ringFor(socket, fd);
  auto [ec, n] = ring ? co_await ring->asyncReadSome(fd, space, asio::as_tuple(use_awaitable))
                      : co_await socket.async_read_some(space, asio::as_tuple(use_awaitable));
  dog.disarm();
  if (n > 0) {
    in.commit(n);
    co_return IoStatus::Ok;
  }
  if (dog.fired())
    co_return IoStatus::TimedOut;
  co_return ec == asio::error::eof ? IoStatus::Closed : IoStatus::Failed;
}

// Writes every byte of `buffers` (a buffer sequence: a head and the body bytes after it
// leave in one system call without being copied together first).
template <typename Socket, typename ConstBuffers>
  requires asio::is_const_buffer_sequence<ConstBuffers>::value
awaitable<IoStatus> writeAll(Socket &socket, ConstBuffers buffers, Watchdog &dog,
                             Duration timeout) {
  if (asio::buffer_size(buffers) == 0)
    co_return IoStatus::Ok;
  dog.arm(socket, timeout);
  int fd;
  error_code ec;
  if (Ring *ring = ringFor(socket, fd)) {
    RingWriter writer(*ring, fd, socket.get_executor());
    std::tie(ec, std::ignore) =
        co_await asio::async_write(writer, buffers, asio::as_tuple(use_awaitable));
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket, buffers, asio::as_tuple(use_awaitable));
  }
  dog.disarm();
  if (!ec)
    co_return IoStatus::Ok;
  co_return dog.fired() ? IoStatus::TimedOut : IoStatus::Failed;
}

template <typename Socket>
awaitable<IoStatus> writeAll(Socket &socket, std::string_view bytes, Watchdog &dog,
                             Duration timeout) {
  return writeAll(socket, asio::const_buffer(bytes.data(), bytes.size()), dog, timeout);
}

// The two pieces as one buffer sequence, for writeAll.
inline std::array<asio::const_buffer, 2> gather(std::string_view first, std::string_view second) {
  return {asio::const_buffer(first.data(), first.size()),
          asio::const_buffer(second.data(), second.size())};
}

} // namespace turnout
