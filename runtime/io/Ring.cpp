#include "io/Ring.h"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <liburing.h>

#include <poll.h>

#include <algorithm>
#include <cstring>

namespace turnout {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

thread_local Ring *Ring::current_ = nullptr;

namespace {
// Submission queue entries: a turn of the event loop rarely queues more (a full queue is
// submitted early). The completion queue is twice as long, and the kernel keeps what does
// not fit (FEAT_NODROP). Small, because the rings are memory of the process.
constexpr unsigned kEntries = 256;
} // namespace

struct Ring::State {
  io_uring ring{};
  asio::posix::stream_descriptor descriptor; // the ring's own, watched by Asio's epoll
  explicit State(asio::io_context &context) : descriptor(context) {}

  // An entry to fill, submitting what is queued if the queue is full; null if even that
  // cannot make room.
  io_uring_sqe *entry() {
    io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe && io_uring_submit(&ring) >= 0)
      sqe = io_uring_get_sqe(&ring);
    return sqe;
  }
};

std::unique_ptr<Ring> Ring::open(asio::io_context &context, std::string &why) {
  auto state = std::make_unique<State>(context);
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                 IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL;
  if (int rc = io_uring_queue_init_params(kEntries, &state->ring, &params); rc < 0) {
    why = rc == -EINVAL ? "the kernel's io_uring predates Linux 6.0" : std::strerror(-rc);
    return nullptr;
  }
  // Without fast poll (Linux 5.7) a read that has to wait would hold a kernel thread.
  if (!(params.features & IORING_FEAT_FAST_POLL) || !(params.features & IORING_FEAT_NODROP)) {
    io_uring_queue_exit(&state->ring);
    why = "the kernel's io_uring has no fast poll";
    return nullptr;
  }
  error_code ec;
  state->descriptor.assign(state->ring.ring_fd, ec);
  if (ec) {
    io_uring_queue_exit(&state->ring);
    why = ec.message();
    return nullptr;
  }
  std::unique_ptr<Ring> ring(new Ring(context, std::move(state)));
  ring->waitForCompletions();
  return ring;
}

Ring::Ring(asio::io_context &context, std::unique_ptr<State> state)
    : context_(context), state_(std::move(state)) {
}

Ring::~Ring() {
  if (current_ == this)
    current_ = nullptr;
  state_->descriptor.release();       // the ring's descriptor is the ring's to close
  io_uring_queue_exit(&state_->ring); // the kernel cancels what is in flight
  // Handlers still waiting belong to coroutines the event loop will never resume.
  for (auto &slab : ops_)
    for (size_t i = 0; i < kOpsPerSlab; ++i)
      if (slab[i].inFlight)
        slab[i].finish(&slab[i], *this, false, {}, 0);
}

Ring::Op *Ring::take() {
  if (!free_) {
    // Ops come in slabs, apart from the connections' memory: one op outlives the connection
    // that used it (it stays here, free), and one in every connection's stretch of the heap
    // would keep the pages of a burst's freed connections from going back.
    ops_.push_back(std::make_unique<Op[]>(kOpsPerSlab));
    Op *slab = ops_.back().get();
    for (size_t i = kOpsPerSlab - 1; i > 0; --i)
      give(&slab[i]);
    return &slab[0];
  }
  return std::exchange(free_, free_->nextFree);
}

void Ring::give(Op *op) {
  op->inFlight = false;
  op->nextFree = free_;
  free_ = op;
}

void Ring::queued(Op *op, io_uring_sqe *sqe) {
  io_uring_sqe_set_data(sqe, op);
  op->inFlight = true;
  ++operations_;
  flushSoon();
}

void Ring::submitRead(Op *op, int fd) {
  op->kind = Kind::Read;
  submit(op, fd, 1);
}

void Ring::submitWrite(Op *op, int fd, size_t buffers) {
  op->kind = Kind::Write;
  submit(op, fd, buffers);
}

// One-shot: a poll that stayed armed would complete again for bytes the reads that follow
// it take anyway.
void Ring::submitPoll(Op *op, int fd) {
  op->kind = Kind::Poll;
  submit(op, fd, 0);
}

void Ring::submit(Op *op, int fd, size_t buffers) {
  op->fd = fd;
  op->buffers = buffers;
  io_uring_sqe *sqe =
      deferred_.empty() ? state_->entry() : nullptr; // in order behind those waiting
  if (!sqe) {
    // No room even after a submission (the kernel refuses more while completions wait to
    // be reaped): the operation waits for the next flush, which reaps first. Never a
    // failure that epoll would not have had.
    op->inFlight = true;
    deferred_.push_back(op);
    flushSoon();
    return;
  }
  prepare(op, sqe);
}

