// The read buffers of one worker thread. A connection holds one only while it has
// unparsed bytes, so thousands of idle keep-alive connections need none, and busy ones
// reuse buffers freed a moment ago (as HAProxy does).
//
// Buffers are mapped pages of their own, not heap blocks: a burst of large transfers
// once left tens of megabytes of freed 64 KiB blocks in the allocator's arena, resident
// for good. Here a buffer that sat unused for a whole housekeeping interval has its
// pages given back (madvise), while the buffers in steady use keep theirs: after a burst
// the memory goes, under steady load nothing is paid.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <new>
#include <vector>

namespace turnout {

class BufferPool {
public:
  explicit BufferPool(size_t bufferSize) {
    size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_ = (bufferSize + page - 1) / page * page;
  }
  ~BufferPool() {
    for (char *buffer : free_)
      ::munmap(buffer, size_);
  }
  BufferPool(const BufferPool &) = delete;
  BufferPool &operator=(const BufferPool &) = delete;

  size_t bufferSize() const { return size_; }

  // A buffer, most recently used first; its contents are whatever they were (zeros if its
  // pages were given back).
  char *take() {
    if (free_.empty()) {
      void *pages =
          ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (pages == MAP_FAILED)
        throw std::bad_alloc();
      return static_cast<char *>(pages);
    }
    char *buffer = free_.back();
    free_.pop_back();
    released_ = std::min(released_, free_.size());
    lowWater_ = std::min(lowWater_, free_.size());
    return buffer;
  }
  void give(char *buffer) {
    if (free_.size() >= kMaxKept) {
      ::munmap(buffer, size_);
      return;
    }
    free_.push_back(buffer);
  }

  // Gives back the pages of the buffers that nobody took since the last call: the bottom
  // of the free list, below its lowest point since then. Called once a second.
  void releaseIdle() {
    for (size_t i = released_; i < lowWater_; ++i)
      ::madvise(free_[i], size_, MADV_DONTNEED);
    released_ = std::max(released_, lowWater_);
    lowWater_ = free_.size();
  }

  // Whether one more connection waiting for its next request may hold a buffer meanwhile
  // (see http1::DownstreamSession::waitForRequest). A bounded number may: waiting never costs more
  // memory than that.
  bool lendToWaiter() {
    if (waiters_ >= kLentToWaiters)
      return false;
    ++waiters_;
    return true;
  }
  void waiterDone() { --waiters_; }

  size_t freeCount() const { return free_.size(); }

private:
  static constexpr size_t kLentToWaiters = 64;
  // Beyond this many free buffers, a freed one is unmapped. Kept ones cost address space
  // and, once released, no memory.
  static constexpr size_t kMaxKept = 1024;
  size_t size_;
  std::vector<char *> free_; // the most recently given on top
  size_t released_ = 0;      // free_[0, released_) have given their pages back
  size_t lowWater_ = 0;      // the fewest free buffers since the last releaseIdle()
  size_t waiters_ = 0;
};

} // namespace turnout
