#include "ast/Walk.h"

namespace route::ast {

void forEachExpression(const Block &block,
                       const std::function<void(const Expr &, ExprRole)> &visit) {
  auto value = [&](const ExprPtr &e) {
    if (e)
      visit(*e, ExprRole::Value);
  };
  for (const StmtPtr &stmt : block.stmts) {
    switch (stmt->kind) {
    case StmtKind::If: {
      const auto &s = as<IfStmt>(*stmt);
      for (const IfStmt::Branch &branch : s.branches) {
        value(branch.condition);
        forEachExpression(branch.body, visit);
      }
      if (s.elseBlock)
        forEachExpression(*s.elseBlock, visit);
      break;
    }
    case StmtKind::Let:
      value(as<LetStmt>(*stmt).value);
      break;
    case StmtKind::Assign:
      visit(*as<AssignStmt>(*stmt).target, ExprRole::Target);
      value(as<AssignStmt>(*stmt).value);
      break;
    case StmtKind::Delete:
      visit(*as<DeleteStmt>(*stmt).target, ExprRole::Target);
      break;
    case StmtKind::Respond:
      value(as<RespondStmt>(*stmt).status);
      value(as<RespondStmt>(*stmt).body);
      break;
    case StmtKind::Redirect:
      value(as<RedirectStmt>(*stmt).status);
      value(as<RedirectStmt>(*stmt).location);
      break;
    case StmtKind::Route:
      value(as<RouteStmt>(*stmt).target);
      break;
    case StmtKind::Return:
      value(as<ReturnStmt>(*stmt).value);
      break;
    case StmtKind::Retry:
      break;
    }
  }
}

void forEachStatement(const Block &block, const std::function<void(const Stmt &)> &visit) {
  for (const StmtPtr &stmt : block.stmts) {
    visit(*stmt);
    if (stmt->kind != StmtKind::If)
      continue;
    const auto &s = as<IfStmt>(*stmt);
    for (const IfStmt::Branch &branch : s.branches)
      forEachStatement(branch.body, visit);
    if (s.elseBlock)
      forEachStatement(*s.elseBlock, visit);
  }
}

void forEachChild(const Expr &e, const std::function<void(const Expr &)> &visit) {
  switch (e.kind) {
  case ExprKind::Member:
    visit(*as<MemberExpr>(e).base);
    break;
  case ExprKind::Index:
    visit(*as<IndexExpr>(e).base);
    visit(*as<IndexExpr>(e).index);
    break;
  case ExprKind::Call:
    for (const CallArgument &arg : as<CallExpr>(e).args)
      visit(*arg.value);
    break;
  case ExprKind::List:
    for (const ListElement &item : as<ListExpr>(e).elements) {
      visit(*item.value);
      if (item.weight)
        visit(*item.weight);
    }
    break;
  case ExprKind::Unary:
    visit(*as<UnaryExpr>(e).operand);
    break;
  case ExprKind::Binary:
    visit(*as<BinaryExpr>(e).lhs);
    visit(*as<BinaryExpr>(e).rhs);
    break;
  default:
    break;
  }
}

} // namespace route::ast
