// Route's parser: source text to AST. The only library that sees ANTLR.
#pragma once

#include "ast/AST.h"
#include "diagnostics/Diagnostics.h"

#include <memory>

namespace route {

// Limits that keep hostile input from exhausting the stack or the diagnostics.
inline constexpr int kMaxNestingDepth = 128;

// Parses one file. Syntax errors go to `diags` with their ranges; the returned module holds
// whatever could be built. Never throws.
std::unique_ptr<ast::Module> parseModule(const SourceManager &sources, FileId file,
                                         DiagnosticEngine &diags);

} // namespace route
