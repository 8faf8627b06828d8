#include "exchange/TraceContext.h"

namespace route::trace {

namespace {

// Lowercase hex into `out`; false on any other character.
bool unhex(std::string_view text, uint8_t *out) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    int high = digit(text[i]), low = digit(text[i + 1]);
    if (high < 0 || low < 0)
      return false;
    out[i / 2] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

template <size_t N> bool allZero(const std::array<uint8_t, N> &bytes) {
  for (uint8_t b : bytes)
    if (b)
      return false;
  return true;
}

} // namespace

std::optional<TraceParent> parseTraceParent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2
  constexpr size_t kLength = 55;
  if (value.size() < kLength || value[2] != '-' || value[35] != '-' || value[52] != '-')
    return std::nullopt;
  uint8_t version = 0;
  if (!unhex(value.substr(0, 2), &version) || version == 0xff)
    return std::nullopt;
  if (version == 0 ? value.size() != kLength : value.size() > kLength && value[kLength] != '-')
    return std::nullopt;
  TraceParent parent;
  if (!unhex(value.substr(3, 32), parent.traceId.data()) ||
      !unhex(value.substr(36, 16), parent.parentId.data()) ||
      !unhex(value.substr(53, 2), &parent.flags) || allZero(parent.traceId) ||
      allZero(parent.parentId))
    return std::nullopt;
  return parent;
}

std::string hex(const uint8_t *bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::string formatTraceParent(const TraceParent &parent) {
  std::string out = "00-";
  out += hex(parent.traceId.data(), parent.traceId.size());
  out += '-';
  out += hex(parent.parentId.data(), parent.parentId.size());
  out += '-';
  out += hex(&parent.flags, 1);
  return out;
}

} // namespace route::trace
