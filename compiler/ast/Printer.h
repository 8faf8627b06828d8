// A readable dump of a (checked) module: every node with its position, its type and what
// its names resolved to. `routec dump --ast` prints it.
#pragma once

#include "ast/AST.h"

#include <string>

namespace route::ast {

std::string print(const Module &module, const SourceManager &sources);

} // namespace route::ast
