#include "log/ErrorLog.h"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace turnout::log {

namespace {

// A file whose descriptor stays the same across a reopen (dup2): a line being written as
// the file changes goes whole to one of the two.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit ReopenableFileSink(std::string path) : path_(std::move(path)) {}
  ~ReopenableFileSink() override {
    if (fd_ >= 0)
      ::close(fd_);
  }
  bool open(std::string &error) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      error = fmt::format("cannot open the error log {}: {}", path_, std::strerror(errno));
    return fd_ >= 0;
  }
  void reopen() {
    std::lock_guard hold(mutex_);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
      return; // the file open before goes on
    ::dup3(fd, fd_, O_CLOEXEC);
    ::close(fd);
  }

protected:
  void sink_it_(const spdlog::details::log_msg &message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    for (size_t written = 0; written < formatted.size();) {
      ssize_t n = ::write(fd_, formatted.data() + written, formatted.size() - written);
      if (n <= 0 && errno != EINTR)
        return;
      written += n > 0 ? static_cast<size_t>(n) : 0;
    }
  }
  void flush_() override {}

private:
  std::string path_;
  int fd_ = -1;
};

std::shared_ptr<ReopenableFileSink> fileSink;

} // namespace

bool setUpErrorLog(const ServerConfig::Log &config, std::string &error) {
  std::vector<spdlog::sink_ptr> sinks;
  if (config.error == "stderr") {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  } else {
    auto file = std::make_shared<ReopenableFileSink>(config.error);
    if (!file->open(error))
      return false;
    fileSink = file;
    sinks.push_back(std::move(file));
  }
  if (config.syslog)
    sinks.push_back(
        std::make_shared<spdlog::sinks::syslog_sink_mt>("turnout", LOG_PID, LOG_DAEMON, true));
  auto logger = std::make_shared<spdlog::logger>("turnout", sinks.begin(), sinks.end());
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e turnout %l: %v");
  if (config.syslog) // syslog stamps its own time and host
    sinks.back()->set_pattern("%l: %v");
  spdlog::set_level(spdlog::level::from_str(config.level));
  return true;
}

void reopenErrorLog() {
  if (fileSink)
    fileSink->reopen();
}

} // namespace turnout::log
