#include "interp/Interpreter.h"

#include "CompiledAcl.h"
#include "ast/Walk.h"

#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>

namespace route {

namespace {

// A run-time value. Strings are byte ranges into the AST (literals), the exchange, the
// phase's arena or the interpreter's own arena (consts).
struct Value {
  enum class Kind : uint8_t { None, Bool, Int, Str, Ip, List, Upstream } kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  RouteStr s{nullptr, 0};
  RouteIp ip{};
  int prefix = -1; // an ip with a prefix is a cidr
  std::shared_ptr<std::vector<Value>> list;
  uint32_t upstream = 0;

  static Value boolean(bool v) {
    Value out;
    out.kind = Kind::Bool;
    out.b = v;
    return out;
  }
  static Value integer(int64_t v) {
    Value out;
    out.kind = Kind::Int;
    out.i = v;
    return out;
  }
  static Value string(RouteStr v) {
    Value out;
    out.kind = Kind::Str;
    out.s = v;
    return out;
  }
};

std::string_view view(RouteStr s) {
  return {s.data ? s.data : "", static_cast<size_t>(s.size)};
}
RouteStr str(const std::string &s) {
  return {s.data(), s.size()};
}

// Integer arithmetic wraps around; division and remainder by zero give 0 (dsl/README.md).
int64_t wrap(uint64_t v) {
  return static_cast<int64_t>(v);
}
int64_t divide(int64_t a, int64_t b, bool remainder) {
  if (b == 0)
    return 0;
  if (b == -1) // INT64_MIN / -1 overflows: wrap, as negation does
    return remainder ? 0 : wrap(0 - static_cast<uint64_t>(a));
  return remainder ? a % b : a / b;
}

Value zeroOf(const Type *type) {
  switch (type ? type->kind() : TypeKind::Error) {
  case TypeKind::Bool:
    return Value::boolean(false);
  case TypeKind::Int:
  case TypeKind::Duration:
    return Value::integer(0);
  case TypeKind::String:
    return Value::string({"", 0});
  case TypeKind::Ip: {
    Value v;
    v.kind = Value::Kind::Ip;
    return v;
  }
  default:
    return {};
  }
}

bool equal(const Value &a, const Value &b) {
  switch (a.kind) {
  case Value::Kind::Bool:
    return a.b == b.b;
  case Value::Kind::Int:
    return a.i == b.i;
  case Value::Kind::Str:
    return view(a.s) == view(b.s);
  case Value::Kind::Ip:
    return a.prefix == b.prefix && route_ip_equal(a.ip, b.ip);
  case Value::Kind::Upstream:
    return a.upstream == b.upstream;
  default:
    return false;
  }
}

// The state of one handler or function call.
struct Frame {
  RouteCtx *ctx = nullptr;
  RouteArena *arena = nullptr;
  std::vector<std::pair<const ast::LocalBinding *, Value>> locals;
  std::unordered_map<const ast::BinaryExpr *, std::vector<RouteStr>> captures;
  std::vector<SourceRange> *trace = nullptr;
  Value returned;

  const Value &local(const ast::LocalBinding *binding) const {
    for (auto it = locals.rbegin(); it != locals.rend(); ++it)
      if (it->first == binding)
        return it->second;
    static const Value none;
    return none;
  }
};

enum class Flow { Next, End };

struct MapTable {
  std::unordered_map<std::string, Value> byString;
  std::unordered_map<int64_t, Value> byInt;
  bool hasDefault = false;
  Value fallback;
};

} // namespace

struct Interpreter::Impl {
  const Program &program;
  RouteArena *constArena = route_arena_create();
  std::unordered_map<const ast::Expr *, RouteRegex *> regexes; // `~` nodes and regex arguments
  std::unordered_map<const ast::Decl *, RouteAcl *> acls;
  std::unordered_map<const ast::Decl *, MapTable> maps;
  std::unordered_map<const ast::Decl *, Value> consts;
  // route_route() names an upstream by its place in Program::upstreams.
  std::unordered_map<const ast::Decl *, uint32_t> upstreamIndex;

  explicit Impl(const Program &p) : program(p) {
    for (size_t i = 0; i < program.upstreams.size(); ++i)
      upstreamIndex[program.upstreams[i]] = static_cast<uint32_t>(i);
    for (ast::Module *module : program.modules)
      for (const ast::DeclPtr &decl : module->decls)
        prepare(*decl);
  }

