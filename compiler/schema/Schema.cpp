#include "schema/Schema.h"

namespace route::schema {
namespace {

constexpr PhaseInfo kPhases[] = {
#define ROUTE_PHASE(Id, Name, Doc) {Phase::Id, Name, Doc},
#include "schema/phases.def"
#undef ROUTE_PHASE
};

constexpr VariableInfo kVariables[] = {
#define ROUTE_VARIABLE(Id, Name, Type, Read, Write, Doc)                                           \
  {VariableId::Id, Name, FieldType::Type, Read, Write, Doc},
#include "schema/variables.def"
#undef ROUTE_VARIABLE
};

constexpr ActionInfo kActions[] = {
#define ROUTE_ACTION(Id, Keyword, Allowed, Doc) {ActionId::Id, Keyword, Allowed, Doc},
#include "schema/actions.def"
#undef ROUTE_ACTION
};

constexpr bool Pure = true;
constexpr bool Impure = false;
constexpr BuiltinInfo kBuiltins[] = {
#define ROUTE_BUILTIN(Id, Name, Signature, Purity, Doc, Example)                                   \
  {BuiltinId::Id, Name, Signature, Purity, Doc, Example},
#include "builtins.def"
#undef ROUTE_BUILTIN
};

constexpr UpstreamSettingInfo kUpstreamSettings[] = {
#define ROUTE_UPSTREAM_SETTING(Name, Type, Default, Doc) {Name, Type, Default, Doc},
#include "schema/upstream_settings.def"
#undef ROUTE_UPSTREAM_SETTING
};

constexpr ErrorKindInfo kErrorKinds[] = {
#define ROUTE_ERROR_KIND(Id, Name, Status, Side, Retry, Doc)                                       \
  {ErrorKind::Id, Name, Status, ErrorSide::Side, ErrorRetry::Retry, Doc},
#include "schema/error_kinds.def"
#undef ROUTE_ERROR_KIND
};

} // namespace

std::span<const PhaseInfo> phases() {
  return kPhases;
}
std::span<const VariableInfo> variables() {
  return kVariables;
}
std::span<const ActionInfo> actions() {
  return kActions;
}
std::span<const BuiltinInfo> builtins() {
  return kBuiltins;
}
std::span<const UpstreamSettingInfo> upstreamSettings() {
  return kUpstreamSettings;
}

std::span<const ErrorKindInfo> errorKinds() {
  return kErrorKinds;
}

const ErrorKindInfo &errorKind(ErrorKind id) {
  return kErrorKinds[static_cast<size_t>(id)];
}

const ErrorKindInfo *findErrorKind(std::string_view name) {
  for (const ErrorKindInfo &k : kErrorKinds)
    if (name == k.name)
      return &k;
  return nullptr;
}

const PhaseInfo *findPhase(std::string_view name) {
  for (const PhaseInfo &p : kPhases)
    if (name == p.name)
      return &p;
  return nullptr;
}

const VariableInfo *findVariable(std::string_view name) {
  for (const VariableInfo &v : kVariables)
    if (name == v.name)
      return &v;
  return nullptr;
}

const ActionInfo &action(ActionId id) {
  return kActions[static_cast<size_t>(id)];
}
const PhaseInfo &phase(Phase id) {
  return kPhases[static_cast<size_t>(id)];
}

bool isVariablePrefix(std::string_view prefix) {
  for (const VariableInfo &v : kVariables) {
    std::string_view name = v.name;
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix &&
        name[prefix.size()] == '.')
      return true;
  }
  return false;
}

std::string phaseNames(PhaseMask mask) {
  std::string out;
  for (const PhaseInfo &p : kPhases) {
    if (!(mask & maskOf(p.id)))
      continue;
    if (!out.empty())
      out += ", ";
    out += p.name;
  }
  return out.empty() ? "no phase" : out;
}

} // namespace route::schema
