// The one timeout mechanism of reads and writes (io/Io.h's Watchdog), on a real event loop.
#include "io/Io.h"

#include <gtest/gtest.h>

#include <thread>

namespace turnout {
namespace {

using namespace std::chrono_literals;

// Stands for a socket: counts the cancellations a watchdog makes.
struct CountingSocket {
  int cancels = 0;
  void cancel(error_code &) { ++cancels; }
  int native_handle() const { return -1; }
};

TEST(Watchdog, CancelsTheSocketWhenTheDeadlinePasses) {
  asio::io_context context;
  CountingSocket socket;
  Watchdog dog(context.get_executor());
  dog.arm(socket, Duration(5));
  context.run_for(200ms);
  EXPECT_TRUE(dog.fired());
  EXPECT_EQ(socket.cancels, 1);
}

TEST(Watchdog, DisarmedInTimeItCancelsNothing) {
  asio::io_context context;
  CountingSocket socket;
  Watchdog dog(context.get_executor());
  dog.arm(socket, Duration(20));
  dog.disarm();
  context.run_for(100ms);
  EXPECT_FALSE(dog.fired());
  EXPECT_EQ(socket.cancels, 0);
}

// A connection can end in the same turn of the loop in which its watchdog's timer
// expired: the timer's handler is then queued already, and runs after the watchdog is
// gone (it once read the freed connection).
TEST(Watchdog, AnExpiredTimersHandlerOutlivingItsWatchdogDoesNothing) {
  asio::io_context context;
  CountingSocket socket;
  auto dog = std::make_unique<Watchdog>(context.get_executor());
  // Far enough off that the loop's first look at its timers, before this handler runs,
  // finds nothing expired (a deadline already past then queues the handler first).
  dog->arm(socket, std::chrono::duration_cast<Duration>(50ms));
  asio::post(context, [&] {
    std::this_thread::sleep_for(100ms); // the deadline passes meanwhile
    // Runs after the loop's next look at its timers, which queues the expired handler.
    asio::post(context, [&] { dog.reset(); });
  });
  context.run_for(300ms);
  EXPECT_EQ(dog, nullptr);
  EXPECT_EQ(socket.cancels, 0);
}

} // namespace
} // namespace turnout
