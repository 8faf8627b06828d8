#include "sema/CheckerImpl.h"

#include <fmt/format.h>

namespace route::sema {

namespace {

// Structural equality of two checked expressions. Calls to impure built-ins never compare
// equal: random() twice is two different values.
bool sameExpr(const ast::Expr &a, const ast::Expr &b) {
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case ast::ExprKind::Literal: {
    const auto &x = ast::as<ast::LiteralExpr>(a), &y = ast::as<ast::LiteralExpr>(b);
    return x.literal == y.literal && x.boolValue == y.boolValue && x.intValue == y.intValue &&
           x.stringValue == y.stringValue && x.ip.bytes == y.ip.bytes &&
           x.ip.prefix == y.ip.prefix && x.ip.v6 == y.ip.v6;
  }
  case ast::ExprKind::Name: {
    const auto &x = ast::as<ast::NameExpr>(a), &y = ast::as<ast::NameExpr>(b);
    return x.name == y.name && x.resolved == y.resolved && x.local == y.local;
  }
  case ast::ExprKind::Member: {
    const auto &x = ast::as<ast::MemberExpr>(a), &y = ast::as<ast::MemberExpr>(b);
    return x.member == y.member && x.captureMatch == y.captureMatch && sameExpr(*x.base, *y.base);
  }
  case ast::ExprKind::Index: {
    const auto &x = ast::as<ast::IndexExpr>(a), &y = ast::as<ast::IndexExpr>(b);
    return sameExpr(*x.base, *y.base) && sameExpr(*x.index, *y.index);
  }
  case ast::ExprKind::Call: {
    const auto &x = ast::as<ast::CallExpr>(a), &y = ast::as<ast::CallExpr>(b);
    if (x.callee != y.callee || x.args.size() != y.args.size())
      return false;
    if (x.builtin && !schema::builtins()[static_cast<size_t>(*x.builtin)].pure)
      return false;
    for (size_t i = 0; i < x.args.size(); ++i)
      if (!sameExpr(*x.args[i].value, *y.args[i].value))
        return false;
    return true;
  }
  case ast::ExprKind::List: {
    const auto &x = ast::as<ast::ListExpr>(a), &y = ast::as<ast::ListExpr>(b);
    if (x.elements.size() != y.elements.size())
      return false;
    for (size_t i = 0; i < x.elements.size(); ++i)
      if (!sameExpr(*x.elements[i].value, *y.elements[i].value))
        return false;
    return true;
  }
  case ast::ExprKind::Unary: {
    const auto &x = ast::as<ast::UnaryExpr>(a), &y = ast::as<ast::UnaryExpr>(b);
    return x.op == y.op && sameExpr(*x.operand, *y.operand);
  }
  case ast::ExprKind::Binary: {
    const auto &x = ast::as<ast::BinaryExpr>(a), &y = ast::as<ast::BinaryExpr>(b);
    return x.op == y.op && sameExpr(*x.lhs, *y.lhs) && sameExpr(*x.rhs, *y.rhs);
  }
  case ast::ExprKind::Error:
    return false;
  }
  return false;
}

const std::string *stringLiteral(const ast::Expr &e) {
  if (e.kind != ast::ExprKind::Literal)
    return nullptr;
  const auto &lit = ast::as<ast::LiteralExpr>(e);
  return lit.literal == ast::LiteralKind::String ? &lit.stringValue : nullptr;
}

// `later` can only hold when `earlier` holds, for a single comparison of one subject.
bool atomImplies(const ast::Expr &later, const ast::Expr &earlier) {
  if (later.kind != ast::ExprKind::Binary || earlier.kind != ast::ExprKind::Binary)
    return false;
  const auto &l = ast::as<ast::BinaryExpr>(later), &e = ast::as<ast::BinaryExpr>(earlier);
  if (!sameExpr(*l.lhs, *e.lhs))
    return false;
  const std::string *ls = stringLiteral(*l.rhs), *es = stringLiteral(*e.rhs);
  if (!ls || !es)
    return false;
  using Op = ast::BinaryOp;
  if (e.op == Op::StartsWith && (l.op == Op::StartsWith || l.op == Op::Eq))
    return ls->starts_with(*es);
  if (e.op == Op::EndsWith && (l.op == Op::EndsWith || l.op == Op::Eq))
    return ls->ends_with(*es);
  if (e.op == Op::Contains && (l.op == Op::Contains || l.op == Op::Eq ||
                               l.op == Op::StartsWith || l.op == Op::EndsWith))
    return ls->find(*es) != std::string::npos;
  return false;
}

// Whenever `later` holds, `earlier` holds too.
bool implies(const ast::Expr &later, const ast::Expr &earlier) {
  if (sameExpr(later, earlier))
    return true;
  using Op = ast::BinaryOp;
  if (earlier.kind == ast::ExprKind::Binary) {
    const auto &e = ast::as<ast::BinaryExpr>(earlier);
    if (e.op == Op::Or)
      return implies(later, *e.lhs) || implies(later, *e.rhs);
    if (e.op == Op::And)
      return implies(later, *e.lhs) && implies(later, *e.rhs);
  }
  if (later.kind == ast::ExprKind::Binary) {
    const auto &l = ast::as<ast::BinaryExpr>(later);
    if (l.op == Op::And)
      return implies(*l.lhs, earlier) || implies(*l.rhs, earlier);
    if (l.op == Op::Or)
      return implies(*l.lhs, earlier) && implies(*l.rhs, earlier);
  }
  return atomImplies(later, earlier);
}

} // namespace