  ~Impl() {
    for (auto &[expr, regex] : regexes)
      route_regex_free(regex);
    for (auto &[decl, acl] : acls)
      route_acl_free(acl);
    route_arena_destroy(constArena);
  }

  // ------------------------------------------------------------------------ preparing
  void compileRegex(const ast::Expr &key, const std::string &pattern) {
    if (!regexes.count(&key))
      regexes[&key] = route_regex_compile({pattern.data(), pattern.size()});
  }

  void prepareExpr(const ast::Expr &e) {
    ast::forEachChild(e, [&](const ast::Expr &child) { prepareExpr(child); });
    if (e.kind == ast::ExprKind::Call) {
      const auto &call = ast::as<ast::CallExpr>(e);
      if (call.builtin == schema::BuiltinId::RegexReplace && call.args.size() == 3) {
        Frame none;
        none.arena = constArena;
        Value pattern = eval(*call.args[1].value, none);
        compileRegex(*call.args[1].value, std::string(view(pattern.s)));
      }
    } else if (e.kind == ast::ExprKind::Binary && ast::as<ast::BinaryExpr>(e).regex) {
      compileRegex(e, ast::as<ast::BinaryExpr>(e).regex->pattern);
    }
  }

  void prepareBlock(const ast::Block &block) {
    ast::forEachExpression(block, [&](const ast::Expr &e, ast::ExprRole) { prepareExpr(e); });
  }

  void prepare(const ast::Decl &decl) {
    switch (decl.kind) {
    case ast::DeclKind::Acl:
      acls[&decl] = backend::compileAcl(ast::as<ast::AclDecl>(decl));
      break;
    case ast::DeclKind::Map: {
      const auto &map = ast::as<ast::MapDecl>(decl);
      MapTable &table = maps[&decl];
      Frame none;
      none.arena = constArena;
      for (const ast::MapEntry &entry : map.entries) {
        Value value = eval(*entry.value, none);
        if (!entry.key) {
          table.hasDefault = true;
          table.fallback = value;
          continue;
        }
        Value key = eval(*entry.key, none);
        if (key.kind == Value::Kind::Int)
          table.byInt.emplace(key.i, value);
        else
          table.byString.emplace(std::string(view(key.s)), value);
      }
      if (!table.hasDefault)
        table.fallback = zeroOf(map.valueType);
      break;
    }
    case ast::DeclKind::Const: {
      Frame none;
      none.arena = constArena;
      consts[&decl] = eval(*ast::as<ast::ConstDecl>(decl).value, none);
      break;
    }
    case ast::DeclKind::Func:
      prepareBlock(ast::as<ast::FuncDecl>(decl).body);
      break;
    case ast::DeclKind::Phase:
      prepareBlock(ast::as<ast::PhaseDecl>(decl).body);
      break;
    case ast::DeclKind::Test:
      for (const ast::TestStep &step : ast::as<ast::TestDecl>(decl).steps)
        if (step.kind == ast::TestStepKind::ExpectCondition)
          prepareExpr(*step.first);
      break;
    default:
      break;
    }
  }

  // ----------------------------------------------------------------------- expressions
  static uint32_t variableIndex(schema::VariableId id) { return static_cast<uint32_t>(id); }

  const schema::VariableInfo &variable(schema::VariableId id) const {
    return schema::variables()[static_cast<size_t>(id)];
  }

  Value readVariable(schema::VariableId id, Frame &f) const {
    const schema::VariableInfo &v = variable(id);
    switch (v.type) {
    case schema::FieldType::String:
      return Value::string(route_get_str(f.ctx, variableIndex(id)));
    case schema::FieldType::Int:
    case schema::FieldType::Duration:
      return Value::integer(route_get_int(f.ctx, variableIndex(id)));
    case schema::FieldType::Bool:
      return Value::boolean(route_get_int(f.ctx, variableIndex(id)) != 0);
    case schema::FieldType::Ip: {
      Value out;
      out.kind = Value::Kind::Ip;
      out.ip = route_get_ip(f.ctx, variableIndex(id));
      return out;
    }
    default:
      return {};
    }
  }

