// Active health checks, as an upstream's `health = http(...)` or `tcp(...)` says: one
// prober per upstream, on the first worker thread, asks every peer each interval; a peer
// that fails `unhealthy_after` checks in a row is out until it passes `healthy_after` in a
// row. The verdicts go to the upstream's PeerStates, which the balancers read without
// locks; they skip peers that are out (and try them all when every one is).
#pragma once

#include "io/Io.h"
#include "upstream/PeerStates.h"
#include "upstream/Stream.h"
#include "upstream/UpstreamSpec.h"

#include <atomic>
#include <memory>
#include <vector>

namespace turnout::upstream {

// Starts checking the peers of `spec` (which must have a health check) on `context`,
// recording verdicts in `states`, until `states` is retired or the context stops. The
// prober keeps its own copy of the settings: it may outlive the policy version.
void startHealthCheck(asio::io_context &context, const UpstreamSpec &spec,
                      std::shared_ptr<PeerStates> states, TlsContexts &tls);

} // namespace turnout::upstream
