// Addresses and ACLs. IPv4 addresses are compared as IPv4-mapped IPv6 (::ffff:a.b.c.d), so
// that a v4 network also matches a client seen on a dual-stack socket.
#include "Text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

using U128 = unsigned __int128;

U128 toMapped(const RouteIp &ip) {
  U128 value = 0;
  if (ip.v6) {
    for (int i = 0; i < 16; ++i)
      value = (value << 8) | ip.bytes[i];
  } else {
    value = 0xFFFF; // ::ffff:0:0/96, then the four bytes below it
    for (int i = 0; i < 4; ++i)
      value = (value << 8) | ip.bytes[i];
  }
  return value;
}

struct Range {
  U128 low, high;
};

Range rangeOf(const RouteIp &network, uint8_t prefix) {
  unsigned bits = network.v6 ? prefix : 96u + prefix;
  if (bits > 128)
    bits = 128;
  U128 base = toMapped(network);
  U128 hostMask = bits == 0 ? ~U128(0) : bits >= 128 ? U128(0) : (~U128(0)) >> bits;
  return {base & ~hostMask, (base & ~hostMask) | hostMask};
}

} // namespace

struct RouteAcl {
  std::vector<Range> ranges; // sorted, disjoint, not adjacent
};

extern "C" {

RouteAcl *route_acl_create(const RouteIp *networks, const uint8_t *prefixes, uint64_t count) {
  auto *acl = new RouteAcl();
  std::vector<Range> ranges;
  ranges.reserve(count);
  for (uint64_t i = 0; i < count; ++i)
    ranges.push_back(rangeOf(networks[i], prefixes[i]));
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.low < b.low; });
  for (const Range &r : ranges) {
    if (!acl->ranges.empty()) {
      Range &last = acl->ranges.back();
      bool touches = r.low <= last.high || (last.high != ~U128(0) && r.low == last.high + 1);
      if (touches) {
        last.high = std::max(last.high, r.high);
        continue;
      }
    }
    acl->ranges.push_back(r);
  }
  return acl;
}

void route_acl_free(RouteAcl *acl) {
  delete acl;
}

int route_acl_contains(const RouteAcl *acl, RouteIp address) {
  U128 value = toMapped(address);
  auto it = std::upper_bound(acl->ranges.begin(), acl->ranges.end(), value,
                             [](U128 v, const Range &r) { return v < r.low; });
  return it != acl->ranges.begin() && value <= std::prev(it)->high;
}

int route_ip_equal(RouteIp a, RouteIp b) {
  return toMapped(a) == toMapped(b);
}

int route_cidr_contains(RouteIp network, uint8_t prefix, RouteIp address) {
  Range r = rangeOf(network, prefix);
  U128 value = toMapped(address);
  return r.low <= value && value <= r.high;
}

RouteStr route_StrIp(RouteArena *arena, RouteIp address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes, buffer, sizeof buffer);
  return route::stdlib::copy(arena, buffer);
}

RouteIp route_ParseIp(RouteStr s) {
  RouteIp ip{};
  std::string text(s.data ? s.data : "", s.size);
  if (inet_pton(AF_INET, text.c_str(), ip.bytes) == 1)
    return ip;
  if (inet_pton(AF_INET6, text.c_str(), ip.bytes) == 1) {
    ip.v6 = 1;
    return ip;
  }
  return RouteIp{};
}

} // extern "C"
