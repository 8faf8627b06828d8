// libFuzzer entry point: any bytes as the start of a connection on a listener that takes
// the PROXY protocol (v1 or v2). The parser must never read past what it was given, a
// header it accepts must be whole within the bytes and the size limit and parse alike on
// its own, and addresses it gives must be addresses.
#include "listener/ProxyProtocol.h"

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size); // exact size: ASan sees overreads
  turnout::listener::ProxyHeader header;
  size_t length = 0;
  auto result = turnout::listener::parseProxyHeader(bytes, header, length);
  if (result == turnout::listener::ProxyParse::Done) {
    if (length == 0 || length > bytes.size() || length > turnout::listener::kMaxProxyHeader)
      __builtin_trap();
    turnout::listener::ProxyHeader again;
    size_t againLength = 0;
    if (turnout::listener::parseProxyHeader(bytes.substr(0, length), again, againLength) !=
            turnout::listener::ProxyParse::Done ||
        againLength != length || again.sourceIp != header.sourceIp)
      __builtin_trap();
    unsigned char binary[16];
    if (!header.local && ::inet_pton(AF_INET, header.sourceIp.c_str(), binary) != 1 &&
        ::inet_pton(AF_INET6, header.sourceIp.c_str(), binary) != 1)
      __builtin_trap();
  }
  if (result == turnout::listener::ProxyParse::NeedMore && length != 0 && length <= bytes.size())
    __builtin_trap(); // a v2 header said how long it is, and it is all there
  return 0;
}
