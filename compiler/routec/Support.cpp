#include "routec/Support.h"

#include "routec/Commands.h"

#include <fmt/format.h>

#include <cstdio>

namespace routec {

route::LoadedPolicy *loadPolicy(route::Compilation &compilation, const std::string &path,
                                int &exitCode) {
  route::LoadedPolicy *policy = compilation.load(path);
  std::fputs(compilation.diags().renderText().c_str(), stderr);
  if (!policy) {
    exitCode = kExitUsage;
    return nullptr;
  }
  if (!policy->ok) {
    exitCode = kExitErrors;
    return nullptr;
  }
  return policy;
}

std::string describeDecision(const route::Exchange &x, const route::Program &program) {
  using Kind = route::Decision::Kind;
  switch (x.decision.kind) {
  case Kind::Route:
    return fmt::format("route {}", program.upstreams[x.decision.upstream]->name);
  case Kind::Respond:
    return fmt::format("respond {}", x.decision.status);
  case Kind::Redirect:
    return fmt::format("redirect {} to {}", x.decision.status, x.decision.location);
  default:
    return "no route (404)";
  }
}

std::string describeSource(const route::SourceManager &sources, route::SourceRange range) {
  route::LineColumn lc = sources.lineColumn(range.file, range.begin);
  std::string_view text = sources.slice(range);
  text = text.substr(0, text.find('\n'));
  std::string shown(text.substr(0, 80));
  if (text.size() > 80)
    shown += "...";
  return fmt::format("{}:{}:{}  {}", sources.path(range.file), lc.line, lc.column, shown);
}

} // namespace routec
