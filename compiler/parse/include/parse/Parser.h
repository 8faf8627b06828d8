// Route's parser: source text to AST. It and the formatter are the only libraries that see
// ANTLR (through parse/SyntaxTree.h).
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
