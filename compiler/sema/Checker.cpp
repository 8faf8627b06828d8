#include "CheckerImpl.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>

namespace route {

bool check(Program &program, DiagnosticEngine &diags) {
  return sema::Checker(program, diags).run();
}

namespace sema {

bool Checker::run() {
  size_t errorsBefore = diags_.errorEvents();
  computeVisibility();
  collectDeclarations();
  for (ast::Module *module : program_.modules)
    for (ast::DeclPtr &decl : module->decls)
      checkDeclaration(*decl);
  checkRecursion();
  bool clean = diags_.errorEvents() == errorsBefore;
  // Lints read a fully checked tree; on a broken one they would only add noise.
  if (clean) {
    lintUnused();
    lintAllShadowedRules();
    numberRules();
  }
  return diags_.errorEvents() == errorsBefore;
}

namespace {

std::string_view ruleAction(ast::StmtKind kind) {
  switch (kind) {
  case ast::StmtKind::Assign:
    return "set";
  case ast::StmtKind::Delete:
    return "delete";
  case ast::StmtKind::Respond:
    return "respond";
  case ast::StmtKind::Redirect:
    return "redirect";
  case ast::StmtKind::Route:
    return "route";
  case ast::StmtKind::Retry:
    return "retry";
  default:
    return {};
  }
}

void numberRules(ast::Block &block, std::vector<Program::Rule> &rules) {
  for (ast::StmtPtr &stmt : block.stmts) {
    if (stmt->kind == ast::StmtKind::If) {
      auto &s = ast::as<ast::IfStmt>(*stmt);
      for (ast::IfStmt::Branch &branch : s.branches) {
        branch.rule = static_cast<uint32_t>(rules.size());
        rules.push_back({branch.condition->range, "if"});
        numberRules(branch.body, rules);
      }
      if (s.elseBlock)
        numberRules(*s.elseBlock, rules);
    } else if (std::string_view action = ruleAction(stmt->kind); !action.empty()) {
      stmt->rule = static_cast<uint32_t>(rules.size());
      rules.push_back({stmt->range, action});
    }
  }
}

} // namespace

void Checker::numberRules() {
  program_.rules.clear();
  for (ast::Module *module : program_.modules)
    for (ast::DeclPtr &decl : module->decls) {
      if (decl->kind == ast::DeclKind::Phase)
        route::sema::numberRules(ast::as<ast::PhaseDecl>(*decl).body, program_.rules);
      else if (decl->kind == ast::DeclKind::Func)
        route::sema::numberRules(ast::as<ast::FuncDecl>(*decl).body, program_.rules);
    }
}

void Checker::computeVisibility() {
  // A file sees its own declarations and those of the files it imports itself: what it
  // uses is named at its top, not inherited from what its imports import.
  size_t files = program_.imports.size();
  visible_.assign(files, {});
  for (FileId file = 0; file < files; ++file) {
    visible_[file].insert(file);
    visible_[file].insert(program_.imports[file].begin(), program_.imports[file].end());
  }
}

bool Checker::isReserved(const std::string &name, SourceRange at, const char *what) {
  // Roots of the variables' names, and `match`: no declaration may take them.
  if (isReservedRoot(name) || name == "match") {
    diags_.error(
        "reserved-name", at,
        fmt::format("'{}' is reserved for request variables and cannot name {}", name, what));
    return true;
  }
  for (const schema::BuiltinInfo &b : schema::builtins()) {
    if (name == b.name) {
      diags_.error("reserved-name", at,
                   fmt::format("'{}' is a built-in function and cannot name {}", name, what));
      return true;
    }
  }
  return false;
}

void Checker::collectDeclarations() {
  for (ast::Module *module : program_.modules) {
    for (ast::DeclPtr &declPtr : module->decls) {
      ast::Decl &decl = *declPtr;
      switch (decl.kind) {
      case ast::DeclKind::Import:
        break;
      case ast::DeclKind::Phase: {
        auto &phase = ast::as<ast::PhaseDecl>(decl);
        const schema::PhaseInfo *info = schema::findPhase(decl.name);
        if (!info) {
          std::vector<std::string> names;
          for (const schema::PhaseInfo &p : schema::phases())
            names.push_back(p.name);
          auto &d = diags_.error("unknown-phase", decl.nameRange,
                                 fmt::format("unknown phase '{}'", decl.name));
          if (auto guess = suggest(decl.name, names))
            d.withHint(fmt::format("did you mean '{}'?", *guess));
          else
            d.withHint("phases are " + schema::phaseNames(schema::kAllPhases));
          break;
        }
        phase.phase = info->id;
        auto &slot = program_.phases[static_cast<size_t>(info->id)];
        if (slot) {
          diags_
              .error("duplicate", decl.nameRange,
                     fmt::format("phase '{}' is handled twice", decl.name))
              .withNote(slot->nameRange, "first handled here")
              .withHint("merge the two blocks; each phase has one handler");
          break;
        }
        slot = &phase;
        break;
      }
      case ast::DeclKind::Test: {
        auto &test = ast::as<ast::TestDecl>(decl);
        for (const ast::TestDecl *other : program_.tests) {
          if (other->name == test.name) {
            diags_
                .error("duplicate", test.nameRange,
                       fmt::format("test \"{}\" is declared twice", test.name))
                .withNote(other->nameRange, "first declared here");
            break;
          }
        }
        program_.tests.push_back(&test);
        break;
      }
      default: {
        // Signatures first, so that calls type-check whatever the declaration order; every
        // function gets one, even one whose name is refused below, as its body is checked.
        if (decl.kind == ast::DeclKind::Func)
          resolveSignature(ast::as<ast::FuncDecl>(decl));
        if (decl.name.empty() || isReserved(decl.name, decl.nameRange, ast::describe(decl.kind)))
          break;
        auto [it, inserted] = globals_.try_emplace(decl.name, &decl);
        if (!inserted) {
          diags_
              .error("duplicate", decl.nameRange,
                     fmt::format("'{}' is already declared as {} {}", decl.name,
                                 it->second->kind == ast::DeclKind::Acl ||
                                         it->second->kind == ast::DeclKind::Upstream
                                     ? "an"
                                     : "a",
                                 ast::describe(it->second->kind)))
              .withNote(it->second->nameRange, "first declared here");
          break;
        }
        if (decl.kind == ast::DeclKind::Upstream)
          program_.upstreams.push_back(&ast::as<ast::UpstreamDecl>(decl));
      }
      }
    }
  }
}

void Checker::resolveSignature(ast::FuncDecl &fn) {
  for (size_t i = 0; i < fn.params.size(); ++i) {
    isReserved(fn.params[i].name, fn.params[i].range, "a parameter");
    fn.params[i].type = resolveType(fn.paramTypes[i]);
    for (size_t j = 0; j < i; ++j)
      if (fn.params[j].name == fn.params[i].name)
        diags_.error("duplicate", fn.params[i].range,
                     fmt::format("parameter '{}' is declared twice", fn.params[i].name));
  }
  fn.returnType = resolveType(fn.returnTypeSyntax);
}

ast::Decl *Checker::lookupGlobal(const std::string &name, SourceRange at, bool reportInvisible) {
  auto it = globals_.find(name);
  if (it == globals_.end())
    return nullptr;
  ast::Decl *decl = it->second;
  FileId from = at.file;
  if (from < visible_.size() && !visible_[from].count(decl->nameRange.file)) {
    if (reportInvisible)
      diags_
          .error("not-imported", at,
                 fmt::format("'{}' is declared in a file that this file does not import", name))
          .withNote(decl->nameRange, "declared here")
          .withHint(fmt::format("add: import \"{}\"",
                                std::filesystem::path(diags_.sources().path(decl->nameRange.file))
                                    .filename()
                                    .string()));
    return nullptr;
  }
  return decl;
}

std::vector<std::string> Checker::visibleNames(FileId file) const {
  std::vector<std::string> names;
  for (const auto &[name, decl] : globals_)
    if (file >= visible_.size() || visible_[file].count(decl->nameRange.file))
      names.push_back(name);
  for (const auto &scope : scopes_)
    for (const ast::LocalBinding *local : scope)
      names.push_back(local->name);
  std::sort(names.begin(), names.end());
  return names;
}

const Type *Checker::resolveType(const ast::TypeSyntax &syntax) {
  static const std::pair<const char *, TypeKind> simple[] = {
      {"bool", TypeKind::Bool},   {"int", TypeKind::Int},   {"string", TypeKind::String},
      {"ip", TypeKind::Ip},       {"cidr", TypeKind::Cidr}, {"duration", TypeKind::Duration},
      {"regex", TypeKind::Regex}, {"acl", TypeKind::Acl},   {"upstream", TypeKind::Upstream},
  };
  auto arity = [&](size_t n) {
    if (syntax.args.size() == n)
      return true;
    diags_.error(
        "bad-type", syntax.range,
        fmt::format("type '{}' takes {} type argument{}", syntax.name, n, n == 1 ? "" : "s"));
    return false;
  };
  for (const auto &[name, kind] : simple)
    if (syntax.name == name)
      return arity(0) ? types().get(kind) : types().error();
  if (syntax.name == "list")
    return arity(1) ? types().list(resolveType(syntax.args[0])) : types().error();
  if (syntax.name == "map")
    return arity(2) ? types().map(resolveType(syntax.args[0]), resolveType(syntax.args[1]))
                    : types().error();
  if (syntax.name.empty())
    return types().error();
  std::vector<std::string> names = {"bool", "int", "string", "ip",       "cidr", "duration",
                                    "list", "map", "acl",    "upstream", "regex"};
  auto &d = diags_.error("bad-type", syntax.range, fmt::format("unknown type '{}'", syntax.name));
  if (auto guess = suggest(syntax.name, names))
    d.withHint(fmt::format("did you mean '{}'?", *guess));
  return types().error();
}

void Checker::checkRecursion() {
  // Functions are total: a call cycle is an error, reported once at a call that closes it.
  std::map<const ast::FuncDecl *, int> state; // 1: on the path, 2: done
  std::function<bool(const ast::FuncDecl *)> visit = [&](const ast::FuncDecl *fn) {
    state[fn] = 1;
    for (const auto &[callee, at] : calls_[fn]) {
      if (state[callee] == 1) {
        diags_
            .error(
                "recursion", at,
                fmt::format("'{}' calls itself, directly or through other functions", callee->name))
            .withHint("functions may not recurse, so that every policy terminates");
        return true;
      }
      if (state[callee] == 0 && visit(callee))
        return true;
    }
    state[fn] = 2;
    return false;
  };
  // In the order the functions are written, not the order of their addresses: the same
  // cycle is reported at the same call every time.
  std::vector<const ast::FuncDecl *> functions;
  for (const auto &[fn, unused] : calls_)
    functions.push_back(fn);
  std::sort(functions.begin(), functions.end(), [](const ast::FuncDecl *a, const ast::FuncDecl *b) {
    return std::pair(a->range.file, a->range.begin) < std::pair(b->range.file, b->range.begin);
  });
  for (const ast::FuncDecl *fn : functions)
    if (state[fn] == 0)
      visit(fn);
}

size_t editDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, the commonest typo.
  // Three rows suffice: the current one, the one above, and the one above that.
  std::vector<size_t> twoUp(b.size() + 1), up(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    up[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      row[j] = std::min({up[j] + 1, row[j - 1] + 1, up[j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        row[j] = std::min(row[j], twoUp[j - 2] + 1);
    }
    std::swap(twoUp, up);
    std::swap(up, row);
  }
  return up[b.size()];
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string> &candidates) {
  if (word.size() > 64)
    return std::nullopt;
  std::optional<std::string> best;
  size_t bestDistance = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string &candidate : candidates) {
    size_t lengthGap = candidate.size() > word.size() ? candidate.size() - word.size()
                                                      : word.size() - candidate.size();
    if (lengthGap >= bestDistance) // the distance is at least the difference in length
      continue;
    size_t distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

std::optional<std::string> Checker::suggest(std::string_view word,
                                            const std::vector<std::string> &candidates) {
  // A file full of unknown names must not cost names x declarations comparisons.
  if (suggestionsLeft_ == 0)
    return std::nullopt;
  --suggestionsLeft_;
  return closest(word, candidates);
}

} // namespace sema
} // namespace route
