#include "metrics/WorkerMetrics.h"

namespace turnout::metrics {

namespace {
thread_local WorkerMetrics *current = nullptr;
} // namespace

WorkerMetrics &local() {
  if (current)
    return *current;
  thread_local WorkerMetrics own;
  return own;
}

void setLocal(WorkerMetrics *metrics) {
  current = metrics;
}

void UpstreamCounters::add(const UpstreamCounters &o) {
  if (requests.size() < o.requests.size())
    requests.resize(o.requests.size());
  for (size_t l = 0; l < o.requests.size(); ++l)
    for (size_t i = 0; i < o.requests[l].size(); ++i)
      requests[l][i] += o.requests[l][i];
  duration.add(o.duration);
  firstByte.add(o.firstByte);
  for (const auto &[address, counters] : o.peers)
    peers[address].add(counters);
}

void WorkerMetrics::add(const WorkerMetrics &o) {
  for (const auto &[name, counters] : o.upstreams)
    upstreams[name].add(counters);
  for (size_t s = 0; s < kSides; ++s)
    for (size_t p = 0; p < kProtocols; ++p) {
      open[s][p] += o.open[s][p];
      opened[s][p] += o.opened[s][p];
    }
  for (size_t r = 0; r < tlsHandshakes.size(); ++r)
    tlsHandshakes[r] += o.tlsHandshakes[r];
  for (size_t s = 0; s < kSides; ++s)
    streams[s] += o.streams[s];
}

} // namespace turnout::metrics
