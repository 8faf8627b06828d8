// String built-ins. Indexes and lengths are in bytes; out-of-range arguments are clipped,
// never an error: a policy has no run-time faults.
#include "Text.h"

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

namespace {

using route::stdlib::copy;
using route::stdlib::view;

template <typename Map> RouteStr mapBytes(RouteArena *arena, RouteStr s, Map map) {
  char *out = route_arena_alloc(arena, s.size);
  for (uint64_t i = 0; i < s.size; ++i)
    out[i] = map(s.data[i]);
  return {out, s.size};
}

} // namespace

extern "C" {

RouteStr route_Lower(RouteArena *arena, RouteStr s) {
  return mapBytes(arena, s, [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; });
}

RouteStr route_Upper(RouteArena *arena, RouteStr s) {
  return mapBytes(arena, s, [](char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; });
}

int64_t route_LenString(RouteStr s) {
  return static_cast<int64_t>(s.size);
}

int64_t route_LenList(RouteStrList list) {
  return static_cast<int64_t>(list.size);
}

RouteStr route_Substr(RouteStr s, int64_t start, int64_t count) {
  int64_t size = static_cast<int64_t>(s.size);
  if (start < 0)
    start = 0;
  if (start > size)
    start = size;
  if (count < 0)
    count = 0;
  if (count > size - start)
    count = size - start;
  return {s.data + start, static_cast<uint64_t>(count)};
}

RouteStrList route_Split(RouteArena *arena, RouteStr s, RouteStr separator) {
  std::string_view text = view(s), sep = view(separator);
  if (sep.empty()) { // one piece per byte, as most languages split on ""
    auto *items = reinterpret_cast<RouteStr *>(route_arena_alloc(arena, sizeof(RouteStr) * s.size));
    for (uint64_t i = 0; i < s.size; ++i)
      items[i] = {s.data + i, 1};
    return {items, s.size};
  }
  uint64_t pieces = 1;
  for (size_t at = text.find(sep); at != std::string_view::npos;
       at = text.find(sep, at + sep.size()))
    ++pieces;
  auto *items = reinterpret_cast<RouteStr *>(route_arena_alloc(arena, sizeof(RouteStr) * pieces));
  size_t start = 0;
  for (uint64_t i = 0; i < pieces; ++i) {
    size_t end = i + 1 < pieces ? text.find(sep, start) : text.size();
    items[i] = {s.data + start, end - start};
    start = end + sep.size();
  }
  return {items, pieces};
}

RouteStr route_Join(RouteArena *arena, RouteStrList list, RouteStr separator) {
  uint64_t size = list.size ? separator.size * (list.size - 1) : 0;
  for (uint64_t i = 0; i < list.size; ++i)
    size += list.items[i].size;
  char *out = route_arena_alloc(arena, size);
  char *at = out;
  for (uint64_t i = 0; i < list.size; ++i) {
    if (i > 0 && separator.size) {
      std::memcpy(at, separator.data, separator.size);
      at += separator.size;
    }
    if (list.items[i].size)
      std::memcpy(at, list.items[i].data, list.items[i].size);
    at += list.items[i].size;
  }
  return {out, size};
}

RouteStr route_Trim(RouteStr s) {
  std::string_view text = view(s);
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos)
    return {s.data, 0};
  size_t end = text.find_last_not_of(" \t");
  return {s.data + begin, end - begin + 1};
}

RouteStr route_Replace(RouteArena *arena, RouteStr s, RouteStr from, RouteStr to) {
  std::string_view text = view(s), needle = view(from);
  if (needle.empty())
    return s;
  std::string out;
  size_t start = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, start)) {
    out.append(text.substr(start, at - start));
    out.append(view(to));
    start = at + needle.size();
  }
  out.append(text.substr(start));
  return copy(arena, out);
}

RouteStr route_StrInt(RouteArena *arena, int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return copy(arena, std::string_view(buffer, end - buffer));
}

int64_t route_ParseInt(RouteStr s, int64_t fallback) {
  std::string_view text = view(route_Trim(s));
  if (!text.empty() && text.front() == '+')
    text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return fallback;
  return value;
}

} // extern "C"
