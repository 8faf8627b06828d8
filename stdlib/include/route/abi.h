/* The C ABI between compiled Route policies and their host.
 *
 * JIT-compiled code, the reference interpreter, the turnout runtime and routec's simulator
 * meet only here, as Varnish's VCL meets varnishd at vrt.h. Plain C: no C++ type crosses
 * it, and ROUTE_ABI_VERSION changes whenever a declaration here does.
 *
 * The built-ins are one function each, route_<Id> for every row of stdlib/builtins.def.
 * Strings are byte ranges, not NUL-terminated; strings a built-in makes live in the arena
 * it is given, which the host frees when the exchange ends.
 */
#ifndef ROUTE_ABI_H
#define ROUTE_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROUTE_ABI_VERSION 3

typedef struct RouteStr {
  const char *data;
  uint64_t size;
} RouteStr;

/* An address: IPv4 as 4 bytes and v6 = 0, IPv6 as 16 bytes and v6 = 1. */
typedef struct RouteIp {
  uint8_t bytes[16];
  uint8_t v6;
} RouteIp;

typedef struct RouteStrList {
  const RouteStr *items;
  uint64_t size;
} RouteStrList;

/* ---------------------------------------------------------------------------- memory */
typedef struct RouteArena RouteArena;
RouteArena *route_arena_create(void);
void route_arena_destroy(RouteArena *arena);
/* Frees everything allocated since creation or the last reset, keeping one block. */
void route_arena_reset(RouteArena *arena);
char *route_arena_alloc(RouteArena *arena, uint64_t size);

/* --------------------------------------------------------------------------- regexes */
/* Compiled once when a policy loads (RE2 syntax); NULL when the pattern is invalid. */
typedef struct RouteRegex RouteRegex;
RouteRegex *route_regex_compile(RouteStr pattern);
void route_regex_free(RouteRegex *regex);
/* Number of capturing groups, not counting group 0. */
uint32_t route_regex_groups(const RouteRegex *regex);
/* Unanchored search. On a match, fills groups[0..count) (group 0 is the whole match; a
 * group that did not take part is empty) and returns 1; returns 0 otherwise. */
int route_regex_match(const RouteRegex *regex, RouteStr subject, RouteStr *groups, uint32_t count);

/* Many patterns searched in one pass (RE2::Set); NULL when one is invalid or the set is
 * too large to build. */
typedef struct RouteRegexSet RouteRegexSet;
RouteRegexSet *route_regex_set_compile(const RouteStr *patterns, uint32_t count);
void route_regex_set_free(RouteRegexSet *set);
/* The indexes of the patterns that match `subject`, ascending, in `arena`; their number in
 * `*matched`. Should the one pass fail (out of memory), every index is returned, so that
 * the caller tries every pattern on its own. */
const int32_t *route_regex_set_match(const RouteRegexSet *set, RouteStr subject, RouteArena *arena,
                                     uint32_t *matched);

/* ------------------------------------------------------------------------------ acls */
/* A set of networks, searched in O(log n) over merged address ranges. */
typedef struct RouteAcl RouteAcl;
/* prefixes[i] is the prefix length of networks[i] (32 or 128 for a single address). */
RouteAcl *route_acl_create(const RouteIp *networks, const uint8_t *prefixes, uint64_t count);
void route_acl_free(RouteAcl *acl);
int route_acl_contains(const RouteAcl *acl, RouteIp address);
int route_cidr_contains(RouteIp network, uint8_t prefix, RouteIp address);

/* ------------------------------------------------------------------------------ host */
/* The exchange a policy runs on: the request, what goes upstream, what comes back and
 * what goes downstream. The host (the turnout runtime, routec's simulator) defines the
 * struct and these functions; a policy only passes the pointer through.
 *
 * Variables are named by the index of their row in dsl/schema/variables.def. Reading a
 * variable the exchange does not have yet gives "", 0 or 0.0.0.0. */
