// An acl declaration as both back ends search it at run time: the stdlib's RouteAcl (a
// C ABI both already link), built from the checked declaration. Header-only.
#pragma once

#include "ast/AST.h"
#include "route/abi.h"

#include <cstring>
#include <vector>

namespace route::backend {

// The searchable form of an acl declaration; the caller frees it with route_acl_free.
inline RouteAcl *compileAcl(const ast::AclDecl &acl) {
  std::vector<RouteIp> networks;
  std::vector<uint8_t> prefixes;
  for (const ast::IpValue &n : acl.networks) {
    RouteIp ip{};
    std::memcpy(ip.bytes, n.bytes.data(), 16);
    ip.v6 = n.v6;
    networks.push_back(ip);
    prefixes.push_back(static_cast<uint8_t>(n.prefix));
  }
  return route_acl_create(networks.data(), prefixes.data(), networks.size());
}

} // namespace route::backend