  // The variable a headers/strings expression names, if it does.
  static std::optional<schema::VariableId> fieldVariable(const ast::Expr &e) {
    if (e.kind == ast::ExprKind::Member)
      return ast::as<ast::MemberExpr>(e).variable;
    return std::nullopt;
  }

  RouteStr concat(Frame &f, RouteStr a, RouteStr b) const {
    char *out = route_arena_alloc(f.arena, a.size + b.size);
    if (a.size)
      std::memcpy(out, a.data, a.size);
    if (b.size)
      std::memcpy(out + a.size, b.data, b.size);
    return {out, a.size + b.size};
  }

  RouteStrList stringList(Frame &f, const Value &list) const {
    size_t n = list.list ? list.list->size() : 0;
    auto *items = reinterpret_cast<RouteStr *>(route_arena_alloc(f.arena, sizeof(RouteStr) * n));
    for (size_t i = 0; i < n; ++i)
      items[i] = (*list.list)[i].s;
    return {items, n};
  }

  Value eval(const ast::Expr &e, Frame &f) const {
    switch (e.kind) {
    case ast::ExprKind::Literal: {
      const auto &lit = ast::as<ast::LiteralExpr>(e);
      switch (lit.literal) {
      case ast::LiteralKind::Bool:
        return Value::boolean(lit.boolValue);
      case ast::LiteralKind::Int:
      case ast::LiteralKind::Duration:
        return Value::integer(lit.intValue);
      case ast::LiteralKind::String:
        return Value::string(str(lit.stringValue));
      case ast::LiteralKind::Ip: {
        Value out;
        out.kind = Value::Kind::Ip;
        std::memcpy(out.ip.bytes, lit.ip.bytes.data(), 16);
        out.ip.v6 = lit.ip.v6;
        out.prefix = lit.ip.prefix;
        return out;
      }
      }
      return {};
    }
    case ast::ExprKind::Name: {
      const auto &name = ast::as<ast::NameExpr>(e);
      switch (name.resolved) {
      case ast::NameKind::Local:
        return f.local(name.local);
      case ast::NameKind::Const: {
        auto it = consts.find(name.decl);
        if (it != consts.end())
          return it->second;
        // A const read while consts are prepared: evaluate it in place.
        Frame none;
        none.arena = constArena;
        return eval(*ast::as<ast::ConstDecl>(*name.decl).value, none);
      }
      case ast::NameKind::Upstream: {
        Value out;
        out.kind = Value::Kind::Upstream;
        out.upstream = upstreamIndex.at(name.decl);
        return out;
      }
      default:
        return {};
      }
    }
    case ast::ExprKind::Member: {
      const auto &m = ast::as<ast::MemberExpr>(e);
      if (m.captureMatch)
        return capture(f, m.captureMatch, m.captureGroup);
      if (m.variable)
        return readVariable(*m.variable, f);
      return {};
    }
    case ast::ExprKind::Index: {
      const auto &x = ast::as<ast::IndexExpr>(e);
      if (x.captureMatch)
        return capture(f, x.captureMatch, x.captureGroup);
      if (auto variable = fieldVariable(*x.base)) {
        Value key = eval(*x.index, f);
        return Value::string(route_field_get(f.ctx, variableIndex(*variable), key.s));
      }
      if (x.base->kind == ast::ExprKind::Name &&
          ast::as<ast::NameExpr>(*x.base).resolved == ast::NameKind::Map) {
        const MapTable &table = maps.at(ast::as<ast::NameExpr>(*x.base).decl);
        Value key = eval(*x.index, f);
        if (key.kind == Value::Kind::Int) {
          auto it = table.byInt.find(key.i);
          return it != table.byInt.end() ? it->second : table.fallback;
        }
        auto it = table.byString.find(std::string(view(key.s)));
        return it != table.byString.end() ? it->second : table.fallback;
      }
      Value list = eval(*x.base, f);
      Value index = eval(*x.index, f);
      if (list.list && index.i >= 0 && static_cast<size_t>(index.i) < list.list->size())
        return (*list.list)[static_cast<size_t>(index.i)];
      return zeroOf(e.type);
    }
    case ast::ExprKind::Call:
      return call(ast::as<ast::CallExpr>(e), f);
    case ast::ExprKind::List: {
      Value out;
      out.kind = Value::Kind::List;
      out.list = std::make_shared<std::vector<Value>>();
      for (const ast::ListElement &item : ast::as<ast::ListExpr>(e).elements)
        out.list->push_back(eval(*item.value, f));
      return out;
    }
    case ast::ExprKind::Unary: {
      const auto &u = ast::as<ast::UnaryExpr>(e);
      Value v = eval(*u.operand, f);
      return u.op == ast::UnaryOp::Not ? Value::boolean(!v.b)
                                       : Value::integer(wrap(0 - static_cast<uint64_t>(v.i)));
    }
    case ast::ExprKind::Binary:
      return binary(ast::as<ast::BinaryExpr>(e), f);
    case ast::ExprKind::Error:
      return {};
    }
    return {};
  }

