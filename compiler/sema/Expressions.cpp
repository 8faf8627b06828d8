#include "CheckerImpl.h"

#include "exchange/WireSyntax.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <limits>
#include <mutex>

namespace route::sema {

namespace {

std::optional<std::string> dottedPath(const ast::Expr &e) {
  if (e.kind == ast::ExprKind::Name)
    return ast::as<ast::NameExpr>(e).name;
  if (e.kind != ast::ExprKind::Member)
    return std::nullopt;
  const auto &member = ast::as<ast::MemberExpr>(e);
  auto base = dottedPath(*member.base);
  if (!base)
    return std::nullopt;
  return *base + "." + member.member;
}

std::vector<std::string> variableNames() {
  std::vector<std::string> names;
  for (const schema::VariableInfo &v : schema::variables())
    names.push_back(v.name);
  return names;
}

// A parsed builtin signature: parameter types (nullptr = any list) and the result.
struct Signature {
  std::vector<const Type *> params;
  std::vector<bool> regexParam;
  const Type *result = nullptr;
};

const Type *parseSignatureType(TypeContext &types, std::string text) {
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
  };
  text = trim(text);
  if (text.rfind("list<", 0) == 0)
    return types.list(parseSignatureType(types, text.substr(5, text.size() - 6)));
  static const std::pair<const char *, TypeKind> simple[] = {
      {"bool", TypeKind::Bool},   {"int", TypeKind::Int},   {"string", TypeKind::String},
      {"ip", TypeKind::Ip},       {"cidr", TypeKind::Cidr}, {"duration", TypeKind::Duration},
      {"regex", TypeKind::String}};
  for (const auto &[name, kind] : simple)
    if (text == name)
      return types.get(kind);
  return nullptr; // "list": any list
}

Signature parseSignature(TypeContext &types, std::string_view text) {
  Signature sig;
  auto open = text.find('('), close = text.find(')'), arrow = text.find("->");
  std::string params(text.substr(open + 1, close - open - 1));
  size_t start = 0;
  while (start < params.size()) {
    size_t comma = params.find(',', start);
    if (comma == std::string::npos)
      comma = params.size();
    std::string param = params.substr(start, comma - start);
    sig.regexParam.push_back(param.find("regex") != std::string::npos);
    sig.params.push_back(parseSignatureType(types, param));
    start = comma + 1;
  }
  sig.result = parseSignatureType(types, std::string(text.substr(arrow + 2)));
  return sig;
}

} // namespace

const Type *Checker::variableType(schema::FieldType type) {
  switch (type) {
  case schema::FieldType::Bool:
    return types().boolean();
  case schema::FieldType::Int:
    return types().integer();
  case schema::FieldType::String:
    return types().string();
  case schema::FieldType::Ip:
    return types().get(TypeKind::Ip);
  case schema::FieldType::Duration:
    return types().get(TypeKind::Duration);
  case schema::FieldType::Headers:
    return types().get(TypeKind::Headers);
  case schema::FieldType::Strings:
    return types().get(TypeKind::Strings);
  }
  return types().error();
}

bool Checker::expectType(ast::Expr &e, const Type *expected, const char *what) {
  const Type *actual = checkExpr(e);
  if (actual->isError() || expected->isError() || actual == expected)
    return !actual->isError();
  auto &d =
      diags_.error("type-mismatch", e.range,
                   fmt::format("{} must be {}, not {}", what, expected->str(), actual->str()));
  if (expected->kind() == TypeKind::String && actual->kind() == TypeKind::Int)
    d.withHint("convert with str(...)");
  else if (expected->kind() == TypeKind::Int && actual->kind() == TypeKind::String)
    d.withHint("convert with parse_int(..., fallback)");
  return false;
}

