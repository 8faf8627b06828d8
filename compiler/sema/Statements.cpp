#include "CheckerImpl.h"

#include "exchange/WireSyntax.h"

#include <fmt/format.h>

namespace route::sema {

namespace {

const char *terminatorName(const ast::Stmt &stmt) {
  switch (stmt.kind) {
  case ast::StmtKind::Respond:
    return "`respond`";
  case ast::StmtKind::Redirect:
    return "`redirect`";
  case ast::StmtKind::Route:
    return "`route`";
  case ast::StmtKind::Retry:
    return "`retry`";
  case ast::StmtKind::Return:
    return "`return`";
  default:
    return "the `if` above, whose every branch ends,";
  }
}

std::optional<std::string> variablePath(const ast::Expr &e) {
  if (e.kind == ast::ExprKind::Name)
    return ast::as<ast::NameExpr>(e).name;
  if (e.kind != ast::ExprKind::Member)
    return std::nullopt;
  auto base = variablePath(*ast::as<ast::MemberExpr>(e).base);
  return base ? std::optional(*base + "." + ast::as<ast::MemberExpr>(e).member) : std::nullopt;
}

} // namespace

void Checker::checkBlock(ast::Block &block) {
  scopes_.emplace_back();
  const ast::Stmt *ended = nullptr;
  bool reported = false;
  for (ast::StmtPtr &stmt : block.stmts) {
    if (ended && !reported) {
      diags_.error("unreachable", stmt->range, "unreachable statement")
          .withNote(ended->range,
                    fmt::format("{} always ends the {} here", terminatorName(*ended),
                                context_.kind == Context::Kind::Function ? "function" : "phase"));
      reported = true;
    }
    checkStatement(*stmt);
    if (!ended && alwaysEnds(*stmt))
      ended = stmt.get();
  }
  scopes_.pop_back();
}

bool Checker::checkAction(schema::ActionId id, SourceRange at) {
  const schema::ActionInfo &action = schema::action(id);
  if (context_.kind == Context::Kind::Function) {
    diags_
        .error("impure", at,
               fmt::format("functions are pure: `{}` is not allowed in a function", action.keyword))
        .withHint("decide in a phase, using the function's result");
    return false;
  }
  if (context_.kind == Context::Kind::Phase && !(action.allowed & schema::maskOf(context_.phase))) {
    diags_
        .error("phase", at,
               fmt::format("`{}` is not allowed in phase '{}'", action.keyword,
                           schema::phase(context_.phase).name))
        .withHint(fmt::format("`{}` is allowed in: {}", action.keyword,
                              schema::phaseNames(action.allowed)));
    return false;
  }
  return true;
}

void Checker::reportUnknownUpstream(const std::string &name, SourceRange at) {
  auto &d = diags_.error("unknown-upstream", at, fmt::format("unknown upstream '{}'", name));
  if (program_.upstreams.empty()) {
    d.withHint("declare it: upstream " + name + " { servers = [...] }");
    return;
  }
  auto guess = suggestFrom(name, [&] {
    std::vector<std::string> names;
    for (const ast::UpstreamDecl *u : program_.upstreams)
      names.push_back(u->name);
    return names;
  });
  if (guess)
    d.withHint(fmt::format("did you mean '{}'?", *guess));
}

void Checker::checkStatement(ast::Stmt &stmt) {
  switch (stmt.kind) {
  case ast::StmtKind::If:
    checkIf(ast::as<ast::IfStmt>(stmt));
    break;
  case ast::StmtKind::Let: {
    auto &let = ast::as<ast::LetStmt>(stmt);
    const Type *t = checkExpr(*let.value);
    if (let.declaredType) {
      const Type *declared = resolveType(*let.declaredType);
      if (!declared->isError() && !t->isError() && declared != t)
        diags_.error("type-mismatch", let.value->range,
                     fmt::format("'{}' is declared {} but its value is {}", let.binding.name,
                                 declared->str(), t->str()));
      t = declared;
    }
    let.binding.type = t;
    if (isReserved(let.binding.name, let.binding.range, "a binding"))
      break;
    for (const ast::LocalBinding *other : scopes_.back()) {
      if (other->name == let.binding.name) {
        diags_
            .error("duplicate", let.binding.range,
                   fmt::format("'{}' is already bound in this block", let.binding.name))
            .withNote(other->range, "first bound here")
            .withHint("bindings cannot be reassigned; choose another name");
        break;
      }
    }
    scopes_.back().push_back(&let.binding);
    allLocals_.push_back(&let.binding);
    break;
  }
  case ast::StmtKind::Assign:
    checkAssign(ast::as<ast::AssignStmt>(stmt));
    break;
  case ast::StmtKind::Delete:
    checkDelete(ast::as<ast::DeleteStmt>(stmt));
    break;
  case ast::StmtKind::Respond: {
    auto &respond = ast::as<ast::RespondStmt>(stmt);
    checkAction(schema::ActionId::Respond, stmt.range);
    if (expectType(*respond.status, types().integer(), "a response status")) {
      ConstValue v = evaluate(*respond.status);
      if (auto *status = std::get_if<int64_t>(&v.value); status && (*status < 200 || *status > 599))
        diags_.error("bad-status", respond.status->range,
                     fmt::format("{} is not a final response status (200 to 599)", *status));
    }
    if (respond.body)
      expectType(*respond.body, types().string(), "a response body");
    break;
  }
  case ast::StmtKind::Redirect: {
    auto &redirect = ast::as<ast::RedirectStmt>(stmt);
    checkAction(schema::ActionId::Redirect, stmt.range);
    if (redirect.status && expectType(*redirect.status, types().integer(), "a redirect status")) {
      ConstValue v = evaluate(*redirect.status);
      auto *status = std::get_if<int64_t>(&v.value);
      if (status && *status != 301 && *status != 302 && *status != 303 && *status != 307 &&
          *status != 308)
        diags_
            .error("bad-status", redirect.status->range,
                   fmt::format("{} is not a redirect status", *status))
            .withHint("redirects are 301, 302, 303, 307 or 308");
    }
    if (expectType(*redirect.location, types().string(), "a redirect location"))
      lintWireValue(*redirect.location, schema::VariableId::RespHeader);
    break;
  }
  case ast::StmtKind::Route: {
    auto &route = ast::as<ast::RouteStmt>(stmt);
    checkAction(schema::ActionId::Route, stmt.range);
    if (route.target->kind == ast::ExprKind::Name) {
      auto &name = ast::as<ast::NameExpr>(*route.target);
      bool local = false;
      for (const auto &scope : scopes_)
        for (const ast::LocalBinding *b : scope)
          local |= b->name == name.name;
      if (!local && !globals_.count(name.name) && !isReservedRoot(name.name)) {
        reportUnknownUpstream(name.name, route.target->range);
        route.target->type = types().error();
        break;
      }
    }
    expectType(*route.target, types().get(TypeKind::Upstream), "the target of `route`");
    break;
  }
  case ast::StmtKind::Retry:
    checkAction(schema::ActionId::Retry, stmt.range);
    break;
  case ast::StmtKind::Return: {
    auto &ret = ast::as<ast::ReturnStmt>(stmt);
    if (context_.kind == Context::Kind::Function) {
      if (!ret.value)
        diags_.error("missing-value", stmt.range,
                     fmt::format("function '{}' returns {}: `return` needs a value",
                                 context_.function->name, context_.function->returnType->str()));
      else
        expectType(*ret.value, context_.function->returnType, "the returned value");
    } else if (ret.value) {
      checkExpr(*ret.value);
      diags_.error("bad-return", ret.value->range, "a phase returns no value")
          .withHint("`return` alone ends the phase");
    }
    break;
  }
  }
}

const schema::VariableInfo *Checker::writableTarget(ast::Expr &target, const char *verb) {
  ast::Expr *variableExpr = &target;
  if (target.kind == ast::ExprKind::Index)
    variableExpr = ast::as<ast::IndexExpr>(target).base.get();
  std::optional<std::string> path = variablePath(*variableExpr);
  const schema::VariableInfo *variable = path ? schema::findVariable(*path) : nullptr;
  if (!variable) {
    checkExpr(target);
    if (target.type && !target.type->isError())
      diags_.error("not-assignable", target.range, fmt::format("this cannot be {}", verb))
          .withHint("only request and response fields and headers can change");
    return nullptr;
  }
  if (context_.kind == Context::Kind::Function) {
    diags_.error("impure", target.range,
                 fmt::format("functions are pure: '{}' cannot be {} in a function", *path, verb));
    return nullptr;
  }
  if (context_.kind == Context::Kind::Phase &&
      !(variable->writable & schema::maskOf(context_.phase))) {
    auto &d = diags_.error("phase", target.range,
                           fmt::format("'{}' cannot be {} in phase '{}'", *path, verb,
                                       schema::phase(context_.phase).name));
    if (variable->writable)
      d.withHint(fmt::format("it can be {} in: {}", verb, schema::phaseNames(variable->writable)));
    else
      d.withHint(fmt::format("'{}' is read-only", *path));
    return nullptr;
  }
  checkExpr(target);
  return variable;
}

// A constant that can never go on the wire as `variable` (a header value with CR or LF, a
// path with a space): its write is refused at run time, every time (a 500).
void Checker::lintWireValue(ast::Expr &value, schema::VariableId variable) {
  ConstValue v = evaluate(value);
  const auto *text = std::get_if<std::string>(&v.value);
  if (!text)
    return;
  using V = schema::VariableId;
  const char *problem = nullptr;
  switch (variable) {
  case V::ReqMethod:
  case V::UpstreamReqMethod:
    problem = wire::isToken(*text) ? nullptr : "a method is a token";
    break;
  case V::ReqPath:
  case V::UpstreamReqPath:
  case V::ReqQuery:
  case V::UpstreamReqQuery:
    problem = wire::isTargetPart(*text)
                  ? nullptr
                  : "a request target cannot hold a space, '#' or a control character";
    break;
  case V::ReqHeader:
  case V::UpstreamReqHeader:
  case V::UpstreamRespHeader:
  case V::RespHeader:
    problem = wire::isFieldValue(*text)
                  ? nullptr
                  : "a header value cannot hold CR, LF, NUL or another control character";
    break;
  default:
    break;
  }
  if (problem)
    diags_
        .warning("off-wire-value", value.range,
                 fmt::format("this value can never be sent: {}", problem))
        .withHint("the write is a run-time error each time it runs: the request is answered 500");
}

void Checker::checkAssign(ast::AssignStmt &stmt) {
  ast::Expr &target = *stmt.target;
  if (target.kind == ast::ExprKind::Name) {
    const Type *t = checkExpr(target);
    auto &name = ast::as<ast::NameExpr>(target);
    if (name.resolved == ast::NameKind::Local)
      diags_
          .error("not-assignable", target.range,
                 fmt::format("'{}' is a binding and cannot be reassigned", name.name))
          .withHint("bind a new name with `let`");
    else if (!t->isError())
      diags_.error("not-assignable", target.range,
                   fmt::format("'{}' is {} {} and cannot be assigned", name.name,
                               name.decl && (name.decl->kind == ast::DeclKind::Acl ||
                                             name.decl->kind == ast::DeclKind::Upstream)
                                   ? "an"
                                   : "a",
                               name.decl ? ast::describe(name.decl->kind) : "name"));
    checkExpr(*stmt.value);
    return;
  }
  const schema::VariableInfo *variable = writableTarget(target, "assigned");
  if (!variable) {
    checkExpr(*stmt.value);
    return;
  }
  if (variable->type == schema::FieldType::Headers && target.kind != ast::ExprKind::Index) {
    checkExpr(*stmt.value);
    diags_.error(
        "not-assignable", target.range,
        fmt::format("assign one header at a time: {}[\"name\"] = \"value\"", variable->name));
    return;
  }
  const Type *want = target.type && !target.type->isError() ? target.type : nullptr;
  if (!want) {
    checkExpr(*stmt.value);
    return;
  }
  lintWireValue(*stmt.value, variable->id);
  std::string what = fmt::format("a value for {}", variable->name);
  if (expectType(*stmt.value, want, what.c_str()) && want->kind() == TypeKind::Int &&
      std::string_view(variable->name).ends_with(".status")) {
    ConstValue v = evaluate(*stmt.value);
    if (auto *status = std::get_if<int64_t>(&v.value); status && (*status < 200 || *status > 599))
      diags_.error("bad-status", stmt.value->range,
                   fmt::format("{} is not a final response status (200 to 599)", *status));
  }
}

void Checker::checkDelete(ast::DeleteStmt &stmt) {
  ast::Expr &target = *stmt.target;
  bool headerIndex = false;
  if (target.kind == ast::ExprKind::Index) {
    auto path = variablePath(*ast::as<ast::IndexExpr>(target).base);
    const schema::VariableInfo *v = path ? schema::findVariable(*path) : nullptr;
    headerIndex = v && v->type == schema::FieldType::Headers;
  }
  if (!headerIndex) {
    checkExpr(target);
    diags_.error("not-deletable", target.range, "only headers can be deleted")
        .withHint("write: delete req.header[\"name\"]");
    return;
  }
  writableTarget(target, "deleted");
}

void Checker::collectCaptures(ast::Expr &condition, std::vector<const ast::BinaryExpr *> &out) {
  if (condition.kind != ast::ExprKind::Binary)
    return;
  auto &binary = ast::as<ast::BinaryExpr>(condition);
  if (binary.op == ast::BinaryOp::Match && binary.regex)
    out.push_back(&binary);
  if (binary.op == ast::BinaryOp::And) {
    collectCaptures(*binary.lhs, out);
    collectCaptures(*binary.rhs, out);
  }
}

void Checker::checkIf(ast::IfStmt &stmt) {
  for (ast::IfStmt::Branch &branch : stmt.branches) {
    expectType(*branch.condition, types().boolean(), "a condition");
    collectCaptures(*branch.condition, branch.captures);
    captureScopes_.push_back(branch.captures);
    checkBlock(branch.body);
    captureScopes_.pop_back();
  }
  if (stmt.elseBlock)
    checkBlock(*stmt.elseBlock);
}

} // namespace route::sema
