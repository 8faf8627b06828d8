// Private to the stdlib: moving between RouteStr and C++ strings.
#pragma once

#include "route/abi.h"

#include <cstring>
#include <string_view>

namespace route::stdlib {

inline std::string_view view(RouteStr s) {
  return {s.data ? s.data : "", static_cast<size_t>(s.size)};
}

// A copy of `text` in the arena, as every string a built-in returns.
inline RouteStr copy(RouteArena *arena, std::string_view text) {
  char *out = route_arena_alloc(arena, text.size());
  if (!text.empty())
    std::memcpy(out, text.data(), text.size());
  return {out, text.size()};
}

} // namespace route::stdlib
