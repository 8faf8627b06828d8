// The PROXY protocol (HAProxy's, versions 1 and 2): the header a load balancer in front
// sends first on a connection, naming the client and the address it connected to. Parsing
// only, without I/O: the session peeks at the socket, parses, and takes exactly the
// header's bytes, so that what follows (a TLS handshake, a request) stays unread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace turnout::listener {

struct ProxyHeader {
  // The sender's own connection (v2 LOCAL, v1 UNKNOWN, or an address family other than
  // TCP over IPv4 or IPv6): the connection's addresses stand.
  bool local = false;
  std::string sourceIp, destinationIp;
  uint16_t sourcePort = 0, destinationPort = 0;
};

enum class ProxyParse { Done, NeedMore, Invalid };

// The most bytes a header may take: v1's 107, or a v2 header with up to 2 KiB of TLVs.
inline constexpr size_t kMaxProxyHeader = 16 + 2048;

// Parses the header at the start of `bytes`. Done: `header` is set and the header is
// `length` bytes long; NeedMore: the bytes so far begin a header (`length` is how many a
// v2 header needs in all, when known, else 0); Invalid: they do not.
ProxyParse parseProxyHeader(std::string_view bytes, ProxyHeader &header, size_t &length);

} // namespace turnout::listener