void Ring::prepare(Op *op, io_uring_sqe *sqe) {
  switch (op->kind) {
  case Kind::Read:
    io_uring_prep_recv(sqe, op->fd, op->iov[0].iov_base, op->iov[0].iov_len, 0);
    break;
  case Kind::Write:
    if (op->buffers == 1) {
      io_uring_prep_send(sqe, op->fd, op->iov[0].iov_base, op->iov[0].iov_len, MSG_NOSIGNAL);
    } else {
      op->message = {};
      op->message.msg_iov = op->iov;
      op->message.msg_iovlen = op->buffers;
      io_uring_prep_sendmsg(sqe, op->fd, &op->message, MSG_NOSIGNAL);
    }
    break;
  case Kind::Poll:
    io_uring_prep_poll_add(sqe, op->fd, POLLIN);
    break;
  }
  queued(op, sqe);
}

void Ring::submitDeferred() {
  size_t taken = 0;
  for (; taken < deferred_.size(); ++taken) {
    io_uring_sqe *sqe = state_->entry();
    if (!sqe)
      break;
    prepare(deferred_[taken], sqe);
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<std::ptrdiff_t>(taken));
}

void Ring::cancel(int fd) {
  // Deferred operations on `fd` are not in the kernel yet: they end here.
  std::erase_if(deferred_, [&](Op *op) {
    if (op->fd != fd)
      return false;
    asio::post(context_,
               [this, op] { op->finish(op, *this, true, asio::error::operation_aborted, 0); });
    return true;
  });
  io_uring_sqe *sqe = state_->entry();
  if (!sqe) {
    // No room for the cancellation: what is in flight on `fd` ends all the same (reads see
    // the end of the stream, writes an error), so that a timeout or a drain takes effect.
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data(sqe, nullptr);
  // Now, not at the next flush: the caller may close the descriptor, whose number the
  // cancellation names, as soon as this returns.
  io_uring_submit(&state_->ring);
  flushSoon(); // to deliver the cancelled operations' completions
}

void Ring::callOff(WatchHandle handle) {
  // SQEs go to the kernel in order: an operation that reuses this Op after its completion
  // was reaped is queued behind this cancellation, which cannot reach it.
  auto deferred = std::find(deferred_.begin(), deferred_.end(), handle);
  if (deferred != deferred_.end()) { // not in the kernel yet: it ends here
    Op *op = *deferred;
    deferred_.erase(deferred);
    asio::post(context_,
               [this, op] { op->finish(op, *this, true, asio::error::operation_aborted, 0); });
    return;
  }
  // Without room the watch stays until its socket has news: its handler then finds it
  // taken, and the socket's file lingers until then.
  io_uring_sqe *sqe = state_->entry();
  if (!sqe)
    return;
  io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(handle), 0);
  io_uring_sqe_set_data(sqe, nullptr);
  flushSoon();
}

// Submits in one system call what the handlers that ran since the last flush queued: the
// batching that makes the ring cheaper than a call per read and write. Completions that
// came with it (bytes that were there already, writes with room) run at once; the reads
// and writes their coroutines queue next wait for the next flush, behind the handlers
// already queued.
void Ring::flushSoon() {
  if (flushPosted_)
    return;
  flushPosted_ = true;
  asio::post(context_, [this] {
    flushPosted_ = false;
    io_uring_submit(&state_->ring);
    reap();
    if (!deferred_.empty()) { // room was made by the reaping
      submitDeferred();
      flushSoon();
    }
    // What the kernel did not take (EBUSY: its completion queue was full, and the reaping
    // just made room) goes with the next flush.
    if (io_uring_sq_ready(&state_->ring) > 0)
      flushSoon();
  });
}

void Ring::reap() {
  io_uring_cqe *cqe;
  // Peeking an empty queue enters the kernel only when it has completions to deliver.
  while (io_uring_peek_cqe(&state_->ring, &cqe) == 0) {
    Op *op = static_cast<Op *>(io_uring_cqe_get_data(cqe));
    int result = cqe->res;
    io_uring_cqe_seen(&state_->ring, cqe); // first: the handler may queue more
    if (!op)
      continue; // a cancellation's own completion
    error_code ec;
    size_t bytes = 0;
    if (result > 0)
      bytes = static_cast<size_t>(result);
    else if (result == 0 && op->kind == Kind::Read)
      ec = asio::error::eof;
    else if (result < 0)
      ec = error_code(-result, boost::system::system_category());
    op->finish(op, *this, true, ec, bytes);
  }
}

void Ring::waitForCompletions() {
  state_->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                [this](const error_code &ec) {
                                  if (ec)
                                    return; // the ring is going away
                                  reap();
                                  waitForCompletions();
                                });
}

} // namespace turnout