const Type *Checker::checkExpr(ast::Expr &e) {
  const Type *type = types().error();
  switch (e.kind) {
  case ast::ExprKind::Literal: {
    auto &lit = ast::as<ast::LiteralExpr>(e);
    switch (lit.literal) {
    case ast::LiteralKind::Bool:
      type = types().boolean();
      break;
    case ast::LiteralKind::Int:
      type = types().integer();
      break;
    case ast::LiteralKind::String:
      type = types().string();
      break;
    case ast::LiteralKind::Duration:
      type = types().get(TypeKind::Duration);
      break;
    case ast::LiteralKind::Ip:
      type = types().get(lit.ip.prefix >= 0 ? TypeKind::Cidr : TypeKind::Ip);
      break;
    }
    break;
  }
  case ast::ExprKind::Name:
    type = checkName(ast::as<ast::NameExpr>(e));
    break;
  case ast::ExprKind::Member:
    type = checkMember(ast::as<ast::MemberExpr>(e));
    break;
  case ast::ExprKind::Index:
    type = checkIndex(ast::as<ast::IndexExpr>(e));
    break;
  case ast::ExprKind::Call:
    type = checkCall(ast::as<ast::CallExpr>(e));
    break;
  case ast::ExprKind::List:
    type = checkList(ast::as<ast::ListExpr>(e));
    break;
  case ast::ExprKind::Unary:
    type = checkUnary(ast::as<ast::UnaryExpr>(e));
    break;
  case ast::ExprKind::Binary:
    type = checkBinary(ast::as<ast::BinaryExpr>(e));
    break;
  case ast::ExprKind::Error:
    break;
  }
  e.type = type;
  return type;
}

const Type *Checker::checkName(ast::NameExpr &e) {
  for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
    for (auto it = scope->rbegin(); it != scope->rend(); ++it) {
      if ((*it)->name == e.name) {
        (*it)->used = true;
        e.resolved = ast::NameKind::Local;
        e.local = *it;
        return (*it)->type ? (*it)->type : types().error();
      }
    }
  }
  if (e.name == "match") {
    diags_.error("not-a-value", e.range, "'match' alone is not a value")
        .withHint("read a capture of the regex match in scope as match.name or match[1]");
    return types().error();
  }
  if (isReservedRoot(e.name)) {
    std::string example;
    for (const schema::VariableInfo &v : schema::variables())
      if (std::string_view(v.name).rfind(e.name + ".", 0) == 0 && example.empty())
        example = v.name;
    diags_.error("not-a-value", e.range, fmt::format("'{}' alone is not a value", e.name))
        .withHint(fmt::format("read one of its fields, such as {}", example));
    return types().error();
  }
  ast::Decl *decl = lookupGlobal(e.name, e.range, true);
  if (!decl) {
    if (globals_.count(e.name))
      return types().error(); // reported as not imported
    auto &d = diags_.error("unknown-name", e.range, fmt::format("unknown name '{}'", e.name));
    if (auto guess = suggestFrom(e.name, [&] { return visibleNames(e.range.file); }))
      d.withHint(fmt::format("did you mean '{}'?", *guess));
    return types().error();
  }
  decl->used = true;
  e.decl = decl;
  switch (decl->kind) {
  case ast::DeclKind::Const: {
    auto &c = ast::as<ast::ConstDecl>(*decl);
    checkConst(c);
    e.resolved = ast::NameKind::Const;
    return c.type ? c.type : types().error();
  }
  case ast::DeclKind::Acl:
    checkAcl(ast::as<ast::AclDecl>(*decl));
    e.resolved = ast::NameKind::Acl;
    return types().get(TypeKind::Acl);
  case ast::DeclKind::Map: {
    auto &m = ast::as<ast::MapDecl>(*decl);
    checkMap(m);
    e.resolved = ast::NameKind::Map;
    if (!m.keyType || !m.valueType)
      return types().error();
    return types().map(m.keyType, m.valueType);
  }
  case ast::DeclKind::Upstream:
    e.resolved = ast::NameKind::Upstream;
    return types().get(TypeKind::Upstream);
  case ast::DeclKind::Func:
    diags_.error("not-a-value", e.range, fmt::format("'{}' is a function", e.name))
        .withHint(fmt::format("call it: {}(...)", e.name));
    return types().error();
  default:
    return types().error();
  }
}

bool Checker::isReservedRoot(const std::string &name) const {
  for (const schema::VariableInfo &v : schema::variables()) {
    std::string_view full = v.name;
    if (full.substr(0, full.find('.')) == name)
      return true;
  }
  return false;
}