typedef struct RouteCtx RouteCtx;
RouteArena *route_ctx_arena(RouteCtx *ctx);
RouteStr route_get_str(RouteCtx *ctx, uint32_t variable);
int64_t route_get_int(RouteCtx *ctx, uint32_t variable);
RouteIp route_get_ip(RouteCtx *ctx, uint32_t variable);
/* Writes. Each returns 0, or nonzero when it refuses a value that cannot go on the wire
 * (a CR or LF in a header value, a space in a path, a status outside 200-599, ...): the
 * exchange then holds a run-time fault, and the caller reports where with route_fault and
 * ends the phase. */
int route_set_str(RouteCtx *ctx, uint32_t variable, RouteStr value);
int route_set_int(RouteCtx *ctx, uint32_t variable, int64_t value);
/* Header and string-map variables, by case-insensitive name. A header with several
 * values reads as their comma-joined list. */
RouteStr route_field_get(RouteCtx *ctx, uint32_t variable, RouteStr name);
int route_field_has(RouteCtx *ctx, uint32_t variable, RouteStr name);
int route_field_set(RouteCtx *ctx, uint32_t variable, RouteStr name, RouteStr value);
void route_field_delete(RouteCtx *ctx, uint32_t variable, RouteStr name);
/* Decisions. An upstream is named by its index in the policy's declaration order. */
int route_respond(RouteCtx *ctx, int64_t status, RouteStr body);
int route_redirect(RouteCtx *ctx, int64_t status, RouteStr location);
/* The statement whose write was refused: its file (the policy's FileId) and the byte
 * offset where it begins. */
void route_fault(RouteCtx *ctx, uint32_t file, uint32_t offset);
void route_route(RouteCtx *ctx, uint32_t upstream);
void route_retry(RouteCtx *ctx);
/* Rule `rule` (the checker's number) fired: the host counts it. */
void route_rule_hit(RouteCtx *ctx, uint32_t rule);

/* Addresses compare as IPv4-mapped IPv6: 10.0.0.1 equals ::ffff:10.0.0.1. */
int route_ip_equal(RouteIp a, RouteIp b);

/* -------------------------------------------------------------------------- built-ins */
/* Every built-in through one entry point, for back ends that call them by number: `id`
 * is the row of stdlib/builtins.def, `args` hold the arguments in the fields their types
 * use (int, bool and duration in i; string in s; ip in ip; list<string> in list; a regex
 * parameter in regex) and the result goes to the same field of `out`. */
typedef struct RouteValue {
  int64_t i;
  RouteStr s;
  RouteIp ip;
  RouteStrList list;
  const RouteRegex *regex;
} RouteValue;
void route_call_builtin(RouteArena *arena, uint32_t id, const RouteValue *args, RouteValue *out);

RouteStr route_Lower(RouteArena *arena, RouteStr s);
RouteStr route_Upper(RouteArena *arena, RouteStr s);
int64_t route_LenString(RouteStr s);
int64_t route_LenList(RouteStrList list);
RouteStr route_Substr(RouteStr s, int64_t start, int64_t count);
RouteStrList route_Split(RouteArena *arena, RouteStr s, RouteStr separator);
RouteStr route_Join(RouteArena *arena, RouteStrList list, RouteStr separator);
RouteStr route_Trim(RouteStr s);
RouteStr route_Replace(RouteArena *arena, RouteStr s, RouteStr from, RouteStr to);
RouteStr route_RegexReplace(RouteArena *arena, RouteStr s, const RouteRegex *regex,
                            RouteStr rewrite);
RouteStr route_UrlDecode(RouteArena *arena, RouteStr s);
RouteStr route_UrlEncode(RouteArena *arena, RouteStr s);
RouteStr route_QueryParam(RouteArena *arena, RouteStr query, RouteStr name);
RouteStr route_Base64Encode(RouteArena *arena, RouteStr s);
RouteStr route_Base64Decode(RouteArena *arena, RouteStr s);
int64_t route_Hash64(RouteStr s);
RouteStr route_StrInt(RouteArena *arena, int64_t value);
RouteStr route_StrIp(RouteArena *arena, RouteIp address);
int64_t route_ParseInt(RouteStr s, int64_t fallback);
RouteIp route_ParseIp(RouteStr s);
int64_t route_Seconds(int64_t nanoseconds);
int64_t route_Now(void);
int64_t route_Random(int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* ROUTE_ABI_H */
