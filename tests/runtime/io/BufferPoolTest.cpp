#include "io/BufferPool.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace turnout {
namespace {

// How many of the buffer's pages are in memory (mincore).
size_t residentPages(const char *buffer, size_t size) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size + page - 1) / page);
  EXPECT_EQ(::mincore(const_cast<char *>(buffer), size, pages.data()), 0);
  size_t resident = 0;
  for (unsigned char p : pages)
    resident += p & 1;
  return resident;
}

TEST(BufferPool, SizesAreWholePages) {
  BufferPool pool(5000);
  EXPECT_EQ(pool.bufferSize() % static_cast<size_t>(::sysconf(_SC_PAGESIZE)), 0u);
  EXPECT_GE(pool.bufferSize(), 5000u);
}

TEST(BufferPool, TheLastGivenIsTakenFirst) {
  BufferPool pool(64 * 1024);
  char *a = pool.take();
  char *b = pool.take();
  EXPECT_NE(a, b);
  pool.give(a);
  pool.give(b);
  EXPECT_EQ(pool.take(), b);
  EXPECT_EQ(pool.take(), a);
  pool.give(a);
  pool.give(b);
}

TEST(BufferPool, BuffersUnusedForAWholeIntervalGiveTheirPagesBack) {
  BufferPool pool(64 * 1024);
  size_t pages = pool.bufferSize() / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<char *> burst;
  for (int i = 0; i < 8; ++i) { // a burst: eight buffers filled at once
    burst.push_back(pool.take());
    std::memset(burst.back(), 'x', pool.bufferSize());
  }
  for (char *buffer : burst)
    pool.give(buffer);
  pool.releaseIdle(); // the interval of the burst: every buffer was in use during it

  // Then steady load needing two at a time.
  for (int round = 0; round < 2; ++round) {
    char *first = pool.take();
    char *second = pool.take();
    EXPECT_EQ(residentPages(first, pool.bufferSize()), pages);
    pool.give(second);
    pool.give(first);
    pool.releaseIdle();
  }
  // The two in steady use kept their pages; the six the burst left went back.
  ASSERT_EQ(pool.freeCount(), 8u);
  char *hot[2] = {pool.take(), pool.take()};
  EXPECT_EQ(residentPages(hot[0], pool.bufferSize()), pages);
  EXPECT_EQ(residentPages(hot[1], pool.bufferSize()), pages);
  std::vector<char *> cold;
  for (int i = 0; i < 6; ++i) {
    cold.push_back(pool.take());
    EXPECT_EQ(residentPages(cold.back(), pool.bufferSize()), 0u);
    EXPECT_EQ(cold.back()[0], 0); // released pages read as zeros
  }
  for (char *buffer : cold)
    pool.give(buffer);
  pool.give(hot[1]);
  pool.give(hot[0]);
}

TEST(BufferPool, AReleasedBufferTakenAgainIsUsable) {
  BufferPool pool(4096);
  char *buffer = pool.take();
  std::memset(buffer, 'x', pool.bufferSize());
  pool.give(buffer);
  pool.releaseIdle();
  pool.releaseIdle(); // unused for a whole interval: released
  EXPECT_EQ(residentPages(buffer, pool.bufferSize()), 0u);
  char *again = pool.take();
  ASSERT_EQ(again, buffer);
  std::memset(again, 'y', pool.bufferSize());
  EXPECT_EQ(again[pool.bufferSize() - 1], 'y');
  pool.give(again);
  pool.releaseIdle();
  // Taken during the last interval: kept.
  EXPECT_EQ(residentPages(buffer, pool.bufferSize()), 1u);
}

} // namespace
} // namespace turnout