const Type *Checker::checkMember(ast::MemberExpr &e) {
  std::optional<std::string> path = dottedPath(e);
  std::string root = path ? path->substr(0, path->find('.')) : "";
  bool rootIsLocalOrGlobal = false;
  if (path) {
    for (const auto &scope : scopes_)
      for (const ast::LocalBinding *local : scope)
        rootIsLocalOrGlobal |= local->name == root;
    rootIsLocalOrGlobal |= globals_.count(root) > 0 && !isReservedRoot(root) && root != "match";
  }
  if (!path || rootIsLocalOrGlobal) {
    const Type *base = checkExpr(*e.base);
    if (!base->isError())
      diags_.error("no-field", e.memberRange,
                   fmt::format("a value of type {} has no field '{}'", base->str(), e.member));
    return types().error();
  }

  if (root == "match") {
    if (e.base->kind != ast::ExprKind::Name) {
      diags_.error("no-field", e.memberRange, fmt::format("a capture has no field '{}'", e.member));
      return types().error();
    }
    std::vector<std::string> known;
    bool anyMatch = false;
    for (auto scope = captureScopes_.rbegin(); scope != captureScopes_.rend(); ++scope) {
      for (const ast::BinaryExpr *match : *scope) {
        anyMatch = true;
        const auto &names = match->regex->groupNames;
        for (size_t group = 0; group < names.size(); ++group) {
          if (names[group] == e.member) {
            e.captureMatch = match;
            e.captureGroup = static_cast<int>(group);
            return types().string();
          }
          if (!names[group].empty())
            known.push_back(names[group]);
        }
      }
    }
    if (!anyMatch) {
      diags_.error("no-match", e.range, fmt::format("no regex match in scope for '{}'", *path))
          .withHint("captures are readable inside the `if` whose condition matched with `~`");
      return types().error();
    }
    auto &d = diags_.error(
        "no-capture", e.memberRange,
        fmt::format("no capture group named '{}' in the regex match in scope", e.member));
    if (auto guess = suggest(e.member, known))
      d.withHint(fmt::format("did you mean '{}'?", *guess));
    else
      d.withHint("name a group with (?P<name>...)");
    return types().error();
  }

  const schema::VariableInfo *variable = schema::findVariable(*path);
  if (!variable) {
    if (schema::isVariablePrefix(*path)) {
      std::string example;
      for (const schema::VariableInfo &v : schema::variables())
        if (std::string_view(v.name).rfind(*path + ".", 0) == 0 && example.empty())
          example = v.name;
      diags_.error("not-a-value", e.range, fmt::format("'{}' alone is not a value", *path))
          .withHint(fmt::format("read one of its fields, such as {}", example));
      return types().error();
    }
    auto &d =
        diags_.error("unknown-variable", e.range, fmt::format("unknown variable '{}'", *path));
    if (auto guess = suggest(*path, variableNames()))
      d.withHint(fmt::format("did you mean '{}'?", *guess));
    return types().error();
  }
  e.variable = variable->id;
  switch (context_.kind) {
  case Context::Kind::Function:
    diags_
        .error("impure", e.range,
               fmt::format("functions are pure: '{}' cannot be read in a function", *path))
        .withHint("pass the value as an argument");
    return types().error();
  case Context::Kind::Constant:
    diags_.error("not-constant", e.range,
                 fmt::format("'{}' is only known at request time, not here", *path));
    return types().error();
  default:
    break;
  }
  if (!(variable->readable & context_.readable())) {
    diags_
        .error("phase", e.range,
               fmt::format("'{}' is not readable in phase '{}'", *path,
                           schema::phase(context_.phase).name))
        .withHint(fmt::format("it is readable in: {}", schema::phaseNames(variable->readable)));
    return types().error();
  }
  return variableType(variable->type);
}

