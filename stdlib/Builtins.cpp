// The one dispatcher from a built-in's number to its implementation, for the interpreter
// and the JIT alike. The numbers are the rows of builtins.def.
#include "route/abi.h"

namespace {

enum class Builtin : uint32_t {
#define ROUTE_BUILTIN(Id, Name, Signature, Purity, Doc, Example) Id,
#include "builtins.def"
#undef ROUTE_BUILTIN
};

} // namespace

extern "C" void route_call_builtin(RouteArena *arena, uint32_t id, const RouteValue *a,
                                   RouteValue *out) {
  switch (static_cast<Builtin>(id)) {
  case Builtin::Lower:
    out->s = route_Lower(arena, a[0].s);
    break;
  case Builtin::Upper:
    out->s = route_Upper(arena, a[0].s);
    break;
  case Builtin::LenString:
    out->i = route_LenString(a[0].s);
    break;
  case Builtin::LenList:
    out->i = route_LenList(a[0].list);
    break;
  case Builtin::Substr:
    out->s = route_Substr(a[0].s, a[1].i, a[2].i);
    break;
  case Builtin::Split:
    out->list = route_Split(arena, a[0].s, a[1].s);
    break;
  case Builtin::Join:
    out->s = route_Join(arena, a[0].list, a[1].s);
    break;
  case Builtin::Trim:
    out->s = route_Trim(a[0].s);
    break;
  case Builtin::Replace:
    out->s = route_Replace(arena, a[0].s, a[1].s, a[2].s);
    break;
  case Builtin::RegexReplace:
    out->s = route_RegexReplace(arena, a[0].s, a[1].regex, a[2].s);
    break;
  case Builtin::UrlDecode:
    out->s = route_UrlDecode(arena, a[0].s);
    break;
  case Builtin::UrlEncode:
    out->s = route_UrlEncode(arena, a[0].s);
    break;
  case Builtin::QueryParam:
    out->s = route_QueryParam(arena, a[0].s, a[1].s);
    break;
  case Builtin::Base64Encode:
    out->s = route_Base64Encode(arena, a[0].s);
    break;
  case Builtin::Base64Decode:
    out->s = route_Base64Decode(arena, a[0].s);
    break;
  case Builtin::Hash64:
    out->i = route_Hash64(a[0].s);
    break;
  case Builtin::StrInt:
    out->s = route_StrInt(arena, a[0].i);
    break;
  case Builtin::StrIp:
    out->s = route_StrIp(arena, a[0].ip);
    break;
  case Builtin::ParseInt:
    out->i = route_ParseInt(a[0].s, a[1].i);
    break;
  case Builtin::ParseIp:
    out->ip = route_ParseIp(a[0].s);
    break;
  case Builtin::Seconds:
    out->i = route_Seconds(a[0].i);
    break;
  case Builtin::Now:
    out->i = route_Now();
    break;
  case Builtin::Random:
    out->i = route_Random(a[0].i);
    break;
  }
}
