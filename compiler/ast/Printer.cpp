#include "ast/Printer.h"

#include <fmt/format.h>

namespace route::ast {

namespace {

class Printer {
public:
  explicit Printer(const SourceManager &sources) : sources_(sources) {}

  std::string module(const Module &m) {
    for (const DeclPtr &d : m.decls)
      decl(*d);
    return std::move(out_);
  }

private:
  void line(int depth, const std::string &text, SourceRange at) {
    out_.append(static_cast<size_t>(depth) * 2, ' ');
    out_ += text;
    if (at.valid()) {
      LineColumn lc = sources_.lineColumn(at.file, at.begin);
      out_ += fmt::format("  @{}:{}", lc.line, lc.column);
    }
    out_ += '\n';
  }

  static std::string typed(const Expr &e) { return e.type ? " : " + e.type->str() : ""; }

  void decl(const Decl &d) {
    switch (d.kind) {
    case DeclKind::Import:
      line(0, fmt::format("import \"{}\"", as<ImportDecl>(d).path), d.range);
      break;
    case DeclKind::Upstream: {
      const auto &u = as<UpstreamDecl>(d);
      line(0, fmt::format("upstream {}", d.name), d.nameRange);
      for (const ServerSpec &s : u.config.servers)
        line(1, fmt::format("server {}:{} weight {}", s.host, s.port, s.weight), s.range);
      line(1, fmt::format("balance {}", balanceName(u.config.balance)), {});
      if (u.config.balanceKey)
        expr(2, *u.config.balanceKey);
      if (u.config.protocol != UpstreamProtocol::Http1)
        line(1, fmt::format("protocol {}", protocolName(u.config.protocol)), {});
      line(1,
           fmt::format("timeouts connect {}ns read {}ns write {}ns; retries {}; tls {}",
                       u.config.connectTimeoutNs, u.config.readTimeoutNs, u.config.writeTimeoutNs,
                       u.config.retries, u.config.tls),
           {});
      break;
    }
    case DeclKind::Acl: {
      line(0, fmt::format("acl {}", d.name), d.nameRange);
      for (const IpValue &n : as<AclDecl>(d).networks)
        line(1, n.str(), {});
      break;
    }
    case DeclKind::Map: {
      const auto &m = as<MapDecl>(d);
      line(0,
           fmt::format("map {} : map<{}, {}>", d.name, m.keyType ? m.keyType->str() : "?",
                       m.valueType ? m.valueType->str() : "?"),
           d.nameRange);
      for (const MapEntry &e : m.entries) {
        line(1, e.key ? "entry" : "default", e.range);
        if (e.key)
          expr(2, *e.key);
        expr(2, *e.value);
      }
      break;
    }
    case DeclKind::Const:
      line(0,
           fmt::format("const {}{}", d.name,
                       as<ConstDecl>(d).type ? " : " + as<ConstDecl>(d).type->str() : ""),
           d.nameRange);
      expr(1, *as<ConstDecl>(d).value);
      break;
    case DeclKind::Func: {
      const auto &f = as<FuncDecl>(d);
      std::string params;
      for (const LocalBinding &p : f.params)
        params += (params.empty() ? "" : ", ") + p.name + ": " + (p.type ? p.type->str() : "?");
      line(0,
           fmt::format("fn {}({}) -> {}", d.name, params, f.returnType ? f.returnType->str() : "?"),
           d.nameRange);
      block(1, f.body);
      break;
    }
    case DeclKind::Phase:
      line(0, fmt::format("on {}", d.name), d.nameRange);
      block(1, as<PhaseDecl>(d).body);
      break;
    case DeclKind::Test:
      line(0, fmt::format("test \"{}\"", d.name), d.nameRange);
      for (const TestStep &s : as<TestDecl>(d).steps) {
        static const char *steps[] = {
            "request",       "header",       "origin",          "origin header", "tls",
            "expect status", "expect route", "expect redirect", "expect body",   "expect"};
        line(1,
             fmt::format("{}{}", steps[static_cast<int>(s.kind)],
                         s.word.empty() ? "" : " " + s.word),
             s.range);
        if (s.first)
          expr(2, *s.first);
        if (s.second)
          expr(2, *s.second);
      }
      break;
    }
  }

  void block(int depth, const Block &b) {
    for (const StmtPtr &s : b.stmts)
      stmt(depth, *s);
  }

  void stmt(int depth, const Stmt &s) {
    switch (s.kind) {
    case StmtKind::If: {
      const auto &i = as<IfStmt>(s);
      for (size_t n = 0; n < i.branches.size(); ++n) {
        line(depth, n == 0 ? "if" : "else if", i.branches[n].condition->range);
        expr(depth + 1, *i.branches[n].condition);
        line(depth + 1, "then", i.branches[n].body.range);
        block(depth + 2, i.branches[n].body);
      }
      if (i.elseBlock) {
        line(depth, "else", i.elseBlock->range);
        block(depth + 1, *i.elseBlock);
      }
      break;
    }
    case StmtKind::Let: {
      const auto &l = as<LetStmt>(s);
      line(depth,
           fmt::format("let {}{}", l.binding.name,
                       l.binding.type ? " : " + l.binding.type->str() : ""),
           s.range);
      expr(depth + 1, *l.value);
      break;
    }
    case StmtKind::Assign:
      line(depth, "assign", s.range);
      expr(depth + 1, *as<AssignStmt>(s).target);
      expr(depth + 1, *as<AssignStmt>(s).value);
      break;
    case StmtKind::Delete:
      line(depth, "delete", s.range);
      expr(depth + 1, *as<DeleteStmt>(s).target);
      break;
    case StmtKind::Respond:
      line(depth, "respond", s.range);
      expr(depth + 1, *as<RespondStmt>(s).status);
      if (as<RespondStmt>(s).body)
        expr(depth + 1, *as<RespondStmt>(s).body);
      break;
    case StmtKind::Redirect:
      line(depth, "redirect", s.range);
      if (as<RedirectStmt>(s).status)
        expr(depth + 1, *as<RedirectStmt>(s).status);
      expr(depth + 1, *as<RedirectStmt>(s).location);
      break;
    case StmtKind::Route:
      line(depth, "route", s.range);
      expr(depth + 1, *as<RouteStmt>(s).target);
      break;
    case StmtKind::Retry:
      line(depth, "retry", s.range);
      break;
    case StmtKind::Return:
      line(depth, "return", s.range);
      if (as<ReturnStmt>(s).value)
        expr(depth + 1, *as<ReturnStmt>(s).value);
      break;
    }
  }