void Checker::checkHeaderName(ast::Expr &index) {
  if (index.kind != ast::ExprKind::Literal)
    return;
  auto &lit = ast::as<ast::LiteralExpr>(index);
  if (lit.literal != ast::LiteralKind::String)
    return;
  if (!wire::isToken(lit.stringValue))
    diags_
        .error("bad-header-name", index.range,
               fmt::format("\"{}\" is not a valid header name", lit.stringValue))
        .withHint("header names are tokens: letters, digits and !#$%&'*+-.^_`|~");
}

const Type *Checker::checkIndex(ast::IndexExpr &e) {
  if (e.base->kind == ast::ExprKind::Name && ast::as<ast::NameExpr>(*e.base).name == "match" &&
      !globals_.count("match")) {
    const std::vector<const ast::BinaryExpr *> *innermost = nullptr;
    for (auto scope = captureScopes_.rbegin(); scope != captureScopes_.rend() && !innermost;
         ++scope)
      if (!scope->empty())
        innermost = &*scope;
    if (!innermost) {
      diags_.error("no-match", e.range, "no regex match in scope for 'match[...]'")
          .withHint("captures are readable inside the `if` whose condition matched with `~`");
      return types().error();
    }
    if (innermost->size() > 1) {
      diags_
          .error("ambiguous-capture", e.range,
                 "several regexes match here, so a group number is ambiguous")
          .withHint("name the group with (?P<name>...) and read match.name");
      return types().error();
    }
    const ast::BinaryExpr *match = innermost->front();
    ConstValue index = evaluate(*e.index);
    checkExpr(*e.index);
    auto *group = std::get_if<int64_t>(&index.value);
    size_t groups = match->regex->groupNames.size();
    if (!group || index.kind != TypeKind::Int) {
      diags_.error("type-mismatch", e.index->range,
                   "a capture group number must be a constant int");
      return types().error();
    }
    if (*group < 0 || static_cast<size_t>(*group) >= groups) {
      diags_.error(
          "no-capture", e.index->range,
          fmt::format("the regex has no group {}; it has groups 0 to {}", *group, groups - 1));
      return types().error();
    }
    e.captureMatch = match;
    e.captureGroup = static_cast<int>(*group);
    return types().string();
  }

  const Type *base = checkExpr(*e.base);
  switch (base->kind()) {
  case TypeKind::Error:
    checkExpr(*e.index);
    return types().error();
  case TypeKind::Headers:
    expectType(*e.index, types().string(), "a header name");
    checkHeaderName(*e.index);
    return types().string();
  case TypeKind::Strings:
    expectType(*e.index, types().string(), "a name");
    return types().string();
  case TypeKind::Map:
    expectType(*e.index, base->key(), "a key of this map");
    return base->value();
  case TypeKind::List:
    expectType(*e.index, types().integer(), "a list index");
    return base->element();
  default:
    checkExpr(*e.index);
    diags_.error("not-indexable", e.base->range,
                 fmt::format("a value of type {} cannot be indexed", base->str()));
    return types().error();
  }
}

