#include "driver/Compilation.h"

#include "parse/Parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace route {

namespace fs = std::filesystem;

namespace {
std::string canonical(const std::string &path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::path(path), ec);
  return ec ? path : p.string();
}
} // namespace

FileId Compilation::readFile(const std::string &path, const std::string &written,
                             SourceRange importedFrom) {
  std::string key = canonical(path);
  for (FileId id = 0; id < canonicalPaths_.size(); ++id)
    if (canonicalPaths_[id] == key)
      return id;
  auto fail = [&](const std::string &why) {
    if (importedFrom.valid())
      diags_.error("import", importedFrom, fmt::format("cannot import '{}': {}", written, why));
    else
      diags_.error("io", {}, fmt::format("cannot read '{}': {}", path, why));
    return kNoFile;
  };
  std::error_code ec;
  if (!fs::exists(path, ec))
    return fail(std::strerror(ENOENT));
  // Devices and pipes could block or never end: a policy is a regular file.
  if (!fs::is_regular_file(path, ec))
    return fail("not a regular file");
  if (fs::file_size(path, ec) > kMaxFileSize)
    return fail(fmt::format("larger than {} MiB", kMaxFileSize >> 20));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  FileId id = sources_.add(path, text.str());
  canonicalPaths_.resize(id + 1);
  canonicalPaths_[id] = key;
  return id;
}

void Compilation::loadModule(LoadedPolicy &policy, FileId file, std::vector<FileId> &stack) {
  policy.program.imports.resize(sources_.fileCount());
  auto module = parseModule(sources_, file, diags_);
  ast::Module *raw = module.get();
  policy.modules.push_back(std::move(module));
  policy.program.modules.push_back(raw);
  stack.push_back(file);
  for (ast::DeclPtr &decl : raw->decls) {
    if (decl->kind != ast::DeclKind::Import)
      continue;
    auto &import = ast::as<ast::ImportDecl>(*decl);
    fs::path base = fs::path(sources_.path(file)).parent_path();
    std::string target = (base / import.path).lexically_normal().string();
    FileId id = readFile(target, import.path, import.nameRange);
    if (id == kNoFile)
      continue;
    import.target = id;
    policy.program.imports.resize(sources_.fileCount());
    auto onStack = std::find(stack.begin(), stack.end(), id);
    if (onStack != stack.end()) {
      std::string chain;
      auto name = [&](FileId f) { return fs::path(sources_.path(f)).filename().string(); };
      for (auto it = onStack; it != stack.end(); ++it)
        chain += name(*it) + " imports ";
      chain += name(id);
      diags_.error("import-cycle", import.nameRange, "import cycle: " + chain)
          .withHint("move what both files need into a third file that both import");
      continue;
    }
    auto &imports = policy.program.imports[file];
    if (std::find(imports.begin(), imports.end(), id) != imports.end()) {
      diags_.warning("duplicate-import", import.nameRange,
                     fmt::format("'{}' is imported twice", import.path));
      continue;
    }
    imports.push_back(id);
    bool loaded = false;
    for (ast::Module *m : policy.program.modules)
      loaded |= m->file == id;
    if (!loaded)
      loadModule(policy, id, stack);
  }
  stack.pop_back();
}

LoadedPolicy *Compilation::finish(std::unique_ptr<LoadedPolicy> policy, FileId root) {
  size_t errorsBefore = diags_.errorEvents();
  policy->program.root = root;
  std::vector<FileId> stack;
  loadModule(*policy, root, stack);
  policy->program.imports.resize(sources_.fileCount());
  // Semantic errors on a tree that did not parse would mostly echo the syntax errors.
  if (diags_.errorEvents() == errorsBefore) {
    check(policy->program, diags_);
    policy->checked = true;
  }
  policy->ok = diags_.errorEvents() == errorsBefore;
  policies_.push_back(std::move(policy));
  return policies_.back().get();
}

LoadedPolicy *Compilation::load(const std::string &path) {
  FileId root = readFile(path, path, {});
  if (root == kNoFile)
    return nullptr;
  return finish(std::make_unique<LoadedPolicy>(), root);
}

void Compilation::provide(const std::string &path, std::string text) {
  FileId id = sources_.add(path, std::move(text));
  canonicalPaths_.resize(id + 1);
  canonicalPaths_[id] = canonical(path);
}

LoadedPolicy *Compilation::loadText(const std::string &path, std::string text) {
  FileId root = sources_.add(path, std::move(text));
  canonicalPaths_.resize(root + 1);
  canonicalPaths_[root] = canonical(path);
  return finish(std::make_unique<LoadedPolicy>(), root);
}

LoadedPolicy *
Compilation::loadFiles(const std::vector<std::pair<std::string, std::string>> &files) {
  for (size_t i = 1; i < files.size(); ++i)
    provide(files[i].first, files[i].second);
  return loadText(files.front().first, files.front().second);
}

} // namespace route
