// The concrete syntax tree of one file: ANTLR's tokens (comments included, on the hidden
// channel) and parse tree. For the tools that need every token as written: the AST
// builder and the formatter. It includes ANTLR's headers, so include it only from .cpp
// files of those libraries.
#pragma once

#include "RouteLexer.h"
#include "RouteParser.h"
#include "antlr4-runtime.h"
#include "diagnostics/Diagnostics.h"

#include <memory>

namespace route::syntax {

// Maps ANTLR's code point indices back to byte offsets. Also rejects invalid UTF-8, which
// the ANTLR runtime would otherwise throw on.
class Utf8Index {
public:
  // Returns the offset of the first invalid byte, or -1 when the text is valid.
  int64_t build(std::string_view text);
  uint32_t byteOffset(size_t codePointIndex) const {
    return offsets_[std::min(codePointIndex, offsets_.size() - 1)];
  }

private:
  std::vector<uint32_t> offsets_;
};

struct SyntaxTree {
  FileId file = kNoFile;
  Utf8Index index;
  std::unique_ptr<antlr4::ANTLRInputStream> input;
  std::unique_ptr<RouteLexer> lexer;
  std::unique_ptr<antlr4::CommonTokenStream> tokens;
  std::unique_ptr<RouteParser> parser;
  RouteParser::ProgramContext *program = nullptr; // owned by `parser`

  SourceRange range(antlr4::Token *token) const {
    return {file, index.byteOffset(token->getStartIndex()),
            index.byteOffset(token->getStopIndex() + 1)};
  }
};

// Tokenizes and parses `file`, reporting syntax errors to `diags`. Returns null when the
// text cannot be tokenized at all (bad UTF-8, nesting too deep); otherwise a tree that may
// hold error nodes, as diags says. ANTLR runtime failures are reported, never thrown.
std::unique_ptr<SyntaxTree> parseSyntax(const SourceManager &sources, FileId file,
                                        DiagnosticEngine &diags);

} // namespace route::syntax
