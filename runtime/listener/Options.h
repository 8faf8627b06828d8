// What a listener does with a connection before its first request, beside HTTP: read a
// PROXY protocol header (from the peers allowed to send one), terminate TLS. Built once per
// listener at start; shared by its acceptors on every worker.
#pragma once

#include "tls/ServerContext.h"

#include <memory>
#include <string>

struct RouteAcl;

namespace turnout::listener {

struct Options {
  uint32_t index = 0; // the listener's place in the server config (metrics name it by it)
  std::shared_ptr<tls::ListenerContext> tls; // null: plain
  bool proxyProtocol = false;
  std::shared_ptr<const RouteAcl> proxyFrom; // null: every peer may send the header

  // Whether the peer at `ip` may send a PROXY header.
  bool proxyAllowed(const std::string &ip) const;
};

} // namespace turnout::listener
