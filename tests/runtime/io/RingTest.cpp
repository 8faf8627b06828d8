// The io_uring ring under the I/O functions the connections use (readSome, writeAll,
// cancelIo), over real socket pairs on one event loop.
#include "io/Io.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace turnout {
namespace {

using namespace std::chrono_literals;
using Local = asio::local::stream_protocol;
using LocalSocket = asio::basic_stream_socket<Local, Executor>;

class RingTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    ring_ = Ring::open(context_, why);
    if (!ring_)
      GTEST_SKIP() << "io_uring refused here: " << why;
    Ring::makeCurrent(ring_.get());
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    ours_.assign(Local(), fds[0]);
    peer_ = fds[1];
  }
  void TearDown() override {
    Ring::makeCurrent(nullptr);
    if (peer_ >= 0)
      ::close(peer_);
  }

  // Starts `body` as a coroutine on the loop, which sets `done` when it ends.
  template <typename Body> void start(Body body, bool &done) {
    asio::co_spawn(
        context_,
        [body, &done]() -> awaitable<void> {
          co_await body();
          done = true;
        },
        asio::detached);
  }
  // Runs `body` as a coroutine on the loop until it ends.
  template <typename Body> void run(Body body) {
    bool done = false;
    start(body, done);
    runUntil(done);
    ASSERT_TRUE(done) << "the coroutine did not finish";
  }
  // The ring's wait for completions is work that never ends: run_for would always wait
  // its whole time.
  void runUntil(const bool &done) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done && std::chrono::steady_clock::now() < deadline)
      context_.run_one_for(100ms);
  }

  std::string drainPeer(size_t size) {
    std::string got;
    char chunk[65536];
    while (got.size() < size) {
      ssize_t n = ::recv(peer_, chunk, sizeof chunk, 0);
      if (n > 0)
        got.append(chunk, static_cast<size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        break;
      else
        context_.run_for(1ms); // let the ring write more
    }
    return got;
  }

  asio::io_context context_{1};
  std::unique_ptr<Ring> ring_;
  LocalSocket ours_{context_.get_executor()};
  int peer_ = -1;
  BufferPool buffers_{4096};
  Watchdog dog_{context_.get_executor()};
};

TEST_F(RingTest, ReadsWhatThePeerSends) {
  ASSERT_EQ(::send(peer_, "hello", 5, 0), 5);
  InputBuffer in(buffers_);
  IoStatus status = IoStatus::Failed;
  run([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 1s); });
  EXPECT_EQ(status, IoStatus::Ok);
  EXPECT_EQ(std::string(in.data(), in.size()), "hello");
  EXPECT_EQ(ring_->operations(), 1u) << "the read went through the ring";
}

TEST_F(RingTest, AReadWaitsForBytesThatComeLater) {
  InputBuffer in(buffers_);
  IoStatus status = IoStatus::Failed;
  Timer later(context_.get_executor());
  later.expires_after(50ms);
  later.async_wait([&](const error_code &) { ASSERT_EQ(::send(peer_, "late", 4, 0), 4); });
  run([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 2s); });
  EXPECT_EQ(status, IoStatus::Ok);
  EXPECT_EQ(std::string(in.data(), in.size()), "late");
}

TEST_F(RingTest, AReadEndsWhenThePeerCloses) {
  ::close(std::exchange(peer_, -1));
  InputBuffer in(buffers_);
  IoStatus status = IoStatus::Ok;
  run([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 1s); });
  EXPECT_EQ(status, IoStatus::Closed);
}

TEST_F(RingTest, AReadTimesOutThroughTheWatchdog) {
  InputBuffer in(buffers_);
  IoStatus status = IoStatus::Ok;
  auto started = std::chrono::steady_clock::now();
  run([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 100ms); });
  EXPECT_EQ(status, IoStatus::TimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
  // The cancelled read took nothing: what comes next is read whole.
  ASSERT_EQ(::send(peer_, "next", 4, 0), 4);
  run([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 1s); });
  EXPECT_EQ(status, IoStatus::Ok);
  EXPECT_EQ(std::string(in.data(), in.size()), "next");
}

TEST_F(RingTest, CancelEndsAReadBeforeItReturns) {
  InputBuffer in(buffers_);
  IoStatus status = IoStatus::Ok;
  bool done = false;
  start([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 10s); }, done);
  context_.run_for(20ms);
  ASSERT_FALSE(done);
  cancelIo(ours_);
  // The descriptor may close at once: the read no longer holds the socket.
  ours_.close();
  runUntil(done);
  EXPECT_TRUE(done);
  EXPECT_EQ(status, IoStatus::Failed);
  char byte;
  EXPECT_EQ(::recv(peer_, &byte, 1, 0), 0) << "the peer sees the close";
}

