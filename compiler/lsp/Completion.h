// Completion: what may be written at the cursor, scoped to where it is. The place is read
// from the tokens before the cursor, which half-typed text still has, and the declared
// names from the last analysis of the buffer.
#pragma once

#include "Analysis.h"

#include <string>
#include <vector>

namespace route::lsp {

struct CompletionItem {
  std::string label;
  int kind = 0; // the protocol's CompletionItemKind
  std::string detail;
  std::string documentation; // markdown
};

struct Completions {
  uint32_t replaceBegin = 0; // the word being typed runs from here to the cursor
  std::vector<CompletionItem> items;
};

Completions complete(const std::string &text, uint32_t offset, const Analysis &analysis);

} // namespace route::lsp
