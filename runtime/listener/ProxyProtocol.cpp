#include "listener/ProxyProtocol.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace turnout::listener {

namespace {

constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr size_t kV1Max = 107; // "PROXY TCP6 " + two addresses + two ports + CRLF

// An address of `family` as text, or "" when `text` is not one (v1 gives text, which
// must be canonical enough to parse back).
std::string address(int family, std::string_view text) {
  char buffer[INET6_ADDRSTRLEN];
  unsigned char binary[16];
  std::string copy(text);
  if (::inet_pton(family, copy.c_str(), binary) != 1 ||
      !::inet_ntop(family, binary, buffer, sizeof buffer))
    return "";
  return buffer;
}

bool port(std::string_view text, uint16_t &out) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0'))
    return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

ProxyParse parseV1(std::string_view bytes, ProxyHeader &header, size_t &length) {
  size_t end = bytes.find("\r\n");
  if (end == std::string_view::npos)
    return bytes.size() < kV1Max ? ProxyParse::NeedMore : ProxyParse::Invalid;
  if (end + 2 > kV1Max)
    return ProxyParse::Invalid;
  length = end + 2;
  std::string_view line = bytes.substr(0, end);
  std::string_view fields[6];
  size_t count = 0;
  while (!line.empty() && count < 6) {
    size_t space = line.find(' ');
    fields[count++] = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  if (!line.empty() || count < 2 || fields[0] != "PROXY")
    return ProxyParse::Invalid;
  if (fields[1] == "UNKNOWN") { // the rest of the line is ignored (the spec's words)
    header = ProxyHeader{};
    header.local = true;
    return ProxyParse::Done;
  }
  int family = fields[1] == "TCP4" ? AF_INET : fields[1] == "TCP6" ? AF_INET6 : 0;
  if (!family || count != 6)
    return ProxyParse::Invalid;
  header = ProxyHeader{};
  header.sourceIp = address(family, fields[2]);
  header.destinationIp = address(family, fields[3]);
  if (header.sourceIp.empty() || header.destinationIp.empty() ||
      !port(fields[4], header.sourcePort) || !port(fields[5], header.destinationPort))
    return ProxyParse::Invalid;
  return ProxyParse::Done;
}

ProxyParse parseV2(std::string_view bytes, ProxyHeader &header, size_t &length) {
  if (bytes.size() < 16)
    return ProxyParse::NeedMore;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  unsigned version = byte(12) >> 4, command = byte(12) & 0x0f;
  if (version != 2 || command > 1)
    return ProxyParse::Invalid;
  size_t payload = (static_cast<size_t>(byte(14)) << 8) | byte(15);
  length = 16 + payload;
  if (length > kMaxProxyHeader)
    return ProxyParse::Invalid;
  if (bytes.size() < length)
    return ProxyParse::NeedMore;
  header = ProxyHeader{};
  unsigned family = byte(13) >> 4, transport = byte(13) & 0x0f;
  if (command == 0 || transport != 1 || (family != 1 && family != 2)) {
    header.local = true; // LOCAL, or not TCP over IPv4/IPv6: the connection's own addresses
    return ProxyParse::Done;
  }
  size_t size = family == 1 ? 4 : 16;
  if (payload < 2 * size + 4)
    return ProxyParse::Invalid;
  const char *at = bytes.data() + 16;
  char buffer[INET6_ADDRSTRLEN];
  int af = family == 1 ? AF_INET : AF_INET6;
  header.sourceIp = ::inet_ntop(af, at, buffer, sizeof buffer);
  header.destinationIp = ::inet_ntop(af, at + size, buffer, sizeof buffer);
  header.sourcePort = static_cast<uint16_t>((byte(16 + 2 * size) << 8) | byte(17 + 2 * size));
  header.destinationPort = static_cast<uint16_t>((byte(18 + 2 * size) << 8) | byte(19 + 2 * size));
  return ProxyParse::Done;
}

} // namespace

ProxyParse parseProxyHeader(std::string_view bytes, ProxyHeader &header, size_t &length) {
  length = 0;
  size_t v2 = std::min(bytes.size(), kV2Signature.size());
  if (bytes.substr(0, v2) == kV2Signature.substr(0, v2) && !bytes.empty())
    return bytes.size() < kV2Signature.size() ? ProxyParse::NeedMore
                                              : parseV2(bytes, header, length);
  std::string_view v1 = "PROXY ";
  size_t n = std::min(bytes.size(), v1.size());
  if (bytes.substr(0, n) != v1.substr(0, n))
    return ProxyParse::Invalid;
  if (bytes.size() < v1.size())
    return ProxyParse::NeedMore;
  return parseV1(bytes, header, length);
}

} // namespace turnout::listener
