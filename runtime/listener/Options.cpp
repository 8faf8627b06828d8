#include "listener/Options.h"

#include "route/abi.h"

namespace turnout::listener {

bool Options::proxyAllowed(const std::string &ip) const {
  return !proxyFrom || route_acl_contains(proxyFrom.get(), route_ParseIp({ip.data(), ip.size()}));
}

} // namespace turnout::listener