bool Checker::alwaysEnds(const ast::Stmt &stmt) {
  switch (stmt.kind) {
  case ast::StmtKind::Respond:
  case ast::StmtKind::Redirect:
  case ast::StmtKind::Route:
  case ast::StmtKind::Retry:
  case ast::StmtKind::Return:
    return true;
  case ast::StmtKind::If: {
    const auto &s = ast::as<ast::IfStmt>(stmt);
    if (!s.elseBlock || !alwaysEnds(*s.elseBlock))
      return false;
    for (const ast::IfStmt::Branch &branch : s.branches)
      if (!alwaysEnds(branch.body))
        return false;
    return true;
  }
  default:
    return false;
  }
}

bool Checker::alwaysEnds(const ast::Block &block) {
  for (const ast::StmtPtr &stmt : block.stmts)
    if (alwaysEnds(*stmt))
      return true;
  return false;
}

void Checker::lintUnused() {
  FileId root = program_.root;
  for (ast::DeclPtr &decl : program_.modules.front()->decls) {
    switch (decl->kind) {
    case ast::DeclKind::Upstream:
    case ast::DeclKind::Acl:
    case ast::DeclKind::Map:
    case ast::DeclKind::Const:
    case ast::DeclKind::Func:
      if (!decl->used && !decl->name.empty())
        diags_.warning("unused", decl->nameRange,
                       fmt::format("{} '{}' is never used", ast::describe(decl->kind), decl->name))
            .withHint(decl->kind == ast::DeclKind::Upstream ? "route to it, or remove it"
                                                            : "use it, or remove it");
      break;
    default:
      break;
    }
  }
  for (const ast::LocalBinding *local : allLocals_)
    if (!local->used && local->range.file == root && !local->name.starts_with("_"))
      diags_.warning("unused", local->range, fmt::format("'{}' is never used", local->name))
          .withHint("use it, remove it, or start its name with '_'");
}

void Checker::lintShadowedRules(const ast::Block &block) {
  // Conditions of earlier rules that end the phase whenever they hold.
  std::vector<const ast::Expr *> taken;
  auto report = [&](const ast::Expr &condition) {
    for (const ast::Expr *earlier : taken) {
      if (implies(condition, *earlier)) {
        diags_.warning("shadowed-rule", condition.range,
                       "this rule never matches: an earlier rule takes all of its requests")
            .withNote(earlier->range, "the earlier rule's condition");
        return;
      }
    }
  };
  for (const ast::StmtPtr &stmt : block.stmts) {
    switch (stmt->kind) {
    case ast::StmtKind::If: {
      const auto &s = ast::as<ast::IfStmt>(*stmt);
      size_t before = taken.size();
      // Within one if-else chain a branch runs only when the ones before it did not match.
      std::vector<const ast::Expr *> chain;
      for (const ast::IfStmt::Branch &branch : s.branches) {
        taken.insert(taken.end(), chain.begin(), chain.end());
        report(*branch.condition);
        taken.resize(before);
        chain.push_back(branch.condition.get());
        lintShadowedRules(branch.body);
      }
      if (s.elseBlock)
        lintShadowedRules(*s.elseBlock);
      for (const ast::IfStmt::Branch &branch : s.branches)
        if (alwaysEnds(branch.body))
          taken.push_back(branch.condition.get());
      break;
    }
    case ast::StmtKind::Assign:
    case ast::StmtKind::Delete:
      taken.clear(); // what earlier conditions read may have changed
      break;
    default:
      break;
    }
  }
}

void Checker::lintAllShadowedRules() {
  for (ast::Module *module : program_.modules)
    for (ast::DeclPtr &decl : module->decls) {
      if (decl->kind == ast::DeclKind::Phase)
        lintShadowedRules(ast::as<ast::PhaseDecl>(*decl).body);
      else if (decl->kind == ast::DeclKind::Func)
        lintShadowedRules(ast::as<ast::FuncDecl>(*decl).body);
    }
}

} // namespace route::sema