const Type *Checker::checkCall(ast::CallExpr &e) {
  std::vector<const Type *> argTypes;
  for (ast::CallArgument &arg : e.args) {
    if (!arg.name.empty() && !context_.allowNamedArguments)
      diags_.error("named-argument", arg.nameRange,
                   "named arguments are only for upstream settings such as health = http(...)");
    if (arg.percent)
      diags_.error("bad-percentage", arg.value->range,
                   "a percentage is only an upstream setting's value, such as max_ejected = 50%");
    argTypes.push_back(checkExpr(*arg.value));
  }
  bool anyError =
      std::any_of(argTypes.begin(), argTypes.end(), [](const Type *t) { return t->isError(); });

  std::vector<const schema::BuiltinInfo *> rows;
  for (const schema::BuiltinInfo &b : schema::builtins())
    if (e.callee == b.name)
      rows.push_back(&b);
  if (!rows.empty()) {
    if (anyError)
      return types().error();
    for (const schema::BuiltinInfo *row : rows) {
      Signature sig = parseSignature(types(), row->signature);
      if (sig.params.size() != argTypes.size())
        continue;
      bool fits = true;
      for (size_t i = 0; i < argTypes.size(); ++i) {
        const Type *want = sig.params[i];
        fits &= want ? argTypes[i] == want : argTypes[i]->kind() == TypeKind::List;
      }
      if (!fits)
        continue;
      e.builtin = row->id;
      if (!row->pure && context_.kind == Context::Kind::Function)
        diags_
            .error("impure", e.range,
                   fmt::format("functions are pure: '{}' cannot be called in a function", e.callee))
            .withHint("call it in a phase and pass the result as an argument");
      for (size_t i = 0; i < argTypes.size(); ++i) {
        if (!sig.regexParam[i])
          continue;
        ConstValue pattern = evaluate(*e.args[i].value);
        auto *text = std::get_if<std::string>(&pattern.value);
        if (!text) {
          diags_.error("not-constant", e.args[i].value->range,
                       "a regex must be a constant string, compiled when the policy is checked");
          continue;
        }
        RE2::Options options;
        options.set_log_errors(false);
        RE2 re(*text, options);
        if (!re.ok())
          diags_.error("bad-regex", e.args[i].value->range,
                       fmt::format("invalid regex: {}", re.error()));
      }
      return sig.result ? sig.result : types().error();
    }
    std::string got;
    for (const Type *t : argTypes)
      got += (got.empty() ? "" : ", ") + t->str();
    auto &d =
        diags_.error("bad-call", e.range, fmt::format("no form of '{}' takes ({})", e.callee, got));
    std::string forms;
    for (const schema::BuiltinInfo *row : rows)
      forms += (forms.empty() ? "" : " or ") + std::string(row->name) + row->signature;
    d.withHint(fmt::format("'{}' is {}", e.callee, forms));
    return types().error();
  }

  ast::Decl *decl = lookupGlobal(e.callee, e.calleeRange, true);
  if (!decl) {
    if (globals_.count(e.callee))
      return types().error();
    auto &d = diags_.error("unknown-function", e.calleeRange,
                           fmt::format("unknown function '{}'", e.callee));
    auto guess = suggestFrom(e.callee, [&] {
      std::vector<std::string> names;
      for (const schema::BuiltinInfo &b : schema::builtins())
        names.push_back(b.name);
      for (const auto &[name, decl] : globals_)
        if (decl->kind == ast::DeclKind::Func)
          names.push_back(name);
      return names;
    });
    if (guess)
      d.withHint(fmt::format("did you mean '{}'?", *guess));
    return types().error();
  }
  if (decl->kind != ast::DeclKind::Func) {
    diags_
        .error("not-callable", e.calleeRange,
               fmt::format("'{}' is {} {}, not a function", e.callee,
                           decl->kind == ast::DeclKind::Acl || decl->kind == ast::DeclKind::Upstream
                               ? "an"
                               : "a",
                           ast::describe(decl->kind)))
        .withNote(decl->nameRange, "declared here");
    return types().error();
  }
  auto &fn = ast::as<ast::FuncDecl>(*decl);
  fn.used = true;
  e.function = &fn;
  if (context_.kind == Context::Kind::Function)
    calls_[context_.function].push_back({&fn, e.calleeRange});
  if (fn.params.size() != argTypes.size()) {
    diags_
        .error("bad-call", e.range,
               fmt::format("'{}' takes {} argument{}, not {}", e.callee, fn.params.size(),
                           fn.params.size() == 1 ? "" : "s", argTypes.size()))
        .withNote(fn.nameRange, "declared here");
    return fn.returnType ? fn.returnType : types().error();
  }
  for (size_t i = 0; i < argTypes.size(); ++i) {
    const Type *want = fn.params[i].type;
    if (!want || want->isError() || argTypes[i]->isError() || want == argTypes[i])
      continue;
    diags_.error("type-mismatch", e.args[i].value->range,
                 fmt::format("argument '{}' of '{}' must be {}, not {}", fn.params[i].name,
                             e.callee, want->str(), argTypes[i]->str()));
  }
  return fn.returnType ? fn.returnType : types().error();
}

