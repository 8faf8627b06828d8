// Helpers that JIT-compiled code calls, with pointer and integer arguments only so that
// their calling convention is the same in IR and in C. Private to the JIT.
#pragma once

#include "route/abi.h"

#include <string>
#include <string_view>
#include <unordered_map>

namespace route::jit {

// Hashes std::string and std::string_view alike, so that a lookup by a RouteStr's view
// allocates nothing.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// A map declaration's keys (or a rule run's literals), to the index of their entry.
struct MapIndex {
  std::unordered_map<std::string, int32_t, TextHash, std::equal_to<>> strings;
  std::unordered_map<int64_t, int32_t> ints;
};

} // namespace route::jit

extern "C" {
void rj_get_str(RouteCtx *ctx, uint32_t variable, RouteStr *out);
void rj_get_ip(RouteCtx *ctx, uint32_t variable, RouteIp *out);
void rj_set_str(RouteCtx *ctx, uint32_t variable, const RouteStr *value);
void rj_field_get(RouteCtx *ctx, uint32_t variable, const RouteStr *name, RouteStr *out);
int32_t rj_field_has(RouteCtx *ctx, uint32_t variable, const RouteStr *name);
void rj_field_set(RouteCtx *ctx, uint32_t variable, const RouteStr *name, const RouteStr *value);
void rj_field_delete(RouteCtx *ctx, uint32_t variable, const RouteStr *name);
void rj_respond(RouteCtx *ctx, int64_t status, const RouteStr *body);
void rj_redirect(RouteCtx *ctx, int64_t status, const RouteStr *location);
int32_t rj_str_compare(const RouteStr *a, const RouteStr *b);
int32_t rj_str_starts(const RouteStr *s, const RouteStr *prefix);
int32_t rj_str_ends(const RouteStr *s, const RouteStr *suffix);
int32_t rj_str_contains(const RouteStr *s, const RouteStr *part);
void rj_concat(RouteArena *arena, const RouteStr *a, const RouteStr *b, RouteStr *out);
int32_t rj_regex_match(const RouteRegex *regex, const RouteStr *subject, RouteStr *groups,
                       uint32_t count);
int32_t rj_acl_contains(const RouteAcl *acl, const RouteIp *address);
int32_t rj_cidr_contains(const RouteIp *network, uint32_t prefix, const RouteIp *address);
int32_t rj_ip_equal(const RouteIp *a, const RouteIp *b);
int32_t rj_map_find_str(const route::jit::MapIndex *map, const RouteStr *key);
int32_t rj_map_find_int(const route::jit::MapIndex *map, int64_t key);
int32_t rj_strlist_contains(const RouteStrList *list, const RouteStr *item);
}
