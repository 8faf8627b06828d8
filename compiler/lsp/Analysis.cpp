#include "Analysis.h"

#include "ast/Printer.h"
#include "ast/Walk.h"
#include "sema/Constants.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

namespace route::lsp {

namespace {

using schema::phaseNames;

bool within(const SourceRange &range, FileId file, uint32_t offset) {
  return range.valid() && range.file == file && range.begin <= offset && offset <= range.end;
}

// What lies under an offset of one file: the declaration, the statement and every
// expression around it, and the name it is on when it is a name that declares something.
struct Found {
  const ast::Decl *decl = nullptr;
  const ast::Decl *declName = nullptr;            // on a declaration's own name
  const ast::LocalBinding *binding = nullptr;     // on a `let`'s or parameter's name
  const ast::UpstreamProperty *setting = nullptr; // on an upstream setting's name
  const ast::TestStep *routeStep = nullptr;       // on the upstream of `expect route NAME`
  const ast::Stmt *action = nullptr;              // on the keyword of respond, route, ...
  std::vector<const ast::Expr *> exprs;           // innermost first
};

class Locator {
public:
  Locator(FileId file, uint32_t offset) : file_(file), offset_(offset) {}

  Found find(const ast::Module &module) {
    for (const ast::DeclPtr &decl : module.decls)
      if (in(decl->range))
        declaration(*decl);
    std::stable_sort(found_.exprs.begin(), found_.exprs.end(), [](auto *a, auto *b) {
      return a->range.end - a->range.begin < b->range.end - b->range.begin;
    });
    return std::move(found_);
  }

private:
  bool in(const SourceRange &range) const { return within(range, file_, offset_); }

  void declaration(const ast::Decl &decl) {
    found_.decl = &decl;
    if (decl.kind != ast::DeclKind::Import && in(decl.nameRange))
      found_.declName = &decl;
    switch (decl.kind) {
    case ast::DeclKind::Import:
      break;
    case ast::DeclKind::Upstream:
      for (const ast::UpstreamProperty &property : ast::as<ast::UpstreamDecl>(decl).properties) {
        if (in(property.nameRange))
          found_.setting = &property;
        expr(property.value.get());
      }
      break;
    case ast::DeclKind::Acl:
      for (const ast::ExprPtr &entry : ast::as<ast::AclDecl>(decl).entries)
        expr(entry.get());
      break;
    case ast::DeclKind::Map:
      for (const ast::MapEntry &entry : ast::as<ast::MapDecl>(decl).entries) {
        expr(entry.key.get());
        expr(entry.value.get());
      }
      break;
    case ast::DeclKind::Const:
      expr(ast::as<ast::ConstDecl>(decl).value.get());
      break;
    case ast::DeclKind::Func:
      for (const ast::LocalBinding &param : ast::as<ast::FuncDecl>(decl).params)
        if (in(param.range))
          found_.binding = &param;
      block(ast::as<ast::FuncDecl>(decl).body);
      break;
    case ast::DeclKind::Phase:
      block(ast::as<ast::PhaseDecl>(decl).body);
      break;
    case ast::DeclKind::Test:
      for (const ast::TestStep &step : ast::as<ast::TestDecl>(decl).steps) {
        if (!in(step.range))
          continue;
        if (step.kind == ast::TestStepKind::ExpectRoute && in(step.wordRange))
          found_.routeStep = &step;
        expr(step.first.get());
        expr(step.second.get());
      }
      break;
    }
  }

  void block(const ast::Block &body) {
    static constexpr std::pair<ast::StmtKind, const char *> kKeywords[] = {
        {ast::StmtKind::Respond, "respond"},
        {ast::StmtKind::Redirect, "redirect"},
        {ast::StmtKind::Route, "route"},
        {ast::StmtKind::Retry, "retry"}};
    ast::forEachStatement(body, [&](const ast::Stmt &stmt) {
      if (!in(stmt.range))
        return;
      for (auto [kind, keyword] : kKeywords)
        if (stmt.kind == kind && offset_ <= stmt.range.begin + std::strlen(keyword))
          found_.action = &stmt;
      if (stmt.kind == ast::StmtKind::Let && in(ast::as<ast::LetStmt>(stmt).binding.range))
        found_.binding = &ast::as<ast::LetStmt>(stmt).binding;
    });
    ast::forEachExpression(body, [&](const ast::Expr &e, ast::ExprRole) { expr(&e); });
  }

  void expr(const ast::Expr *e) {
    if (!e || !in(e->range))
      return;
    found_.exprs.push_back(e);
    ast::forEachChild(*e, [this](const ast::Expr &child) { expr(&child); });
  }

