#include "log/FileWriter.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace turnout::log {

FileWriter::FileWriter(std::string path) : path_(std::move(path)) {
}

FileWriter::~FileWriter() {
  {
    std::lock_guard hold(lock_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable())
    thread_.join();
  if (fd_ > STDERR_FILENO)
    ::close(fd_);
}

int FileWriter::openPath(std::string &error) const {
  if (path_ == "stderr")
    return STDERR_FILENO;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    error = fmt::format("cannot open {}: {}", path_, std::strerror(errno));
  return fd;
}

bool FileWriter::start(std::string &error) {
  fd_ = openPath(error);
  if (fd_ < 0)
    return false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void FileWriter::write(std::string &lines) {
  if (lines.empty())
    return;
  {
    std::unique_lock hold(lock_);
    room_.wait(hold, [&] { return queue_.size() < kMaxQueued || stop_; });
    queue_.push_back(std::move(lines));
    lines = std::move(spare_);
    spare_.clear();
  }
  lines.clear();
  wake_.notify_one();
}

void FileWriter::reopen() {
  {
    std::lock_guard hold(lock_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void FileWriter::run() {
  std::unique_lock hold(lock_);
  for (;;) {
    wake_.wait(hold, [&] { return stop_ || reopen_ || !queue_.empty(); });
    if (reopen_) {
      reopen_ = false;
      std::string error;
      int fd = openPath(error);
      if (fd < 0) {
        spdlog::error("reopening a log: {}; writing on to the file open before", error);
      } else {
        if (fd_ > STDERR_FILENO)
          ::close(fd_);
        fd_ = fd;
      }
    }
    if (queue_.empty()) {
      if (stop_)
        return;
      continue;
    }
    std::string batch = std::move(queue_.front());
    queue_.pop_front();
    hold.unlock();
    room_.notify_all();
    for (size_t written = 0; written < batch.size();) {
      ssize_t n = ::write(fd_, batch.data() + written, batch.size() - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        spdlog::error("cannot write {}: {}", path_, std::strerror(errno));
        break;
      }
      written += static_cast<size_t>(n);
    }
    batch.clear();
    hold.lock();
    if (batch.capacity() <= 1 << 20)
      spare_ = std::move(batch);
  }
}

} // namespace turnout::log
