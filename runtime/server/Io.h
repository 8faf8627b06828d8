// Asio plumbing the connection code shares: a read buffer, and reads and writes that give
// up after a timeout. Included only by the server's own translation units: Asio is slow
// to compile.
#pragma once

#include "config/ServerConfig.h"

#include <boost/asio.hpp>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
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

// The read buffers of one worker thread, handed out last-in first-out: a connection holds
// one only while it has unparsed bytes, so thousands of idle keep-alive connections need
// none, and busy ones reuse the few buffers still in the cache (as HAProxy does). Their
// memory is not zeroed: every request would pay for that.
class BufferPool {
public:
  explicit BufferPool(size_t bufferSize) : size_(bufferSize) {}
  size_t bufferSize() const { return size_; }
  std::unique_ptr<char[]> take() {
    if (free_.empty())
      return std::unique_ptr<char[]>(new char[size_]);
    std::unique_ptr<char[]> buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  void give(std::unique_ptr<char[]> buffer) {
    if (free_.size() < kKeep)
      free_.push_back(std::move(buffer));
  }
  // Whether one more connection waiting for its next request may hold a buffer meanwhile.
  // As many may as buffers are kept warm: waiting never costs more memory than that.
  bool lendToWaiter() {
    if (waiters_ >= kKeep)
      return false;
    ++waiters_;
    return true;
  }
  void waiterDone() { --waiters_; }

private:
  static constexpr size_t kKeep = 64; // 4 MiB at the most, kept warm
  size_t size_;
  size_t waiters_ = 0;
  std::vector<std::unique_ptr<char[]>> free_;
};

// Bytes read from a socket and not yet parsed, in a buffer of the pool while there are any.
class InputBuffer {
public:
  explicit InputBuffer(BufferPool &pool) : pool_(pool) {}
  ~InputBuffer() { clear(); }
  InputBuffer(const InputBuffer &) = delete;
  InputBuffer &operator=(const InputBuffer &) = delete;

  const char *data() const { return data_.get() + begin_; }
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
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return asio::buffer(data_.get() + end_, capacity - end_);
  }
  void commit(size_t n) {
    end_ += n;
    if (empty())
      clear();
  }
  void clear() {
    begin_ = end_ = 0;
    if (data_)
      pool_.give(std::move(data_));
  }

private:
  BufferPool &pool_;
  std::unique_ptr<char[]> data_;
  size_t begin_ = 0, end_ = 0;
};

enum class IoStatus { Ok, Closed, TimedOut, Failed };

// Cancels a socket's operations when a deadline passes: the one timeout mechanism of
// every read and write. Arming only records the deadline; the timer is set again when it
// fires early or when a nearer deadline comes, so a request's dozen reads and writes cost
// no timer operations, where a timer per operation cost a queue insert, a cancel and a
// cancelled handler each.
class Watchdog {
public:
  using Clock = std::chrono::steady_clock;
  explicit Watchdog(const Executor &executor) : timer_(executor) {}

  template <typename Socket> void arm(Socket &socket, Duration timeout) {
    fired_ = false;
    armed_ = true;
    deadline_ = Clock::now() + timeout;
    target_ = &socket;
    cancel_ = [](void *target) {
      error_code ignored;
      static_cast<Socket *>(target)->cancel(ignored);
    };
    if (!waiting_ || deadline_ < waitingUntil_)
      wait();
  }
  void disarm() { armed_ = false; }
  bool fired() const { return fired_; }

private:
  void wait() {
    waiting_ = true;
    waitingUntil_ = deadline_;
    timer_.expires_at(deadline_); // cancels a wait already set, whose handler then returns
    timer_.async_wait([this, generation = ++generation_](const error_code &ec) {
      if (ec || generation != generation_)
        return;
      waiting_ = false;
      if (!armed_)
        return; // nothing to watch; the next arm() sets the timer again
      if (Clock::now() < deadline_) {
        wait(); // the deadline moved on since
        return;
      }
      fired_ = true;
      armed_ = false;
      cancel_(target_);
    });
  }

  Timer timer_;
  Clock::time_point deadline_{}, waitingUntil_{};
  void *target_ = nullptr;
  void (*cancel_)(void *) = nullptr;
  uint64_t generation_ = 0;
  bool armed_ = false, waiting_ = false, fired_ = false;
};

// Waits until `socket` has something to read, holding no buffer meanwhile.
template <typename Socket> awaitable<IoStatus> waitReadable(Socket &socket, Watchdog &dog, Duration timeout) {
  dog.arm(socket, timeout);
  auto [ec] = co_await socket.async_wait(asio::socket_base::wait_read, asio::as_tuple(use_awaitable));
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
  auto [ec, n] = co_await socket.async_read_some(space, asio::as_tuple(use_awaitable));
  dog.disarm();
  if (n > 0) {
    in.commit(n);
    co_return IoStatus::Ok;
  }
  if (dog.fired())
    co_return IoStatus::TimedOut;
  co_return ec == asio::error::eof ? IoStatus::Closed : IoStatus::Failed;
}

template <typename Socket>
awaitable<IoStatus> writeAll(Socket &socket, std::string_view bytes, Watchdog &dog, Duration timeout) {
  if (bytes.empty())
    co_return IoStatus::Ok;
  dog.arm(socket, timeout);
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()),
                                            asio::as_tuple(use_awaitable));
  dog.disarm();
  if (!ec)
    co_return IoStatus::Ok;
  co_return dog.fired() ? IoStatus::TimedOut : IoStatus::Failed;
}

} // namespace turnout