  FileId file_;
  uint32_t offset_;
  Found found_;
};

std::string code(const std::string &text) {
  return "```route\n" + text + "\n```";
}

std::string typeText(const ast::TypeSyntax &type) {
  std::string out = type.name;
  if (!type.args.empty()) {
    std::vector<std::string> args;
    for (const ast::TypeSyntax &arg : type.args)
      args.push_back(typeText(arg));
    out += fmt::format("<{}>", fmt::join(args, ", "));
  }
  return out;
}

std::string signatureOf(const ast::FuncDecl &f) {
  std::vector<std::string> params;
  for (size_t i = 0; i < f.params.size(); ++i)
    params.push_back(f.params[i].name + ": " +
                     (i < f.paramTypes.size() ? typeText(f.paramTypes[i]) : "?"));
  return fmt::format("fn {}({}) -> {}", f.name, fmt::join(params, ", "),
                     typeText(f.returnTypeSyntax));
}

std::string valueText(const sema::ConstValue &value, const Type *type) {
  return std::visit(
      [&](const auto &v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>)
          return "";
        else if constexpr (std::is_same_v<V, bool>)
          return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, int64_t>)
          return type && type->kind() == TypeKind::Duration ? ast::durationLiteral(v)
                                                            : std::to_string(v);
        else if constexpr (std::is_same_v<V, std::string>)
          return ast::stringLiteral(v.size() > 200 ? v.substr(0, 200) + "..." : v);
        else
          return v.str();
      },
      value.value);
}

std::string variableHover(const schema::VariableInfo &variable, const Type *type) {
  return code(fmt::format("{}: {}", variable.name, type ? type->str() : "?")) + "\n\n" +
         variableDoc(variable);
}

std::string bindingHover(const ast::LocalBinding &binding, bool parameter) {
  return code(fmt::format("{} {}: {}", parameter ? "(parameter)" : "let", binding.name,
                          binding.type ? binding.type->str() : "?"));
}

std::string builtinHover(const std::string &name, std::optional<schema::BuiltinId> chosen) {
  std::string out;
  for (const schema::BuiltinInfo &b : schema::builtins()) {
    if (b.name != name || (chosen && b.id != *chosen))
      continue;
    if (!out.empty())
      out += "\n\n---\n\n";
    out += fmt::format("{}\n\n{}\n\nexample: `{}`{}", code(std::string(b.name) + b.signature),
                       b.doc, b.example, b.pure ? "" : "\n\n(impure: not callable from a `fn`)");
  }
  return out;
}

const schema::UpstreamSettingInfo *findSetting(std::string_view name) {
  for (const schema::UpstreamSettingInfo &s : schema::upstreamSettings())
    if (name == s.name)
      return &s;
  return nullptr;
}

bool isParameter(const ast::Decl *decl, const ast::LocalBinding *binding) {
  if (!decl || decl->kind != ast::DeclKind::Func)
    return false;
  for (const ast::LocalBinding &param : ast::as<ast::FuncDecl>(*decl).params)
    if (&param == binding)
      return true;
  return false;
}

std::string describeDecl(const ast::Decl &decl, const SourceManager &sources) {
  switch (decl.kind) {
  case ast::DeclKind::Import:
    return code(fmt::format("import {}", ast::stringLiteral(ast::as<ast::ImportDecl>(decl).path)));
  case ast::DeclKind::Upstream: {
    const auto &u = ast::as<ast::UpstreamDecl>(decl);
    std::vector<std::string> servers;
    for (const ast::ServerSpec &s : u.config.servers)
      servers.push_back(s.weight == 1 ? s.address()
                                      : fmt::format("{} weight {}", s.address(), s.weight));
    std::string out = code("upstream " + decl.name);
    if (!servers.empty())
      out += fmt::format("\n\nservers: {}  \nbalance: {}, retries: {}{}", fmt::join(servers, ", "),
                         ast::balanceName(u.config.balance), u.config.retries,
                         u.config.tls ? ", tls" : "");
    return out;
  }
  case ast::DeclKind::Acl: {
    const auto &a = ast::as<ast::AclDecl>(decl);
    std::vector<std::string> networks;
    for (const ast::IpValue &n : a.networks)
      networks.push_back(n.str());
    std::string out = code("acl " + decl.name);
    if (!networks.empty())
      out += fmt::format("\n\n{} {}: {}", networks.size(),
                         networks.size() == 1 ? "network" : "networks",
                         fmt::join(networks.begin(),
                                   networks.begin() + std::min<size_t>(networks.size(), 20), ", "));
    return out;
  }
  case ast::DeclKind::Map: {
    const auto &m = ast::as<ast::MapDecl>(decl);
    return code(fmt::format("map {}: map<{}, {}>", decl.name, m.keyType ? m.keyType->str() : "?",
                            m.valueType ? m.valueType->str() : "?")) +
           fmt::format("\n\n{} {}", m.entries.size(), m.entries.size() == 1 ? "entry" : "entries");
  }
  case ast::DeclKind::Const: {
    const auto &c = ast::as<ast::ConstDecl>(decl);
    std::string value;
    if (c.value && c.type) {
      sema::ConstantEvaluator evaluator;
      value = valueText(evaluator.evaluate(*c.value), c.type);
    }
    if (value.empty() && c.value)
      value = std::string(sources.slice(c.value->range));
    return code(fmt::format("const {}: {} = {}", decl.name, c.type ? c.type->str() : "?", value));
  }
  case ast::DeclKind::Func:
    return code(signatureOf(ast::as<ast::FuncDecl>(decl)));
  case ast::DeclKind::Phase: {
    const auto &p = ast::as<ast::PhaseDecl>(decl);
    std::string out = code("on " + decl.name);
    if (p.phase)
      out += std::string("\n\n") + schema::phase(*p.phase).doc;
    return out;
  }
  case ast::DeclKind::Test:
    return code("test " + ast::stringLiteral(decl.name)) +
           fmt::format("\n\n{} steps", ast::as<ast::TestDecl>(decl).steps.size());
  }
  return "";
}

} // namespace

