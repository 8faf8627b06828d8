// A readable dump of a (checked) module: every node with its position, its type and what
// its names resolved to. `routec dump --ast` prints it.
#pragma once

#include "ast/AST.h"

#include <string>

namespace route::ast {

std::string print(const Module &module, const SourceManager &sources);

// Values as Route literals: "a\n" (escaped), 1m30s.
std::string stringLiteral(std::string_view text);
std::string durationLiteral(int64_t nanoseconds);

} // namespace route::ast