  void expr(int depth, const Expr &e) {
    switch (e.kind) {
    case ExprKind::Literal: {
      const auto &l = as<LiteralExpr>(e);
      std::string value;
      switch (l.literal) {
      case LiteralKind::Bool:
        value = l.boolValue ? "true" : "false";
        break;
      case LiteralKind::Int:
        value = std::to_string(l.intValue);
        break;
      case LiteralKind::Duration:
        value = std::to_string(l.intValue) + "ns";
        break;
      case LiteralKind::String:
        value = fmt::format("{:?}", l.stringValue);
        break;
      case LiteralKind::Ip:
        value = l.ip.str();
        break;
      }
      line(depth, "literal " + value + typed(e), e.range);
      break;
    }
    case ExprKind::Name: {
      const auto &n = as<NameExpr>(e);
      const char *kinds[] = {"unresolved", "local", "const", "acl", "map", "upstream"};
      line(depth,
           fmt::format("name {} [{}]{}", n.name, kinds[static_cast<int>(n.resolved)], typed(e)),
           e.range);
      break;
    }
    case ExprKind::Member: {
      const auto &m = as<MemberExpr>(e);
      if (m.variable) {
        line(depth,
             fmt::format("variable {}{}",
                         schema::variables()[static_cast<size_t>(*m.variable)].name, typed(e)),
             e.range);
      } else if (m.captureMatch) {
        line(depth, fmt::format("capture group {}{}", m.captureGroup, typed(e)), e.range);
      } else {
        line(depth, fmt::format("member .{}{}", m.member, typed(e)), e.range);
        expr(depth + 1, *m.base);
      }
      break;
    }
    case ExprKind::Index: {
      const auto &x = as<IndexExpr>(e);
      if (x.captureMatch) {
        line(depth, fmt::format("capture group {}{}", x.captureGroup, typed(e)), e.range);
        break;
      }
      line(depth, "index" + typed(e), e.range);
      expr(depth + 1, *x.base);
      expr(depth + 1, *x.index);
      break;
    }
    case ExprKind::Call: {
      const auto &c = as<CallExpr>(e);
      line(depth, fmt::format("call {} [{}]{}", c.callee, c.builtin ? "built-in" : "fn", typed(e)),
           e.range);
      for (const CallArgument &a : c.args)
        expr(depth + 1, *a.value);
      break;
    }
    case ExprKind::List:
      line(depth, "list" + typed(e), e.range);
      for (const ListElement &item : as<ListExpr>(e).elements)
        expr(depth + 1, *item.value);
      break;
    case ExprKind::Unary:
      line(depth, std::string(as<UnaryExpr>(e).op == UnaryOp::Not ? "not" : "negate") + typed(e),
           e.range);
      expr(depth + 1, *as<UnaryExpr>(e).operand);
      break;
    case ExprKind::Binary: {
      const auto &b = as<BinaryExpr>(e);
      line(depth,
           fmt::format("{}{}{}", spelling(b.op), typed(e),
                       b.regex ? fmt::format(" regex {:?}", b.regex->pattern) : ""),
           e.range);
      expr(depth + 1, *b.lhs);
      expr(depth + 1, *b.rhs);
      break;
    }
    case ExprKind::Error:
      line(depth, "error", e.range);
      break;
    }
  }

  const SourceManager &sources_;
  std::string out_;
};

} // namespace

std::string print(const Module &module, const SourceManager &sources) {
  return Printer(sources).module(module);
}

std::string stringLiteral(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    default:
      if (c < 0x20 || c == 0x7F)
        out += fmt::format("\\x{:02X}", c);
      else
        out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string durationLiteral(int64_t nanoseconds) {
  if (nanoseconds == 0)
    return "0s";
  std::string out = nanoseconds < 0 ? "-" : "";
  uint64_t rest = nanoseconds < 0 ? -static_cast<uint64_t>(nanoseconds) : nanoseconds;
  static constexpr std::pair<const char *, uint64_t> kUnits[] = {
      {"d", 86'400'000'000'000}, {"h", 3'600'000'000'000}, {"m", 60'000'000'000},
      {"s", 1'000'000'000},      {"ms", 1'000'000},        {"us", 1'000}};
  for (auto [unit, size] : kUnits) {
    if (rest >= size) {
      out += std::to_string(rest / size) + unit;
      rest %= size;
    }
  }
  if (rest)
    out += std::to_string(rest) + "ns";
  return out;
}

} // namespace route::ast
