#include "io/Ring.h"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <liburing.h>

#include <poll.h>

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
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
                 IORING_SETUP_SUBMIT_ALL;
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

Ring::Ring(asio::io_context &context, std::unique_ptr<State> state) : context_(context), state_(std::move(state)) {}

Ring::~Ring() {
  if (current_ == this)
    current_ = nullptr;
  state_->descriptor.release(); // the ring's descriptor is the ring's to close
  io_uring_queue_exit(&state_->ring); // the kernel cancels what is in flight
  // Handlers still waiting belong to coroutines the event loop will never resume.
  for (auto &op : ops_)
    if (op->inFlight)
      op->finish(op.get(), *this, false, {}, 0);
}

Ring::Op *Ring::take() {
  if (!free_) {
    ops_.push_back(std::make_unique<Op>());
    return ops_.back().get();
  }
  return std::exchange(free_, free_->nextFree);
}

void Ring::give(Op *op) {
  op->inFlight = false;
  op->nextFree = free_;
  free_ = op;
}

io_uring_sqe *Ring::entryFor(Op *op) {
  io_uring_sqe *sqe = state_->entry();
  if (!sqe)
    fail(op);
  return sqe;
}

void Ring::queued(Op *op, io_uring_sqe *sqe) {
  io_uring_sqe_set_data(sqe, op);
  op->inFlight = true;
  ++operations_;
  flushSoon();
}

void Ring::submitRead(Op *op, int fd) {
  op->kind = Kind::Read;
  if (io_uring_sqe *sqe = entryFor(op)) {
    io_uring_prep_recv(sqe, fd, op->iov[0].iov_base, op->iov[0].iov_len, 0);
    queued(op, sqe);
  }
}

void Ring::submitWrite(Op *op, int fd, size_t buffers) {
  op->kind = Kind::Write;
  io_uring_sqe *sqe = entryFor(op);
  if (!sqe)
    return;
  if (buffers == 1) {
    io_uring_prep_send(sqe, fd, op->iov[0].iov_base, op->iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    op->message = {};
    op->message.msg_iov = op->iov;
    op->message.msg_iovlen = buffers;
    io_uring_prep_sendmsg(sqe, fd, &op->message, MSG_NOSIGNAL);
  }
  queued(op, sqe);
}

// One-shot: a poll that stayed armed would complete again for bytes the reads that follow
// it take anyway.
void Ring::submitPoll(Op *op, int fd) {
  op->kind = Kind::Poll;
  if (io_uring_sqe *sqe = entryFor(op)) {
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    queued(op, sqe);
  }
}

void Ring::fail(Op *op) {
  op->inFlight = true;
  asio::post(context_, [this, op] { op->finish(op, *this, true, asio::error::no_buffer_space, 0); });
}

void Ring::cancel(int fd) {
  io_uring_sqe *sqe = state_->entry();
  if (!sqe)
    return;
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
  state_->descriptor.async_wait(asio::posix::descriptor_base::wait_read, [this](const error_code &ec) {
    if (ec)
      return; // the ring is going away
    reap();
    waitForCompletions();
  });
}

} // namespace turnout
