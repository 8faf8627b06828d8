// Route's schema: phases, variables, actions and built-in functions, as declared once in
// dsl/schema/*.def and stdlib/builtins.def. Everything that needs to know a phase or a
// variable asks here; no other code spells a variable's name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace route::schema {

enum class Phase : uint8_t {
#define ROUTE_PHASE(Id, Name, Doc) Id,
#include "schema/phases.def"
#undef ROUTE_PHASE
};

inline constexpr size_t kPhaseCount = 0
#define ROUTE_PHASE(Id, Name, Doc) +1
#include "schema/phases.def"
#undef ROUTE_PHASE
    ;

using PhaseMask = uint32_t;
constexpr PhaseMask maskOf(Phase phase) {
  return PhaseMask(1) << static_cast<unsigned>(phase);
}

inline constexpr PhaseMask kNoPhase = 0;
inline constexpr PhaseMask kRequest = maskOf(Phase::Request);
inline constexpr PhaseMask kUpstreamRequest = maskOf(Phase::UpstreamRequest);
inline constexpr PhaseMask kUpstreamResponse = maskOf(Phase::UpstreamResponse);
inline constexpr PhaseMask kResponse = maskOf(Phase::Response);
inline constexpr PhaseMask kError = maskOf(Phase::Error);
inline constexpr PhaseMask kLog = maskOf(Phase::Log);
inline constexpr PhaseMask kAllPhases =
    kRequest | kUpstreamRequest | kUpstreamResponse | kResponse | kError | kLog;
inline constexpr PhaseMask kAfterRouting =
    kUpstreamRequest | kUpstreamResponse | kResponse | kError | kLog;

struct PhaseInfo {
  Phase id;
  const char *name;
  const char *doc;
};

enum class FieldType : uint8_t { Bool, Int, String, Ip, Duration, Headers, Strings };

enum class VariableId : uint16_t {
#define ROUTE_VARIABLE(Id, Name, Type, Read, Write, Doc) Id,
#include "schema/variables.def"
#undef ROUTE_VARIABLE
};

struct VariableInfo {
  VariableId id;
  const char *name;
  FieldType type;
  PhaseMask readable;
  PhaseMask writable;
  const char *doc;
};

enum class ActionId : uint8_t {
#define ROUTE_ACTION(Id, Keyword, Allowed, Doc) Id,
#include "schema/actions.def"
#undef ROUTE_ACTION
};

struct ActionInfo {
  ActionId id;
  const char *keyword;
  PhaseMask allowed;
  const char *doc;
};

enum class BuiltinId : uint16_t {
#define ROUTE_BUILTIN(Id, Name, Signature, Purity, Doc, Example) Id,
#include "builtins.def"
#undef ROUTE_BUILTIN
};

struct BuiltinInfo {
  BuiltinId id;
  const char *name;
  const char *signature; // "(string, int) -> string"
  bool pure;
  const char *doc;
  const char *example;
};

// Why an exchange failed (error.kind): which side failed, and whether another attempt may
// follow (dsl/schema/error_kinds.def).
enum class ErrorKind : uint8_t {
#define ROUTE_ERROR_KIND(Id, Name, Status, Side, Retry, Doc) Id,
#include "schema/error_kinds.def"
#undef ROUTE_ERROR_KIND
};
enum class ErrorSide : uint8_t { Upstream, Downstream, Internal };
enum class ErrorRetry : uint8_t { NextPeer, Policy, Never };

struct ErrorKindInfo {
  ErrorKind id;
  const char *name;
  int status; // the answer the error gets, unless the error phase says otherwise
  ErrorSide side;
  ErrorRetry retry;
  const char *doc;
};

// A setting of an `upstream` block; the texts are dsl/README.md's (markdown).
struct UpstreamSettingInfo {
  const char *name;
  const char *type;
  const char *defaultValue;
  const char *doc;
};

std::span<const PhaseInfo> phases();
std::span<const VariableInfo> variables();
std::span<const ActionInfo> actions();
std::span<const BuiltinInfo> builtins();
std::span<const UpstreamSettingInfo> upstreamSettings();
std::span<const ErrorKindInfo> errorKinds();
const ErrorKindInfo &errorKind(ErrorKind id);
const ErrorKindInfo *findErrorKind(std::string_view name);

const PhaseInfo *findPhase(std::string_view name);
const VariableInfo *findVariable(std::string_view name);
const ActionInfo &action(ActionId id);
const PhaseInfo &phase(Phase id);

// True when some variable's name starts with `prefix` followed by '.', such as "upstream.req".
bool isVariablePrefix(std::string_view prefix);

// "request, error" — the names of the phases in a mask, in call order.
std::string phaseNames(PhaseMask mask);

} // namespace route::schema
