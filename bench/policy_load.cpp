// What loading a policy costs the proxy, and what a loaded version keeps: for each file
// given (a source or a `routec build` artifact), the time of turnout's load (loadPolicy:
// parse, check and compile a source; link an artifact's code with its image), and the
// memory each of 10 loaded versions holds while kept (resident and heap bytes). Beside
// each source, the heap its checked program takes, which a kept version held before
// versions dropped it. A benchmark, not a test.
// Usage: policy_load_bench FILE...   (bench/load_bench.sh runs it)
#include "driver/Compilation.h"
#include "policy/PolicyLoader.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

size_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

size_t heapBytes() {
  ::malloc_trim(0);
  return mallinfo2().uordblks;
}

double cpuMilliseconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

} // namespace

int main(int argc, char **argv) {
  constexpr int kLoads = 10;
  std::printf("%-28s %-22s %10s %10s %12s %12s %14s\n", "file", "backend", "load ms", "cpu ms",
              "kept RSS", "kept heap", "program heap");
  for (int i = 1; i < argc; ++i) {
    std::string path = argv[i];
    std::string diagnostics;
    std::vector<std::shared_ptr<const turnout::Policy>> kept;
    std::vector<double> wall, cpu;
    turnout::releaseCompilerMemory();
    size_t residentBefore = residentBytes(), heapBefore = heapBytes();
    for (int n = 0; n < kLoads; ++n) {
      double cpuStart = cpuMilliseconds();
      auto start = std::chrono::steady_clock::now();
      std::shared_ptr<const turnout::Policy> policy = turnout::loadPolicy(path, diagnostics);
      wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      cpu.push_back(cpuMilliseconds() - cpuStart);
      if (!policy) {
        std::fprintf(stderr, "%s", diagnostics.c_str());
        return 1;
      }
      kept.push_back(std::move(policy));
    }
    turnout::releaseCompilerMemory();
    double residentEach =
        (static_cast<double>(residentBytes()) - static_cast<double>(residentBefore)) / kLoads;
    double heapEach = (static_cast<double>(heapBytes()) - static_cast<double>(heapBefore)) / kLoads;
    std::string program = "-";
    if (kept.front()->backend() != "artifact") {
      size_t heapStart = heapBytes();
      auto compilation = std::make_unique<route::Compilation>();
      if (route::LoadedPolicy *loaded = compilation->load(path); loaded && loaded->ok)
        program = std::to_string((heapBytes() - heapStart) / 1024) + " KiB";
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    std::string name = path.substr(path.find_last_of('/') + 1);
    std::printf("%-28s %-22.22s %10.1f %10.1f %8.0f KiB %8.0f KiB %14s\n", name.c_str(),
                kept.front()->backend().c_str(), wall[kLoads / 2], cpu[kLoads / 2],
                residentEach / 1024, heapEach / 1024, program.c_str());
  }
  return 0;
}