std::string variableDoc(const schema::VariableInfo &variable) {
  return fmt::format("{}\n\nreadable in: {}  \nwritable in: {}", variable.doc,
                     phaseNames(variable.readable), phaseNames(variable.writable));
}

Analysis::Analysis(const std::string &path, const std::string &text,
                   const std::map<std::string, std::string> &overlays) {
  for (const auto &[otherPath, otherText] : overlays)
    if (otherPath != path)
      compilation_.provide(otherPath, otherText);
  policy_ = compilation_.loadText(path, text);
  root_ = policy_->program.root;
  checked_ = policy_->checked;
}

const ast::Module *Analysis::rootModule() const {
  return modules().empty() ? nullptr : modules().front();
}

std::vector<std::string> Analysis::files() const {
  std::vector<std::string> out;
  for (const ast::Module *module : modules())
    out.push_back(sources().path(module->file));
  return out;
}

std::optional<Hover> Analysis::hover(uint32_t offset) const {
  const ast::Module *module = rootModule();
  if (!module)
    return std::nullopt;
  Found f = Locator(root_, offset).find(*module);
  const SourceManager &src = sources();
  if (f.setting) {
    if (const schema::UpstreamSettingInfo *s = findSetting(f.setting->name))
      return Hover{fmt::format("{}\n\n{}  \ntype: {}  \ndefault: {}", code(f.setting->name), s->doc,
                               s->type, s->defaultValue),
                   f.setting->nameRange};
  }
  if (f.binding)
    return Hover{bindingHover(*f.binding, isParameter(f.decl, f.binding)), f.binding->range};
  if (f.declName)
    return Hover{describeDecl(*f.declName, src), f.declName->nameRange};
  if (f.routeStep && f.routeStep->upstream)
    return Hover{describeDecl(*f.routeStep->upstream, src), f.routeStep->wordRange};
  for (const ast::Expr *e : f.exprs) {
    switch (e->kind) {
    case ast::ExprKind::Member: {
      const auto &m = ast::as<ast::MemberExpr>(*e);
      if (m.variable)
        return Hover{variableHover(schema::variables()[static_cast<size_t>(*m.variable)], e->type),
                     e->range};
      if (m.captureMatch)
        return Hover{code(fmt::format("match.{}: string", m.member)) +
                         fmt::format("\n\ngroup {} of {}", m.captureGroup,
                                     ast::stringLiteral(m.captureMatch->regex
                                                            ? m.captureMatch->regex->pattern
                                                            : "")),
                     e->range};
      continue; // a prefix such as `upstream.req`: the variable around it says more
    }
    case ast::ExprKind::Index: {
      const auto &i = ast::as<ast::IndexExpr>(*e);
      if (i.captureMatch)
        return Hover{code(fmt::format("match[{}]: string", i.captureGroup)), e->range};
      break;
    }
    case ast::ExprKind::Name: {
      const auto &n = ast::as<ast::NameExpr>(*e);
      if (n.resolved == ast::NameKind::Local && n.local)
        return Hover{bindingHover(*n.local, isParameter(f.decl, n.local)), e->range};
      if (n.decl)
        return Hover{describeDecl(*n.decl, src), e->range};
      if (!e->type)
        continue; // a variable's root, such as `req`
      break;
    }
    case ast::ExprKind::Call: {
      const auto &c = ast::as<ast::CallExpr>(*e);
      if (!within(c.calleeRange, root_, offset))
        break;
      if (c.function)
        return Hover{describeDecl(*c.function, src), c.calleeRange};
      std::string text = builtinHover(c.callee, c.builtin);
      if (!text.empty())
        return Hover{text, c.calleeRange};
      break;
    }
    default:
      break;
    }
    if (e->type && !e->type->isError())
      return Hover{code(e->type->str()), e->range};
  }
  if (f.action) {
    for (const schema::ActionInfo &a : schema::actions()) {
      std::string_view keyword = a.keyword;
      if (src.slice(f.action->range).substr(0, keyword.size()) == keyword)
        return Hover{fmt::format("{}\n\n{}\n\nallowed in: {}", code(a.keyword), a.doc,
                                 phaseNames(a.allowed)),
                     {root_, f.action->range.begin,
                      static_cast<uint32_t>(f.action->range.begin + keyword.size())}};
    }
  }
  if (f.decl && f.decl->kind == ast::DeclKind::Import) {
    const auto &import = ast::as<ast::ImportDecl>(*f.decl);
    std::string text = describeDecl(import, src);
    if (import.target != kNoFile)
      text += "\n\n" + src.path(import.target);
    return Hover{text, f.decl->range};
  }
  return std::nullopt;
}

