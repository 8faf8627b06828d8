// URL, query-string, base64 and hashing built-ins.
#include "route/Encoding.h"
#include "Text.h"

#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

namespace {

using route::stdlib::copy;
using route::stdlib::percentDecode;
using route::stdlib::view;

int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

} // namespace

namespace route::stdlib {

std::string percentDecode(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += plusIsSpace && c == '+' ? ' ' : c;
    }
  }
  return out;
}

} // namespace route::stdlib

extern "C" {

RouteStr route_UrlDecode(RouteArena *arena, RouteStr s) {
  return copy(arena, percentDecode(view(s), false));
}

RouteStr route_UrlEncode(RouteArena *arena, RouteStr s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : view(s)) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return copy(arena, out);
}

RouteStr route_QueryParam(RouteArena *arena, RouteStr query, RouteStr name) {
  std::string_view text = view(query), wanted = view(name);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view pair = text.substr(start, end - start);
    size_t equals = pair.find('=');
    std::string key = percentDecode(pair.substr(0, equals), true);
    if (key == wanted)
      return copy(arena, equals == std::string_view::npos
                             ? std::string()
                             : percentDecode(pair.substr(equals + 1), true));
    start = end + 1;
  }
  return {nullptr, 0};
}

RouteStr route_Base64Encode(RouteArena *arena, RouteStr s) {
  std::string_view in = view(s);
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t chunk = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size())
      chunk |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size())
      chunk |= static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(chunk >> 18) & 63];
    out += kBase64[(chunk >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(chunk >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[chunk & 63] : '=';
  }
  return copy(arena, out);
}

RouteStr route_Base64Decode(RouteArena *arena, RouteStr s) {
  std::string_view in = view(s);
  while (!in.empty() && in.back() == '=')
    in.remove_suffix(1);
  if (in.size() % 4 == 1)
    return {nullptr, 0};
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int value = base64Value(c);
    if (value < 0)
      return {nullptr, 0};
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return copy(arena, out);
}

int64_t route_Hash64(RouteStr s) {
  // FNV-1a: stable across builds and machines, so hash-based choices survive restarts.
  uint64_t hash = 14695981039346656037ull;
  for (uint64_t i = 0; i < s.size; ++i) {
    hash ^= static_cast<unsigned char>(s.data[i]);
    hash *= 1099511628211ull;
  }
  return static_cast<int64_t>(hash & 0x7FFFFFFFFFFFFFFFull);
}

} // extern "C"
