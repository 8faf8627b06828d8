// A log file written by a thread of its own: workers hand it batches of whole lines (a lock
// taken once per batch, never per request), so a slow disk never holds a request. A
// reopen (SIGUSR1, logrotate's convention, as nginx's) happens between two batches: every
// line lands whole in the old file or the new one, none is lost.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace turnout::log {

class FileWriter {
public:
  // `path`: a file (created, appended to) or "stderr".
  explicit FileWriter(std::string path);
  ~FileWriter(); // writes what is queued, then closes
  FileWriter(const FileWriter &) = delete;
  FileWriter &operator=(const FileWriter &) = delete;

  // Opens the file and starts the thread; false with `error` when the file cannot be opened.
  bool start(std::string &error);
  // Queues `lines` (whole lines, each ending in '\n') for writing; takes the buffer's
  // contents and leaves it empty, its memory kept when it can be. When kMaxQueued batches
  // wait already (a disk that stalls), it waits for room, as a write to the file would.
  void write(std::string &lines);
  // Opens the path again for the lines queued from now on, from any thread.
  void reopen();
  const std::string &path() const { return path_; }

private:
  void run();
  int openPath(std::string &error) const;

  std::string path_;
  int fd_ = -1;
  std::mutex lock_;
  static constexpr size_t kMaxQueued = 64; // batches of up to 64 KiB: 4 MiB
  std::condition_variable wake_, room_;
  std::deque<std::string> queue_;
  std::string spare_; // an emptied buffer, handed back to the next write
  bool reopen_ = false, stop_ = false;
  std::thread thread_;
};

} // namespace turnout::log
