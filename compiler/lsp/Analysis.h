// One editor buffer compiled exactly as `routec check` compiles it (imports read from the
// other open buffers first, then the disk), and what an editor asks of the result: the
// thing under the cursor, its description, its definition, the outline.
#pragma once

#include "driver/Compilation.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace route::lsp {

struct Hover {
  std::string markdown;
  SourceRange range; // what the description is of
};

struct Symbol {
  std::string name;
  std::string detail;
  int kind = 0; // the protocol's SymbolKind
  SourceRange range;
  SourceRange selection;
  std::vector<Symbol> children;
};

// A variable's doc and the phases that read and write it (markdown), as hover and
// completion show it.
std::string variableDoc(const schema::VariableInfo &variable);

class Analysis {
public:
  // `overlays`: path -> text of the other open buffers.
  Analysis(const std::string &path, const std::string &text,
           const std::map<std::string, std::string> &overlays);

  const SourceManager &sources() const { return compilation_.sources(); }
  const DiagnosticEngine &diags() const { return compilation_.diags(); }
  FileId root() const { return root_; }
  // Every module the buffer's policy holds, the buffer's own first; parsed even when the
  // policy has errors, checked (types, resolved names) only when it parses.
  const std::vector<ast::Module *> &modules() const { return policy_->program.modules; }
  const ast::Module *rootModule() const;
  bool checked() const { return checked_; }
  // The files the compilation read, the buffer's own first.
  std::vector<std::string> files() const;

  std::optional<Hover> hover(uint32_t offset) const;
  std::optional<SourceRange> definition(uint32_t offset) const;
  std::vector<Symbol> symbols() const;

private:
  mutable Compilation compilation_;
  LoadedPolicy *policy_ = nullptr;
  FileId root_ = kNoFile;
  bool checked_ = false;
};

} // namespace route::lsp
