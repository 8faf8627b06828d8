// Active health checks, as an upstream's `health = http(...)` or `tcp(...)` says: one
// prober on the first worker thread asks every peer each interval; a peer that fails
// `unhealthy_after` checks in a row is out until it passes `healthy_after` in a row.
// Workers read the verdicts from atomics, without locks; the balancers skip peers that
// are out (and try them all when every one is).
#pragma once

#include "sema/Checker.h"
#include "server/Io.h"
#include "upstream/Stream.h"

#include <atomic>
#include <memory>
#include <vector>

namespace turnout::upstream {

class HealthTable {
public:
  explicit HealthTable(const route::Program &program);
  // Per peer of upstream `upstream`: whether it is in; every peer starts in.
  const std::atomic<bool> *peers(uint32_t upstream) const { return healthy_[upstream].get(); }
  void set(uint32_t upstream, size_t peer, bool in) { healthy_[upstream][peer].store(in, std::memory_order_relaxed); }
  bool in(uint32_t upstream, size_t peer) const { return healthy_[upstream][peer].load(std::memory_order_relaxed); }

private:
  std::vector<std::unique_ptr<std::atomic<bool>[]>> healthy_;
};

// Runs the checks of every upstream that has them, until the context stops.
void startHealthChecks(asio::io_context &context, const route::Program &program, HealthTable &table,
                       TlsContexts &tls);

} // namespace turnout::upstream