TEST_F(RingTest, AWaitForBytesEndsWhenTheyComeAndTakesNone) {
  IoStatus status = IoStatus::Failed;
  Timer later(context_.get_executor());
  later.expires_after(50ms);
  later.async_wait([&](const error_code &) { ASSERT_EQ(::send(peer_, "wake", 4, 0), 4); });
  run([&]() -> awaitable<void> { status = co_await waitReadable(ours_, dog_, 2s); });
  EXPECT_EQ(status, IoStatus::Ok);
  EXPECT_EQ(ring_->operations(), 1u) << "the wait went through the ring";
  InputBuffer in(buffers_);
  run([&]() -> awaitable<void> { status = co_await readSome(ours_, in, dog_, 1s); });
  EXPECT_EQ(std::string(in.data(), in.size()), "wake") << "the wait left the bytes to the read";
}

TEST_F(RingTest, AWaitForBytesEndsWhenThePeerCloses) {
  ::close(std::exchange(peer_, -1));
  IoStatus status = IoStatus::Failed;
  run([&]() -> awaitable<void> { status = co_await waitReadable(ours_, dog_, 1s); });
  EXPECT_EQ(status, IoStatus::Ok) << "readable: the read that follows finds the end";
}

TEST_F(RingTest, AWaitForBytesTimesOutThroughTheWatchdog) {
  IoStatus status = IoStatus::Ok;
  auto started = std::chrono::steady_clock::now();
  run([&]() -> awaitable<void> { status = co_await waitReadable(ours_, dog_, 100ms); });
  EXPECT_EQ(status, IoStatus::TimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
  // The cancelled wait is gone from the ring: the next one sees new bytes.
  ASSERT_EQ(::send(peer_, "next", 4, 0), 4);
  run([&]() -> awaitable<void> { status = co_await waitReadable(ours_, dog_, 1s); });
  EXPECT_EQ(status, IoStatus::Ok);
}

TEST_F(RingTest, WritesGatheredPiecesInOrder) {
  IoStatus status = IoStatus::Failed;
  run([&]() -> awaitable<void> {
    status = co_await writeAll(ours_, gather("head|", "body"), dog_, 1s);
  });
  EXPECT_EQ(status, IoStatus::Ok);
  EXPECT_EQ(drainPeer(9), "head|body");
  EXPECT_EQ(ring_->operations(), 1u) << "both pieces in one write through the ring";
}

TEST_F(RingTest, AWriteLargerThanTheSocketBufferGoesOutWhole) {
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7 + i / 4096);
  IoStatus status = IoStatus::Failed;
  bool done = false;
  start([&]() -> awaitable<void> { status = co_await writeAll(ours_, big, dog_, 5s); }, done);
  std::string got = drainPeer(big.size());
  runUntil(done);
  EXPECT_TRUE(done);
  EXPECT_EQ(status, IoStatus::Ok);
  EXPECT_TRUE(got == big) << "got " << got.size() << " of " << big.size()
                          << " bytes, or other bytes";
}

TEST_F(RingTest, AWriteToAClosedPeerFails) {
  ::close(std::exchange(peer_, -1));
  IoStatus status = IoStatus::Ok;
  run([&]() -> awaitable<void> {
    status = co_await writeAll(ours_, std::string_view("lost"), dog_, 1s);
  });
  EXPECT_EQ(status, IoStatus::Failed); // EPIPE, and no SIGPIPE (MSG_NOSIGNAL)
}

TEST_F(RingTest, ARingDestroyedWithAReadInFlightDropsItsHandler) {
  auto in = std::make_shared<InputBuffer>(buffers_);
  bool resumed = false;
  asio::co_spawn(
      context_,
      [&, in]() -> awaitable<void> {
        co_await readSome(ours_, *in, dog_, 10s);
        resumed = true;
      },
      asio::detached);
  context_.run_for(20ms);
  ring_.reset(); // as a worker's thread ends: the coroutine is never resumed
  EXPECT_FALSE(resumed);
  context_.run_for(20ms); // its frame goes (under the sanitizers: without a leak)
  EXPECT_FALSE(resumed);
  EXPECT_EQ(in.use_count(), 1);
}

// More operations in one turn than the rings hold, each completing at once: the
// completion queue overflows and the kernel refuses more submissions for a while. None
// may fail where epoll would have done it: each waits for room and goes.
TEST_F(RingTest, AFullRingDelaysOperationsAndFailsNone) {
  constexpr int kOperations = 3000;
  std::vector<int> peers;
  std::vector<std::unique_ptr<LocalSocket>> sockets;
  int succeeded = 0, failed = 0;
  for (int i = 0; i < kOperations; ++i) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    sockets.push_back(std::make_unique<LocalSocket>(context_, Local(), fds[0]));
    peers.push_back(fds[1]);
    static const char byte = 'x';
    ring_->asyncWriteSome(fds[0], asio::buffer(&byte, 1), [&](const error_code &ec, size_t n) {
      (ec || n != 1 ? failed : succeeded) += 1;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (succeeded + failed < kOperations && std::chrono::steady_clock::now() < deadline)
    context_.run_one_for(100ms);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(succeeded, kOperations);
  for (int fd : peers)
    ::close(fd);
}

} // namespace
} // namespace turnout
