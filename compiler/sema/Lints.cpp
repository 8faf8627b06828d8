#include "CheckerImpl.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>

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
  if (e.op == Op::Contains &&
      (l.op == Op::Contains || l.op == Op::Eq || l.op == Op::StartsWith || l.op == Op::EndsWith))
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

// Canonical text of a pure expression; "" when it has impure or broken parts, which then
// match nothing.
std::string fingerprint(const ast::Expr &e) {
  switch (e.kind) {
  case ast::ExprKind::Literal: {
    const auto &lit = ast::as<ast::LiteralExpr>(e);
    switch (lit.literal) {
    case ast::LiteralKind::Bool:
      return lit.boolValue ? "true" : "false";
    case ast::LiteralKind::Int:
      return "i" + std::to_string(lit.intValue);
    case ast::LiteralKind::Duration:
      return "d" + std::to_string(lit.intValue);
    case ast::LiteralKind::String:
      return "s" + std::to_string(lit.stringValue.size()) + ":" + lit.stringValue;
    case ast::LiteralKind::Ip:
      return "ip" + lit.ip.str();
    }
    return "";
  }
  case ast::ExprKind::Name: {
    const auto &name = ast::as<ast::NameExpr>(e);
    return "n" + name.name +
           (name.local ? "@" + std::to_string(reinterpret_cast<uintptr_t>(name.local)) : "");
  }
  case ast::ExprKind::Member: {
    const auto &m = ast::as<ast::MemberExpr>(e);
    std::string base = fingerprint(*m.base);
    if (base.empty())
      return "";
    return base + "." + m.member +
           (m.captureMatch ? "@" + std::to_string(reinterpret_cast<uintptr_t>(m.captureMatch))
                           : "");
  }
  case ast::ExprKind::Index: {
    const auto &x = ast::as<ast::IndexExpr>(e);
    std::string base = fingerprint(*x.base), index = fingerprint(*x.index);
    return base.empty() || index.empty() ? "" : base + "[" + index + "]";
  }
  case ast::ExprKind::Call: {
    const auto &c = ast::as<ast::CallExpr>(e);
    if (c.builtin && !schema::builtins()[static_cast<size_t>(*c.builtin)].pure)
      return "";
    std::string out = c.callee + "(";
    for (const ast::CallArgument &arg : c.args) {
      std::string a = fingerprint(*arg.value);
      if (a.empty())
        return "";
      out += a + ",";
    }
    return out + ")";
  }
  case ast::ExprKind::List: {
    std::string out = "[";
    for (const ast::ListElement &item : ast::as<ast::ListExpr>(e).elements) {
      std::string a = fingerprint(*item.value);
      if (a.empty())
        return "";
      out += a + ",";
    }
    return out + "]";
  }
  case ast::ExprKind::Unary: {
    const auto &u = ast::as<ast::UnaryExpr>(e);
    std::string operand = fingerprint(*u.operand);
    return operand.empty() ? "" : (u.op == ast::UnaryOp::Not ? "!(" : "-(") + operand + ")";
  }
  case ast::ExprKind::Binary: {
    const auto &b = ast::as<ast::BinaryExpr>(e);
    std::string l = fingerprint(*b.lhs), r = fingerprint(*b.rhs);
    return l.empty() || r.empty() ? "" : "(" + l + " " + ast::spelling(b.op) + " " + r + ")";
  }
  case ast::ExprKind::Error:
    return "";
  }
  return "";
}

void collect(const ast::Expr &e, ast::BinaryOp op, std::vector<const ast::Expr *> &out) {
  if (e.kind == ast::ExprKind::Binary && ast::as<ast::BinaryExpr>(e).op == op) {
    collect(*ast::as<ast::BinaryExpr>(e).lhs, op, out);
    collect(*ast::as<ast::BinaryExpr>(e).rhs, op, out);
    return;
  }
  out.push_back(&e);
}

// A comparison of a pure subject with a string literal, which an index can key.
struct KeyAtom {
  ast::BinaryOp op;
  std::string subject;
  const std::string *value;
};

std::optional<KeyAtom> keyAtom(const ast::Expr &e) {
  if (e.kind != ast::ExprKind::Binary)
    return std::nullopt;
  const auto &b = ast::as<ast::BinaryExpr>(e);
  using Op = ast::BinaryOp;
  if (b.op != Op::Eq && b.op != Op::StartsWith && b.op != Op::EndsWith)
    return std::nullopt;
  const std::string *value = stringLiteral(*b.rhs);
  if (!value)
    return std::nullopt;
  std::string subject = fingerprint(*b.lhs);
  if (subject.empty())
    return std::nullopt;
  return KeyAtom{b.op, std::move(subject), value};
}

std::string key(ast::BinaryOp op, const std::string &subject, std::string_view value) {
  std::string k = std::to_string(static_cast<int>(op));
  k += '|';
  k += subject;
  k += '|';
  k += value;
  return k;
}

