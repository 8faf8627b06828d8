#include "metrics/Process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace turnout::metrics {

namespace {

// /proc/self/stat's fields after the command (which may hold spaces and parentheses):
// fields[0] is the state, the third field of the line.
std::vector<std::string> statFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  size_t close = line.rfind(')');
  if (close == std::string::npos)
    return fields;
  std::istringstream rest(line.substr(close + 1));
  for (std::string field; rest >> field;)
    fields.push_back(field);
  return fields;
}

double bootTime() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double seconds = 0;
      in >> seconds;
      return seconds;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

uint64_t openFds() {
  uint64_t n = 0;
  if (DIR *dir = ::opendir("/proc/self/fd")) {
    while (const dirent *entry = ::readdir(dir))
      n += entry->d_name[0] != '.';
    ::closedir(dir);
    n -= n > 0; // the directory's own descriptor
  }
  return n;
}

} // namespace

void writeProcessMetrics(Exposition &out) {
  std::vector<std::string> f = statFields();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // Fields of proc(5), counted from the state (3): utime 14, stime 15, starttime 22,
  // vsize 23, rss 24.
  auto field = [&](size_t number) {
    return f.size() > number - 3 ? std::stod(f[number - 3]) : 0.0;
  };
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
  out.sample("process_cpu_seconds_total", {}, (field(14) + field(15)) / ticks);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample("process_resident_memory_bytes", {}, field(24) * page);
  out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.sample("process_virtual_memory_bytes", {}, field(23));
  out.family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
  out.sample("process_start_time_seconds", {}, bootTime() + field(22) / ticks);
  out.family("process_open_fds", "gauge", "Number of open file descriptors.");
  out.sample("process_open_fds", {}, openFds());
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out.sample("process_max_fds", {}, static_cast<uint64_t>(limit.rlim_cur));
  }
}

} // namespace turnout::metrics
