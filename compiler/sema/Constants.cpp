#include "sema/Constants.h"

#include <limits>

namespace route::sema {

ConstValue ConstantEvaluator::evaluate(const ast::Expr &e) {
  ConstValue out;
  switch (e.kind) {
  case ast::ExprKind::Literal: {
    const auto &lit = ast::as<ast::LiteralExpr>(e);
    switch (lit.literal) {
    case ast::LiteralKind::Bool:
      out.value = lit.boolValue;
      out.kind = TypeKind::Bool;
      break;
    case ast::LiteralKind::Int:
    case ast::LiteralKind::Duration:
      out.value = lit.intValue;
      out.kind = lit.literal == ast::LiteralKind::Int ? TypeKind::Int : TypeKind::Duration;
      break;
    case ast::LiteralKind::String:
      out.value = lit.stringValue;
      out.kind = TypeKind::String;
      break;
    case ast::LiteralKind::Ip:
      out.value = lit.ip;
      out.kind = lit.ip.prefix >= 0 ? TypeKind::Cidr : TypeKind::Ip;
      break;
    }
    return out;
  }
  case ast::ExprKind::Name: {
    const auto &name = ast::as<ast::NameExpr>(e);
    if (name.resolved != ast::NameKind::Const || !name.decl)
      return out;
    const auto &c = ast::as<ast::ConstDecl>(*name.decl);
    if (auto cached = cache_.find(&c); cached != cache_.end())
      return cached->second;
    if (visiting_.count(&c) || !c.value)
      return out;
    visiting_.insert(&c);
    out = evaluate(*c.value);
    visiting_.erase(&c);
    cache_[&c] = out;
    return out;
  }
  case ast::ExprKind::Unary: {
    const auto &u = ast::as<ast::UnaryExpr>(e);
    ConstValue v = evaluate(*u.operand);
    if (auto *b = std::get_if<bool>(&v.value); b && u.op == ast::UnaryOp::Not)
      v.value = !*b;
    else if (auto *i = std::get_if<int64_t>(&v.value);
             i && u.op == ast::UnaryOp::Negate && *i != std::numeric_limits<int64_t>::min())
      v.value = -*i;
    else
      v = {};
    return v;
  }
  case ast::ExprKind::Binary: {
    const auto &b = ast::as<ast::BinaryExpr>(e);
    ConstValue l = evaluate(*b.lhs), r = evaluate(*b.rhs);
    auto *ls = std::get_if<std::string>(&l.value);
    auto *rs = std::get_if<std::string>(&r.value);
    if (ls && rs && b.op == ast::BinaryOp::Add) {
      if (ls->size() + rs->size() > kMaxString) {
        hitSizeLimit_ = true;
        return out;
      }
      out.value = *ls + *rs;
      out.kind = TypeKind::String;
      return out;
    }
    auto *li = std::get_if<int64_t>(&l.value);
    auto *ri = std::get_if<int64_t>(&r.value);
    if (!li || !ri || l.kind != r.kind)
      return out;
    int64_t result = 0;
    bool ok = true;
    switch (b.op) {
    case ast::BinaryOp::Add:
      ok = !__builtin_add_overflow(*li, *ri, &result);
      break;
    case ast::BinaryOp::Sub:
      ok = !__builtin_sub_overflow(*li, *ri, &result);
      break;
    case ast::BinaryOp::Mul:
      ok = !__builtin_mul_overflow(*li, *ri, &result);
      break;
    case ast::BinaryOp::Div:
    case ast::BinaryOp::Mod:
      ok = *ri != 0 && !(*li == std::numeric_limits<int64_t>::min() && *ri == -1);
      if (ok)
        result = b.op == ast::BinaryOp::Div ? *li / *ri : *li % *ri;
      break;
    default:
      ok = false;
    }
    if (ok) {
      out.value = result;
      out.kind = l.kind;
    }
    return out;
  }
  default:
    return out;
  }
}

} // namespace route::sema