  Value capture(Frame &f, const ast::BinaryExpr *match, int group) const {
    auto it = f.captures.find(match);
    if (it == f.captures.end() || group < 0 || static_cast<size_t>(group) >= it->second.size())
      return Value::string({"", 0});
    return Value::string(it->second[static_cast<size_t>(group)]);
  }

  Value binary(const ast::BinaryExpr &b, Frame &f) const {
    using Op = ast::BinaryOp;
    switch (b.op) {
    case Op::And:
      return Value::boolean(eval(*b.lhs, f).b && eval(*b.rhs, f).b);
    case Op::Or:
      return Value::boolean(eval(*b.lhs, f).b || eval(*b.rhs, f).b);
    case Op::Match:
    case Op::NotMatch: {
      Value subject = eval(*b.lhs, f);
      const RouteRegex *regex = regexes.at(&b);
      uint32_t groups = route_regex_groups(regex) + 1;
      std::vector<RouteStr> pieces(groups);
      bool matched = route_regex_match(regex, subject.s, pieces.data(), groups);
      if (matched && b.op == Op::Match)
        f.captures[&b] = std::move(pieces);
      return Value::boolean(matched == (b.op == Op::Match));
    }
    case Op::In:
      return Value::boolean(contains(b, f));
    default:
      break;
    }
    Value l = eval(*b.lhs, f), r = eval(*b.rhs, f);
    uint64_t ul = static_cast<uint64_t>(l.i), ur = static_cast<uint64_t>(r.i);
    switch (b.op) {
    case Op::Add:
      if (l.kind == Value::Kind::Str)
        return Value::string(concat(f, l.s, r.s));
      return Value::integer(wrap(ul + ur));
    case Op::Sub:
      return Value::integer(wrap(ul - ur));
    case Op::Mul:
      return Value::integer(wrap(ul * ur));
    case Op::Div:
      return Value::integer(divide(l.i, r.i, false));
    case Op::Mod:
      return Value::integer(divide(l.i, r.i, true));
    case Op::Eq:
      return Value::boolean(equal(l, r));
    case Op::Ne:
      return Value::boolean(!equal(l, r));
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: {
      int order =
          l.kind == Value::Kind::Str ? view(l.s).compare(view(r.s)) : (l.i > r.i) - (l.i < r.i);
      order = (order > 0) - (order < 0);
      return Value::boolean(b.op == Op::Lt   ? order < 0
                            : b.op == Op::Le ? order <= 0
                            : b.op == Op::Gt ? order > 0
                                             : order >= 0);
    }
    case Op::StartsWith:
      return Value::boolean(view(l.s).starts_with(view(r.s)));
    case Op::EndsWith:
      return Value::boolean(view(l.s).ends_with(view(r.s)));
    case Op::Contains:
      if (l.kind == Value::Kind::List) {
        for (const Value &item : *l.list)
          if (equal(item, r))
            return Value::boolean(true);
        return Value::boolean(false);
      }
      return Value::boolean(view(l.s).find(view(r.s)) != std::string_view::npos);
    default:
      return {};
    }
  }

