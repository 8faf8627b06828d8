// The proxy process: workers, listeners and signals. No Asio type appears here.
#pragma once

#include "config/ServerConfig.h"
#include "policy/Policy.h"

#include <memory>

namespace turnout {

// Listens as `config` says and serves with `policy` until SIGINT or SIGTERM. Returns the
// process exit status; a listener that cannot be opened is reported and gives 1.
int runServer(const ServerConfig &config, std::shared_ptr<const Policy> policy);

} // namespace turnout