std::optional<SourceRange> Analysis::definition(uint32_t offset) const {
  const ast::Module *module = rootModule();
  if (!module)
    return std::nullopt;
  Found f = Locator(root_, offset).find(*module);
  if (f.routeStep && f.routeStep->upstream)
    return f.routeStep->upstream->nameRange;
  for (const ast::Expr *e : f.exprs) {
    if (e->kind == ast::ExprKind::Name) {
      const auto &n = ast::as<ast::NameExpr>(*e);
      if (n.local)
        return n.local->range;
      if (n.decl)
        return n.decl->nameRange;
    } else if (e->kind == ast::ExprKind::Call) {
      const auto &c = ast::as<ast::CallExpr>(*e);
      if (c.function && within(c.calleeRange, root_, offset))
        return c.function->nameRange;
    } else if (e->kind == ast::ExprKind::Member) {
      const auto &m = ast::as<ast::MemberExpr>(*e);
      if (m.captureMatch)
        return m.captureMatch->rhs->range;
    }
  }
  if (f.decl && f.decl->kind == ast::DeclKind::Import) {
    FileId target = ast::as<ast::ImportDecl>(*f.decl).target;
    if (target != kNoFile)
      return SourceRange{target, 0, 0};
  }
  return std::nullopt;
}

std::vector<Symbol> Analysis::symbols() const {
  // The protocol's SymbolKind numbers.
  enum Kind {
    Module = 2,
    Method = 6,
    Property = 7,
    Function = 12,
    Constant = 14,
    Array = 18,
    Object = 19,
    Struct = 23,
    Event = 24
  };
  std::vector<Symbol> out;
  const ast::Module *module = rootModule();
  if (!module)
    return out;
  for (const ast::DeclPtr &decl : module->decls) {
    Symbol symbol{decl->name,
                  ast::describe(decl->kind),
                  0,
                  decl->range,
                  decl->nameRange.valid() ? decl->nameRange : decl->range,
                  {}};
    switch (decl->kind) {
    case ast::DeclKind::Import:
      symbol.name = ast::as<ast::ImportDecl>(*decl).path;
      symbol.kind = Module;
      break;
    case ast::DeclKind::Upstream:
      symbol.kind = Struct;
      for (const ast::UpstreamProperty &p : ast::as<ast::UpstreamDecl>(*decl).properties)
        symbol.children.push_back({p.name,
                                   "setting",
                                   Property,
                                   p.value ? p.nameRange.to(p.value->range) : p.nameRange,
                                   p.nameRange,
                                   {}});
      break;
    case ast::DeclKind::Acl:
      symbol.kind = Array;
      break;
    case ast::DeclKind::Map:
      symbol.kind = Object;
      break;
    case ast::DeclKind::Const:
      symbol.kind = Constant;
      break;
    case ast::DeclKind::Func:
      symbol.kind = Function;
      symbol.detail = signatureOf(ast::as<ast::FuncDecl>(*decl));
      break;
    case ast::DeclKind::Phase:
      symbol.name = "on " + decl->name;
      symbol.detail = "phase";
      symbol.kind = Event;
      break;
    case ast::DeclKind::Test:
      symbol.kind = Method;
      break;
    }
    if (!symbol.name.empty())
      out.push_back(std::move(symbol));
  }
  return out;
}

} // namespace route::lsp