// The conditions of earlier rules, indexed so that a later rule is compared only with the
// rules it could be shadowed by: a 10,000-rule policy is linted in linear time.
//
// Each alternative of an earlier condition (one side of an `or`) is keyed by one comparison
// of its conjunction with a string literal; a later condition can only imply it if one of
// its own comparisons implies that one, and those are found by looking up the same subject
// with the later literal, its prefixes (starts_with) and its suffixes (ends_with).
class RuleIndex {
public:
  void add(const ast::Expr &condition) {
    size_t order = count_++;
    std::vector<const ast::Expr *> alternatives;
    collect(condition, ast::BinaryOp::Or, alternatives);
    for (const ast::Expr *alternative : alternatives) {
      std::vector<const ast::Expr *> atoms;
      collect(*alternative, ast::BinaryOp::And, atoms);
      std::optional<KeyAtom> atom;
      for (const ast::Expr *a : atoms)
        if ((atom = keyAtom(*a)))
          break;
      Entry entry{order, &condition};
      if (atom)
        keyed_[key(atom->op, atom->subject, *atom->value)].push_back(entry);
      else
        unkeyed_.push_back(entry);
    }
  }

  void clear() {
    keyed_.clear();
    unkeyed_.clear();
  }

  // The earliest earlier condition that `later` implies, if any.
  const ast::Expr *shadowing(const ast::Expr &later) const {
    std::vector<Entry> candidates = unkeyed_;
    std::vector<const ast::Expr *> atoms;
    collectAtoms(later, atoms);
    auto lookup = [&](ast::BinaryOp op, const std::string &subject, std::string_view value) {
      auto it = keyed_.find(key(op, subject, value));
      if (it != keyed_.end())
        candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    };
    using Op = ast::BinaryOp;
    for (const ast::Expr *a : atoms) {
      std::optional<KeyAtom> atom = keyAtom(*a);
      if (!atom)
        continue;
      std::string_view v = *atom->value;
      if (atom->op == Op::Eq)
        lookup(Op::Eq, atom->subject, v);
      if (atom->op == Op::Eq || atom->op == Op::StartsWith)
        for (size_t n = 0; n <= v.size(); ++n)
          lookup(Op::StartsWith, atom->subject, v.substr(0, n));
      if (atom->op == Op::Eq || atom->op == Op::EndsWith)
        for (size_t n = 0; n <= v.size(); ++n)
          lookup(Op::EndsWith, atom->subject, v.substr(v.size() - n));
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const Entry &a, const Entry &b) { return a.order < b.order; });
    for (const Entry &c : candidates)
      if (implies(later, *c.condition))
        return c.condition;
    return nullptr;
  }

private:
  struct Entry {
    size_t order;
    const ast::Expr *condition;
  };

  static void collectAtoms(const ast::Expr &e, std::vector<const ast::Expr *> &out) {
    if (e.kind == ast::ExprKind::Binary) {
      const auto &b = ast::as<ast::BinaryExpr>(e);
      if (b.op == ast::BinaryOp::And || b.op == ast::BinaryOp::Or) {
        collectAtoms(*b.lhs, out);
        collectAtoms(*b.rhs, out);
        return;
      }
    }
    out.push_back(&e);
  }

  std::unordered_map<std::string, std::vector<Entry>> keyed_;
  std::vector<Entry> unkeyed_;
  size_t count_ = 0;
};

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
        diags_
            .warning("unused", decl->nameRange,
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
  RuleIndex taken; // conditions of earlier rules that end the phase whenever they hold
  auto report = [&](const ast::Expr &condition, const ast::Expr &earlier) {
    diags_
        .warning("shadowed-rule", condition.range,
                 "this rule never matches: an earlier rule takes all of its requests")
        .withNote(earlier.range, "the earlier rule's condition");
  };
  for (const ast::StmtPtr &stmt : block.stmts) {
    switch (stmt->kind) {
    case ast::StmtKind::If: {
      const auto &s = ast::as<ast::IfStmt>(*stmt);
      // Within one if-else chain a branch runs only when the ones before it did not match.
      RuleIndex chain;
      for (const ast::IfStmt::Branch &branch : s.branches) {
        const ast::Expr *earlier = taken.shadowing(*branch.condition);
        if (!earlier)
          earlier = chain.shadowing(*branch.condition);
        if (earlier)
          report(*branch.condition, *earlier);
        chain.add(*branch.condition);
        lintShadowedRules(branch.body);
      }
      if (s.elseBlock)
        lintShadowedRules(*s.elseBlock);
      for (const ast::IfStmt::Branch &branch : s.branches)
        if (alwaysEnds(branch.body))
          taken.add(*branch.condition);
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

namespace route {
bool alwaysEnds(const ast::Block &block) {
  return sema::Checker::alwaysEnds(block);
}
} // namespace route
