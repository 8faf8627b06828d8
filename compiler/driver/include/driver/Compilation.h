// The compiler driver: reads a policy and the files it imports, parses and checks them.
// routec, the LSP server and (through the back ends) the proxy all compile through here.
#pragma once

#include "diagnostics/Diagnostics.h"
#include "sema/Checker.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace route {

// One policy, loaded and checked. Owns its modules.
struct LoadedPolicy {
  Program program;
  std::vector<std::unique_ptr<ast::Module>> modules;
  bool ok = false;      // no errors in parsing or checking
  bool checked = false; // the checker ran: every file parsed, names and types are resolved
};

class Compilation {
public:
  // Policy files larger than this are refused.
  static constexpr size_t kMaxFileSize = 64u << 20;

  Compilation() : diags_(sources_) {}

  SourceManager &sources() { return sources_; }
  DiagnosticEngine &diags() { return diags_; }

  // Loads the policy in `path` and its imports, then checks it. Returns nullptr when the
  // root file itself cannot be read (an I/O problem, reported without a source range).
  LoadedPolicy *load(const std::string &path);
  // The same for a policy whose root text is given (an embedded default, an editor buffer).
  LoadedPolicy *loadText(const std::string &path, std::string text);
  // Makes `path` read as `text` when imported, without the file system (the sources an
  // artifact carries).
  void provide(const std::string &path, std::string text);
  // Loads a policy from its files alone, as an artifact carries them: path and text, the
  // root first, then the files it imports.
  LoadedPolicy *loadFiles(const std::vector<std::pair<std::string, std::string>> &files);

private:
  struct ImportFrame;
  LoadedPolicy *finish(std::unique_ptr<LoadedPolicy> policy, FileId root);
  // `written` is the path as the import spelled it, for messages.
  FileId readFile(const std::string &path, const std::string &written, SourceRange importedFrom);
  void loadModule(LoadedPolicy &policy, FileId file, std::vector<FileId> &stack);

  SourceManager sources_;
  DiagnosticEngine diags_;
  std::vector<std::string> canonicalPaths_; // by FileId
  std::vector<std::unique_ptr<LoadedPolicy>> policies_;
};

} // namespace route