  bool contains(const ast::BinaryExpr &b, Frame &f) const {
    const ast::Expr &set = *b.rhs;
    if (set.kind == ast::ExprKind::Name) {
      const auto &name = ast::as<ast::NameExpr>(set);
      if (name.resolved == ast::NameKind::Acl)
        return route_acl_contains(acls.at(name.decl), eval(*b.lhs, f).ip);
      if (name.resolved == ast::NameKind::Map) {
        const MapTable &table = maps.at(name.decl);
        Value key = eval(*b.lhs, f);
        return key.kind == Value::Kind::Int ? table.byInt.count(key.i) > 0
                                            : table.byString.count(std::string(view(key.s))) > 0;
      }
    }
    if (auto variable = fieldVariable(set))
      return route_field_has(f.ctx, variableIndex(*variable), eval(*b.lhs, f).s);
    Value item = eval(*b.lhs, f);
    Value container = eval(set, f);
    if (container.kind == Value::Kind::Ip) // a cidr
      return route_cidr_contains(container.ip, static_cast<uint8_t>(container.prefix), item.ip);
    if (container.list)
      for (const Value &candidate : *container.list)
        if (equal(candidate, item))
          return true;
    return false;
  }

  Value call(const ast::CallExpr &c, Frame &f) const {
    if (c.function)
      return callFunction(ast::as<ast::FuncDecl>(*c.function), c, f);
    std::vector<RouteValue> args(c.args.size());
    for (size_t i = 0; i < c.args.size(); ++i) {
      Value v = eval(*c.args[i].value, f);
      RouteValue &arg = args[i];
      arg = {};
      arg.i = v.kind == Value::Kind::Bool ? v.b : v.i;
      arg.s = v.s;
      arg.ip = v.ip;
      if (v.kind == Value::Kind::List)
        arg.list = stringList(f, v);
      auto regex = regexes.find(c.args[i].value.get());
      if (regex != regexes.end())
        arg.regex = regex->second;
    }
    RouteValue out{};
    route_call_builtin(f.arena, static_cast<uint32_t>(*c.builtin), args.data(), &out);
    switch (c.type->kind()) {
    case TypeKind::Int:
    case TypeKind::Duration:
      return Value::integer(out.i);
    case TypeKind::Bool:
      return Value::boolean(out.i != 0);
    case TypeKind::String:
      return Value::string(out.s);
    case TypeKind::Ip: {
      Value ip;
      ip.kind = Value::Kind::Ip;
      ip.ip = out.ip;
      return ip;
    }
    case TypeKind::List: {
      Value list;
      list.kind = Value::Kind::List;
      list.list = std::make_shared<std::vector<Value>>();
      for (uint64_t i = 0; i < out.list.size; ++i)
        list.list->push_back(Value::string(out.list.items[i]));
      return list;
    }
    default:
      return {};
    }
  }

  Value callFunction(const ast::FuncDecl &fn, const ast::CallExpr &c, Frame &caller) const {
    Frame frame;
    frame.ctx = caller.ctx;
    frame.arena = caller.arena;
    for (size_t i = 0; i < fn.params.size(); ++i)
      frame.locals.emplace_back(&fn.params[i], eval(*c.args[i].value, caller));
    exec(fn.body, frame);
    return frame.returned;
  }

  // ------------------------------------------------------------------------ statements
  void traced(Frame &f, SourceRange where, uint32_t rule) const {
    if (f.trace)
      f.trace->push_back(where);
    if (rule != ast::kNoRule)
      route_rule_hit(f.ctx, rule);
  }

  // A write the host refused (route/abi.h) is a run-time error of its statement: the host
  // learns where, and the phase ends.
  static Flow refused(int status, const ast::Stmt &stmt, Frame &f) {
    if (status == 0)
      return Flow::Next;
    route_fault(f.ctx, stmt.range.file, stmt.range.begin);
    return Flow::End;
  }

  Flow exec(const ast::Block &block, Frame &f) const {
    size_t scope = f.locals.size();
    for (const ast::StmtPtr &stmt : block.stmts) {
      if (exec(*stmt, f) == Flow::End) {
        f.locals.resize(scope);
        return Flow::End;
      }
    }
    f.locals.resize(scope);
    return Flow::Next;
  }

