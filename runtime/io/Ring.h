// Socket reads and writes through io_uring, inside a worker's Asio event loop.
//
// Why: on this kind of machine a system call costs over a microsecond (a virtual machine's
// kernel entry), and a proxied request makes at least four (a read and a write on each
// side). A ring takes the reads and writes of a whole turn of the event loop in one
// io_uring_enter. Asio stays the event loop: the ring's descriptor waits in Asio's epoll
// like any socket, and its completions resume the coroutines that wait on them.
//
// The ring is opened with COOP_TASKRUN: completions that arrive while the worker runs
// wait for its next system call instead of interrupting it (without it, each one cost an
// inter-processor interrupt, and io_uring was slower than epoll).
//
// Plain sockets use it, and the downstream TLS connections' ciphertext (io/TlsChannel.h);
// upstream TLS streams and everything else stay on Asio's reactor.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

struct io_uring_sqe;

namespace turnout {

class Ring {
public:
  // A ring for the calling thread, which must be the only one that runs `context` (and
  // the only one to use the ring); nullptr, and why in `why`, when the kernel refuses
  // (io_uring missing, kernel.io_uring_disabled, a seccomp filter). Destroy it after
  // `context` stops running (a worker's thread ends so); what it leaves queued there only
  // drops the coroutines that waited on it.
  static std::unique_ptr<Ring> open(boost::asio::io_context &context, std::string &why);
  ~Ring();
  Ring(const Ring &) = delete;
  Ring &operator=(const Ring &) = delete;

  // The ring of the calling thread's worker while one is made current; null on other
  // threads (the control plane's) and where io_uring is off.
  static Ring *current() { return current_; }
  static void makeCurrent(Ring *ring) { current_ = ring; }

  // Completes with (error, bytes) like a socket's async_read_some: eof when the peer
  // closed, operation_aborted after cancel().
  template <typename Token>
  auto asyncReadSome(int fd, boost::asio::mutable_buffer buffer, Token &&token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, int fd, boost::asio::mutable_buffer buffer) {
          Op *op = hold(std::move(handler));
          op->iov[0] = {buffer.data(), buffer.size()};
          submitRead(op, fd);
        },
        token, fd, buffer);
  }
  // Completes with (error, bytes) like a socket's async_write_some: the first buffers of
  // the sequence (up to kMaxBuffers) leave in one sendmsg, which may take part of them.
  template <typename ConstBuffers, typename Token>
  auto asyncWriteSome(int fd, const ConstBuffers &buffers, Token &&token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, int fd, const ConstBuffers &buffers) {
          Op *op = hold(std::move(handler));
          size_t count = 0;
          for (auto it = boost::asio::buffer_sequence_begin(buffers);
               it != boost::asio::buffer_sequence_end(buffers) && count < kMaxBuffers; ++it) {
            boost::asio::const_buffer piece(*it);
            if (piece.size() > 0)
              op->iov[count++] = {const_cast<void *>(piece.data()), piece.size()};
          }
          submitWrite(op, fd, count);
        },
        token, fd, buffers);
  }
  // Completes with (error) when `fd` has something to read, or its peer closed, holding
  // no buffer meanwhile: a socket's async_wait(wait_read) without the epoll_ctl that
  // Asio's reactor makes for every such wait.
  template <typename Token> auto asyncWaitReadable(int fd, Token &&token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, int fd) {
          Op *op = hold([handler = std::move(handler)](boost::system::error_code ec,
                                                       size_t) mutable { std::move(handler)(ec); });
          submitPoll(op, fd);
        },
        token, fd);
  }
  // Calls `handler(error)` once `fd` has something to read or its peer closed, as
  // asyncWaitReadable does, and returns a handle for callOff: a watch kept on an idle
  // connection, called off when the connection is used again.
  using WatchHandle = const void *;
  template <typename Handler> WatchHandle watchReadable(int fd, Handler &&handler) {
    Op *op = hold([handler = std::move(handler)](boost::system::error_code ec, size_t) mutable {
      std::move(handler)(ec);
    });
    submitPoll(op, fd);
    return op;
  }
  // Ends the watch `handle`, with the next flush (no system call of its own): its handler
  // sees operation_aborted, unless it ran already. Call it at most once, and never after
  // that handler ran (the handle may name another operation by then). Names the watch, not
  // the descriptor, which may be closed before the flush: its file stays open until then.
  void callOff(WatchHandle handle);

  // Ends every read, write and wait in flight on `fd` with operation_aborted, before the
  // call returns: the descriptor may be closed right after.
  void cancel(int fd);
  // Reads, writes and waits submitted so far.
  uint64_t operations() const { return operations_; }

private:
  static constexpr size_t kMaxBuffers = 4;
  static constexpr size_t kHandlerBytes = 160;

  enum class Kind : uint8_t { Read, Write, Poll };

  // One read, write or wait in flight: its buffers, and the handler that waits for it.
  struct Op {
    // Runs the handler with the result (true), or destroys it unrun (false: shutdown).
    void (*finish)(Op *op, Ring &ring, bool run, boost::system::error_code ec,
                   size_t bytes) = nullptr;
    Op *nextFree = nullptr;
    Kind kind = Kind::Read;
    bool inFlight = false;
    int fd = -1;
    size_t buffers = 0; // a write's iov entries
    ::iovec iov[kMaxBuffers] = {};
    ::msghdr message = {};
    alignas(std::max_align_t) unsigned char handler[kHandlerBytes];
  };

  template <typename Handler> Op *hold(Handler &&handler) {
    using H = std::decay_t<Handler>;
    static_assert(sizeof(H) <= kHandlerBytes && alignof(H) <= alignof(std::max_align_t),
                  "a completion handler too large for Ring::Op: raise kHandlerBytes");
    Op *op = take();
    new (op->handler) H(std::move(handler));
    op->finish = [](Op *op, Ring &ring, bool run, boost::system::error_code ec, size_t bytes) {
      H *held = std::launder(reinterpret_cast<H *>(op->handler));
      H handler(std::move(*held));
      held->~H();
      ring.give(op); // before the handler runs: the coroutine it resumes may read again
      if (run)
        std::move(handler)(ec, bytes);
    };
    return op;
  }

  struct State; // liburing's, in Ring.cpp
  explicit Ring(boost::asio::io_context &context, std::unique_ptr<State> state);
  Op *take();
  void give(Op *op);
  void submitRead(Op *op, int fd);
  void submitWrite(Op *op, int fd, size_t buffers);
  void submitPoll(Op *op, int fd);
  void submit(Op *op, int fd, size_t buffers); // or defers it while the ring has no room
  void prepare(Op *op, io_uring_sqe *sqe);
  void submitDeferred();
  void queued(Op *op, io_uring_sqe *sqe);
  void flushSoon();
  void reap();
  void waitForCompletions();

  boost::asio::io_context &context_;
  std::unique_ptr<State> state_;
  static constexpr size_t kOpsPerSlab = 256;
  std::vector<std::unique_ptr<Op[]>> ops_; // every op made; the free ones chained by nextFree
  Op *free_ = nullptr;
  std::vector<Op *> deferred_; // waiting for room in the ring, in submission order
  uint64_t operations_ = 0;
  bool flushPosted_ = false;
  static thread_local Ring *current_;
};

} // namespace turnout
