// How routec run and routec test describe what a policy did with an exchange.
#pragma once

#include "driver/Compilation.h"
#include "simulate/Exchange.h"

#include <string>

namespace routec {

// "route web", "respond 403", "redirect 301 to https://...", "no route (404)".
std::string describeDecision(const route::Exchange &exchange, const route::Program &program);
// "policy.route:12:5" and the first line of the source the range covers.
std::string describeSource(const route::SourceManager &sources, route::SourceRange range);
// A string as a Route literal, escaped: "a\n".
std::string routeLiteral(std::string_view text);

} // namespace routec