const Type *Checker::checkList(ast::ListExpr &e) {
  const Type *element = nullptr;
  for (ast::ListElement &item : e.elements) {
    const Type *t = checkExpr(*item.value);
    if (item.weight)
      diags_.error("misplaced-weight", item.weight->range,
                   "`weight` is only for the servers of an upstream");
    if (t->isError())
      continue;
    if (!element) {
      element = t;
    } else if (t != element) {
      diags_.error(
          "type-mismatch", item.value->range,
          fmt::format("list elements must all be {}; this one is {}", element->str(), t->str()));
    }
  }
  if (!element) {
    if (e.elements.empty())
      diags_.error("empty-list", e.range, "an empty list has no element type")
          .withHint("a condition on an empty list is always the same; remove it");
    return types().error();
  }
  return types().list(element);
}

const Type *Checker::checkUnary(ast::UnaryExpr &e) {
  if (e.op == ast::UnaryOp::Not) {
    expectType(*e.operand, types().boolean(), "the operand of 'not'");
    return types().boolean();
  }
  const Type *t = checkExpr(*e.operand);
  if (t->isError())
    return t;
  if (t->kind() != TypeKind::Int) {
    diags_.error("type-mismatch", e.operand->range,
                 fmt::format("'-' needs an int, not {}", t->str()));
    return types().error();
  }
  return t;
}

const Type *Checker::checkBinary(ast::BinaryExpr &e) {
  using Op = ast::BinaryOp;
  if (e.op == Op::Match || e.op == Op::NotMatch)
    return checkRegexMatch(e);
  if (e.op == Op::In)
    return checkIn(e);
  if (e.op == Op::And || e.op == Op::Or) {
    expectType(*e.lhs, types().boolean(), fmt::format("the left of '{}'", spelling(e.op)).c_str());
    expectType(*e.rhs, types().boolean(), fmt::format("the right of '{}'", spelling(e.op)).c_str());
    return types().boolean();
  }
  const Type *lhs = checkExpr(*e.lhs);
  const Type *rhs = checkExpr(*e.rhs);
  if (lhs->isError() || rhs->isError())
    return (e.op >= Op::Eq) ? types().boolean() : types().error();

  auto mismatch = [&](const char *hint) -> const Type * {
    auto &d = diags_.error(
        "type-mismatch", e.opRange,
        fmt::format("'{}' cannot combine {} and {}", spelling(e.op), lhs->str(), rhs->str()));
    if (hint)
      d.withHint(hint);
    return types().error();
  };

  switch (e.op) {
  case Op::Add:
    if (lhs == rhs && (lhs->kind() == TypeKind::Int || lhs->kind() == TypeKind::String ||
                       lhs->kind() == TypeKind::Duration))
      return lhs;
    if ((lhs->kind() == TypeKind::String) != (rhs->kind() == TypeKind::String))
      return mismatch("there is no implicit conversion to string: use str(...)");
    return mismatch(nullptr);
  case Op::Sub:
    if (lhs == rhs && (lhs->kind() == TypeKind::Int || lhs->kind() == TypeKind::Duration))
      return lhs;
    return mismatch(nullptr);
  case Op::Mul:
  case Op::Div:
  case Op::Mod:
    if (lhs->kind() == TypeKind::Int && rhs->kind() == TypeKind::Int)
      return lhs;
    return mismatch(nullptr);
  case Op::Eq:
  case Op::Ne:
    if (lhs != rhs) {
      mismatch(lhs->kind() == TypeKind::String || rhs->kind() == TypeKind::String
                   ? "there is no implicit string conversion: use str(...) or parse_int(...)"
                   : nullptr);
      return types().boolean();
    }
    if (lhs->kind() == TypeKind::List || lhs->kind() == TypeKind::Map ||
        lhs->kind() == TypeKind::Acl || lhs->kind() == TypeKind::Headers ||
        lhs->kind() == TypeKind::Strings)
      diags_.error("type-mismatch", e.opRange,
                   fmt::format("values of type {} cannot be compared", lhs->str()));
    return types().boolean();
  case Op::Lt:
  case Op::Le:
  case Op::Gt:
  case Op::Ge:
    if (lhs != rhs || (lhs->kind() != TypeKind::Int && lhs->kind() != TypeKind::Duration &&
                       lhs->kind() != TypeKind::String))
      mismatch(nullptr);
    return types().boolean();
  case Op::StartsWith:
  case Op::EndsWith:
    if (lhs->kind() != TypeKind::String || rhs->kind() != TypeKind::String)
      mismatch(nullptr);
    return types().boolean();
  case Op::Contains:
    if (lhs->kind() == TypeKind::String && rhs->kind() == TypeKind::String)
      return types().boolean();
    if (lhs->kind() == TypeKind::List && lhs->element() == rhs)
      return types().boolean();
    mismatch(nullptr);
    return types().boolean();
  default:
    return types().error();
  }
}