  Flow exec(const ast::Stmt &stmt, Frame &f) const {
    switch (stmt.kind) {
    case ast::StmtKind::If: {
      const auto &s = ast::as<ast::IfStmt>(stmt);
      for (const ast::IfStmt::Branch &branch : s.branches) {
        if (eval(*branch.condition, f).b) {
          traced(f, branch.condition->range, branch.rule);
          return exec(branch.body, f);
        }
      }
      return s.elseBlock ? exec(*s.elseBlock, f) : Flow::Next;
    }
    case ast::StmtKind::Let: {
      const auto &let = ast::as<ast::LetStmt>(stmt);
      f.locals.emplace_back(&let.binding, eval(*let.value, f));
      return Flow::Next;
    }
    case ast::StmtKind::Assign: {
      const auto &assign = ast::as<ast::AssignStmt>(stmt);
      Value value = eval(*assign.value, f);
      traced(f, stmt.range, stmt.rule);
      if (assign.target->kind == ast::ExprKind::Index) {
        const auto &x = ast::as<ast::IndexExpr>(*assign.target);
        Value key = eval(*x.index, f);
        return refused(
            route_field_set(f.ctx, variableIndex(*fieldVariable(*x.base)), key.s, value.s), stmt,
            f);
      }
      schema::VariableId id = *ast::as<ast::MemberExpr>(*assign.target).variable;
      if (variable(id).type == schema::FieldType::String)
        return refused(route_set_str(f.ctx, variableIndex(id), value.s), stmt, f);
      return refused(route_set_int(f.ctx, variableIndex(id),
                                   value.kind == Value::Kind::Bool ? value.b : value.i),
                     stmt, f);
    }
    case ast::StmtKind::Delete: {
      const auto &x = ast::as<ast::IndexExpr>(*ast::as<ast::DeleteStmt>(stmt).target);
      traced(f, stmt.range, stmt.rule);
      route_field_delete(f.ctx, variableIndex(*fieldVariable(*x.base)), eval(*x.index, f).s);
      return Flow::Next;
    }
    case ast::StmtKind::Respond: {
      const auto &r = ast::as<ast::RespondStmt>(stmt);
      traced(f, stmt.range, stmt.rule);
      Value status = eval(*r.status, f);
      refused(route_respond(f.ctx, status.i, r.body ? eval(*r.body, f).s : RouteStr{"", 0}), stmt,
              f);
      return Flow::End;
    }
    case ast::StmtKind::Redirect: {
      const auto &r = ast::as<ast::RedirectStmt>(stmt);
      traced(f, stmt.range, stmt.rule);
      int64_t status = r.status ? eval(*r.status, f).i : 302;
      refused(route_redirect(f.ctx, status, eval(*r.location, f).s), stmt, f);
      return Flow::End;
    }
    case ast::StmtKind::Route:
      traced(f, stmt.range, stmt.rule);
      route_route(f.ctx, eval(*ast::as<ast::RouteStmt>(stmt).target, f).upstream);
      return Flow::End;
    case ast::StmtKind::Retry:
      traced(f, stmt.range, stmt.rule);
      route_retry(f.ctx);
      return Flow::End;
    case ast::StmtKind::Return: {
      const auto &r = ast::as<ast::ReturnStmt>(stmt);
      if (r.value)
        f.returned = eval(*r.value, f);
      return Flow::End;
    }
    }
    return Flow::Next;
  }
};

Interpreter::Interpreter(const Program &program) : impl_(std::make_unique<Impl>(program)) {
}
Interpreter::~Interpreter() = default;

void Interpreter::runPhase(schema::Phase phase, RouteCtx *ctx,
                           std::vector<SourceRange> *trace) const {
  const ast::PhaseDecl *handler = impl_->program.phases[static_cast<size_t>(phase)];
  if (!handler)
    return;
  Frame frame;
  frame.ctx = ctx;
  frame.arena = route_ctx_arena(ctx);
  frame.trace = trace;
  impl_->exec(handler->body, frame);
}

bool Interpreter::evaluateCondition(const ast::Expr &condition, RouteCtx *ctx) const {
  Frame frame;
  frame.ctx = ctx;
  frame.arena = route_ctx_arena(ctx);
  return impl_->eval(condition, frame).b;
}

std::string Interpreter::evaluateKey(const ast::Expr &key, RouteCtx *ctx) const {
  Frame frame;
  frame.ctx = ctx;
  frame.arena = route_ctx_arena(ctx);
  Value v = impl_->eval(key, frame);
  switch (v.kind) {
  case Value::Kind::Str:
    return std::string(v.s.data ? v.s.data : "", static_cast<size_t>(v.s.size));
  case Value::Kind::Int:
    return std::to_string(v.i);
  case Value::Kind::Ip:
    return std::string(reinterpret_cast<const char *>(v.ip.bytes), sizeof v.ip.bytes);
  default:
    return "";
  }
}

} // namespace route
