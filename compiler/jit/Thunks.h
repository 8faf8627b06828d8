// Helpers that JIT-compiled code calls, with pointer and integer arguments only so that
// their calling convention is the same in IR and in C. Private to the JIT.
#pragma once

#include "route/abi.h"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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

// A rule run's `S starts_with "literal"` prefixes as a byte trie: for a subject, the first
// rule at or after a given one whose prefix the subject starts with, in one walk of the
// subject whatever the number of rules. A rule without a prefix sits at the root.
class PrefixIndex {
public:
  PrefixIndex() : nodes_(1) {}
  void add(std::string_view prefix, int32_t rule);
  // The smallest rule >= `from` whose prefix starts `subject`; -1 when there is none.
  int32_t next(std::string_view subject, int32_t from) const;

private:
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> children; // sorted by byte
    std::vector<int32_t> rules;                               // ascending
  };
  std::vector<Node> nodes_;
};

} // namespace route::jit

extern "C" {
void rj_get_str(RouteCtx *ctx, uint32_t variable, RouteStr *out);
void rj_get_ip(RouteCtx *ctx, uint32_t variable, RouteIp *out);
int32_t rj_set_str(RouteCtx *ctx, uint32_t variable, const RouteStr *value);
void rj_field_get(RouteCtx *ctx, uint32_t variable, const RouteStr *name, RouteStr *out);
int32_t rj_field_has(RouteCtx *ctx, uint32_t variable, const RouteStr *name);
int32_t rj_field_set(RouteCtx *ctx, uint32_t variable, const RouteStr *name, const RouteStr *value);
void rj_field_delete(RouteCtx *ctx, uint32_t variable, const RouteStr *name);
int32_t rj_respond(RouteCtx *ctx, int64_t status, const RouteStr *body);
int32_t rj_redirect(RouteCtx *ctx, int64_t status, const RouteStr *location);
int32_t rj_str_compare(const RouteStr *a, const RouteStr *b);
int32_t rj_str_starts(const RouteStr *s, const RouteStr *prefix);
int32_t rj_str_ends(const RouteStr *s, const RouteStr *suffix);
int32_t rj_str_contains(const RouteStr *s, const RouteStr *part);
void rj_concat(RouteArena *arena, const RouteStr *a, const RouteStr *b, RouteStr *out);
// An int's decimal text, and an address's 16 bytes, in the arena (balancing keys' bytes).
void rj_str_int(RouteArena *arena, int64_t value, RouteStr *out);
void rj_ip_bytes(RouteArena *arena, const RouteIp *ip, RouteStr *out);
int32_t rj_regex_match(const RouteRegex *regex, const RouteStr *subject, RouteStr *groups,
                       uint32_t count);
int32_t rj_acl_contains(const RouteAcl *acl, const RouteIp *address);
int32_t rj_cidr_contains(const RouteIp *network, uint32_t prefix, const RouteIp *address);
int32_t rj_ip_equal(const RouteIp *a, const RouteIp *b);
int32_t rj_map_find_str(const route::jit::MapIndex *map, const RouteStr *key);
int32_t rj_map_find_int(const route::jit::MapIndex *map, int64_t key);
int32_t rj_prefix_next(const route::jit::PrefixIndex *index, const RouteStr *subject, int32_t from);
const int32_t *rj_regex_set_match(const RouteRegexSet *set, const RouteStr *subject,
                                  RouteArena *arena, uint32_t *matched);
int32_t rj_strlist_contains(const RouteStrList *list, const RouteStr *item);
}