const Type *Checker::checkRegexMatch(ast::BinaryExpr &e) {
  expectType(*e.lhs, types().string(), "the subject of a regex match");
  const Type *rhs = checkExpr(*e.rhs);
  if (rhs->isError())
    return types().boolean();
  ConstValue pattern = evaluate(*e.rhs);
  auto *text = std::get_if<std::string>(&pattern.value);
  if (!text) {
    diags_
        .error(
            "not-constant", e.rhs->range,
            rhs->kind() == TypeKind::String
                ? "the pattern of a regex match must be a constant string"
                : fmt::format("the pattern of a regex match must be a string, not {}", rhs->str()))
        .withHint("patterns are compiled when the policy is checked; write r\"...\"");
    return types().boolean();
  }
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(*text, options);
  if (!re.ok()) {
    auto &d = diags_.error("bad-regex", e.rhs->range, fmt::format("invalid regex: {}", re.error()));
    if (!re.error_arg().empty())
      d.withHint(fmt::format("at '{}'", re.error_arg()));
    return types().boolean();
  }
  auto info = std::make_shared<ast::RegexInfo>();
  info->pattern = *text;
  info->groupNames.assign(re.NumberOfCapturingGroups() + 1, "");
  for (const auto &[name, index] : re.NamedCapturingGroups())
    info->groupNames[index] = name;
  e.regex = std::move(info);
  return types().boolean();
}

const Type *Checker::checkIn(ast::BinaryExpr &e) {
  const Type *lhs = checkExpr(*e.lhs);
  const Type *rhs = checkExpr(*e.rhs);
  if (lhs->isError() || rhs->isError())
    return types().boolean();
  const Type *want = nullptr;
  switch (rhs->kind()) {
  case TypeKind::Acl:
  case TypeKind::Cidr:
    want = types().get(TypeKind::Ip);
    break;
  case TypeKind::List:
    want = rhs->element();
    break;
  case TypeKind::Map:
    want = rhs->key();
    break;
  case TypeKind::Headers:
  case TypeKind::Strings:
    want = types().string();
    break;
  default:
    diags_.error("type-mismatch", e.rhs->range,
                 fmt::format("the right of 'in' must be an acl, a network, a list, a map or "
                             "headers, not {}",
                             rhs->str()));
    return types().boolean();
  }
  if (lhs != want)
    diags_.error("type-mismatch", e.lhs->range,
                 fmt::format("'in' a value of type {} takes {}, not {}", rhs->str(), want->str(),
                             lhs->str()));
  return types().boolean();
}

bool Checker::isConstant(const ast::Expr &e) const {
  switch (e.kind) {
  case ast::ExprKind::Literal:
  case ast::ExprKind::Error:
    return true;
  case ast::ExprKind::Name:
    return ast::as<ast::NameExpr>(e).resolved == ast::NameKind::Const ||
           ast::as<ast::NameExpr>(e).resolved == ast::NameKind::Upstream ||
           ast::as<ast::NameExpr>(e).resolved == ast::NameKind::Unresolved;
  case ast::ExprKind::List:
    for (const ast::ListElement &item : ast::as<ast::ListExpr>(e).elements)
      if (!isConstant(*item.value))
        return false;
    return true;
  case ast::ExprKind::Unary:
    return isConstant(*ast::as<ast::UnaryExpr>(e).operand);
  case ast::ExprKind::Binary:
    return isConstant(*ast::as<ast::BinaryExpr>(e).lhs) &&
           isConstant(*ast::as<ast::BinaryExpr>(e).rhs);
  default:
    return false;
  }
}

} // namespace route::sema
