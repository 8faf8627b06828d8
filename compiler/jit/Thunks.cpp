#include "Thunks.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

// The IR builds RouteValue as {i64, {ptr, i64}, {[16 x i8], i8}, {ptr, i64}, ptr}.
static_assert(offsetof(RouteValue, s) == 8 && offsetof(RouteValue, ip) == 24 &&
              offsetof(RouteValue, list) == 48 && offsetof(RouteValue, regex) == 64 &&
              sizeof(RouteValue) == 72 && sizeof(RouteIp) == 17);

namespace {
std::string_view view(const RouteStr *s) {
  return {s->data ? s->data : "", static_cast<size_t>(s->size)};
}
} // namespace

namespace route::jit {

void PrefixIndex::add(std::string_view prefix, int32_t rule) {
  uint32_t node = 0;
  for (unsigned char c : prefix) {
    auto &children = nodes_[node].children;
    auto at = std::lower_bound(children.begin(), children.end(), std::make_pair(c, 0u),
                               [](const auto &a, const auto &b) { return a.first < b.first; });
    if (at != children.end() && at->first == c) {
      node = at->second;
      continue;
    }
    uint32_t child = static_cast<uint32_t>(nodes_.size());
    children.insert(at, {c, child}); // `children` is not used after nodes_ grows
    nodes_.emplace_back();
    node = child;
  }
  nodes_[node].rules.push_back(rule); // rules are added in order
}

int32_t PrefixIndex::next(std::string_view subject, int32_t from) const {
  int32_t best = -1;
  uint32_t node = 0;
  for (size_t depth = 0;; ++depth) {
    const Node &here = nodes_[node];
    auto rule = std::lower_bound(here.rules.begin(), here.rules.end(), from);
    if (rule != here.rules.end() && (best < 0 || *rule < best))
      best = *rule;
    if (depth == subject.size())
      return best;
    auto c = static_cast<unsigned char>(subject[depth]);
    auto at = std::lower_bound(here.children.begin(), here.children.end(), std::make_pair(c, 0u),
                               [](const auto &a, const auto &b) { return a.first < b.first; });
    if (at == here.children.end() || at->first != c)
      return best;
    node = at->second;
  }
}

} // namespace route::jit

extern "C" {

void rj_get_str(RouteCtx *ctx, uint32_t variable, RouteStr *out) {
  *out = route_get_str(ctx, variable);
}
void rj_get_ip(RouteCtx *ctx, uint32_t variable, RouteIp *out) {
  *out = route_get_ip(ctx, variable);
}
int32_t rj_set_str(RouteCtx *ctx, uint32_t variable, const RouteStr *value) {
  return route_set_str(ctx, variable, *value);
}
void rj_field_get(RouteCtx *ctx, uint32_t variable, const RouteStr *name, RouteStr *out) {
  *out = route_field_get(ctx, variable, *name);
}
int32_t rj_field_has(RouteCtx *ctx, uint32_t variable, const RouteStr *name) {
  return route_field_has(ctx, variable, *name);
}
int32_t rj_field_set(RouteCtx *ctx, uint32_t variable, const RouteStr *name,
                     const RouteStr *value) {
  return route_field_set(ctx, variable, *name, *value);
}
void rj_field_delete(RouteCtx *ctx, uint32_t variable, const RouteStr *name) {
  route_field_delete(ctx, variable, *name);
}
int32_t rj_respond(RouteCtx *ctx, int64_t status, const RouteStr *body) {
  return route_respond(ctx, status, *body);
}
int32_t rj_redirect(RouteCtx *ctx, int64_t status, const RouteStr *location) {
  return route_redirect(ctx, status, *location);
}
int32_t rj_str_compare(const RouteStr *a, const RouteStr *b) {
  int order = view(a).compare(view(b));
  return (order > 0) - (order < 0);
}
int32_t rj_str_starts(const RouteStr *s, const RouteStr *prefix) {
  return view(s).starts_with(view(prefix));
}
int32_t rj_str_ends(const RouteStr *s, const RouteStr *suffix) {
  return view(s).ends_with(view(suffix));
}
int32_t rj_str_contains(const RouteStr *s, const RouteStr *part) {
  return view(s).find(view(part)) != std::string_view::npos;
}
void rj_concat(RouteArena *arena, const RouteStr *a, const RouteStr *b, RouteStr *out) {
  char *data = route_arena_alloc(arena, a->size + b->size);
  if (a->size)
    __builtin_memcpy(data, a->data, a->size);
  if (b->size)
    __builtin_memcpy(data + a->size, b->data, b->size);
  *out = {data, a->size + b->size};
}
void rj_str_int(RouteArena *arena, int64_t value, RouteStr *out) {
  *out = route_StrInt(arena, value);
}
void rj_ip_bytes(RouteArena *arena, const RouteIp *ip, RouteStr *out) {
  char *data = route_arena_alloc(arena, sizeof ip->bytes);
  __builtin_memcpy(data, ip->bytes, sizeof ip->bytes);
  *out = {data, sizeof ip->bytes};
}
int32_t rj_regex_match(const RouteRegex *regex, const RouteStr *subject, RouteStr *groups,
                       uint32_t count) {
  return route_regex_match(regex, *subject, groups, count);
}
int32_t rj_acl_contains(const RouteAcl *acl, const RouteIp *address) {
  return route_acl_contains(acl, *address);
}
int32_t rj_cidr_contains(const RouteIp *network, uint32_t prefix, const RouteIp *address) {
  return route_cidr_contains(*network, static_cast<uint8_t>(prefix), *address);
}
int32_t rj_ip_equal(const RouteIp *a, const RouteIp *b) {
  return route_ip_equal(*a, *b);
}
int32_t rj_map_find_str(const route::jit::MapIndex *map, const RouteStr *key) {
  auto it = map->strings.find(view(key));
  return it == map->strings.end() ? -1 : it->second;
}
int32_t rj_map_find_int(const route::jit::MapIndex *map, int64_t key) {
  auto it = map->ints.find(key);
  return it == map->ints.end() ? -1 : it->second;
}
int32_t rj_prefix_next(const route::jit::PrefixIndex *index, const RouteStr *subject,
                       int32_t from) {
  return index->next(view(subject), from);
}
const int32_t *rj_regex_set_match(const RouteRegexSet *set, const RouteStr *subject,
                                  RouteArena *arena, uint32_t *matched) {
  return route_regex_set_match(set, *subject, arena, matched);
}
int32_t rj_strlist_contains(const RouteStrList *list, const RouteStr *item) {
  for (uint64_t i = 0; i < list->size; ++i)
    if (view(&list->items[i]) == view(item))
      return 1;
  return 0;
}

} // extern "C"
