#include "Codegen.h"

#include "ast/Walk.h"
#include "sema/Constants.h"

#include <llvm/IR/CFG.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace route::jit {

RuntimeData::~RuntimeData() {
  for (RouteRegex *r : regexes_)
    route_regex_free(r);
  for (RouteAcl *a : acls_)
    route_acl_free(a);
  for (RouteRegexSet *s : regexSets_)
    route_regex_set_free(s);
}

const void *RuntimeData::add(image::Table table) {
  using Kind = image::Table::Kind;
  const void *object = nullptr;
  switch (table.kind) {
  case Kind::Regex: {
    const std::string &pattern = table.texts.at(0).first;
    RouteRegex *regex = route_regex_compile({pattern.data(), pattern.size()});
    if (regex)
      regexes_.push_back(regex);
    object = regex;
    break;
  }
  case Kind::RegexSet: {
    std::vector<RouteStr> patterns;
    for (const auto &[pattern, index] : table.texts)
      patterns.push_back({pattern.data(), pattern.size()});
    RouteRegexSet *set =
        route_regex_set_compile(patterns.data(), static_cast<uint32_t>(patterns.size()));
    if (set)
      regexSets_.push_back(set);
    object = set;
    break;
  }
  case Kind::Acl: {
    std::vector<RouteIp> networks;
    std::vector<uint8_t> prefixes;
    for (const auto &[address, prefix] : table.texts) {
      RouteIp ip{};
      if (address.size() != sizeof ip.bytes + 1 || prefix < 0 || prefix > 128)
        return nullptr;
      std::memcpy(ip.bytes, address.data(), sizeof ip.bytes);
      ip.v6 = static_cast<uint8_t>(address.back());
      networks.push_back(ip);
      prefixes.push_back(static_cast<uint8_t>(prefix));
    }
    RouteAcl *acl = route_acl_create(networks.data(), prefixes.data(), networks.size());
    if (acl)
      acls_.push_back(acl);
    object = acl;
    break;
  }
  case Kind::Map: {
    auto &index = *maps_.emplace_back(std::make_unique<MapIndex>());
    for (const auto &[key, position] : table.texts)
      index.strings.emplace(key, static_cast<int32_t>(position));
    for (const auto &[key, position] : table.numbers)
      index.ints.emplace(key, static_cast<int32_t>(position));
    object = &index;
    break;
  }
  case Kind::Prefixes: {
    auto &index = *prefixes_.emplace_back(std::make_unique<PrefixIndex>());
    for (const auto &[prefix, rule] : table.texts)
      index.add(prefix, static_cast<int32_t>(rule));
    object = &index;
    break;
  }
  }
  if (object) {
    objects.push_back(object);
    tables.push_back(std::move(table));
  }
  return object;
}

std::string phaseSymbol(schema::Phase phase) {
  return std::string("route_phase_") + schema::phase(phase).name;
}

std::string keySymbol(size_t index) {
  return "route_key_" + std::to_string(index);
}

std::string objectSymbol(size_t index) {
  return "route_obj_" + std::to_string(index);
}

std::vector<std::pair<const char *, void *>> hostSymbols() {
#define HOST(name) {#name, reinterpret_cast<void *>(&name)}
  return {HOST(rj_get_str),          HOST(rj_get_ip),
          HOST(rj_set_str),          HOST(rj_field_get),
          HOST(rj_field_has),        HOST(rj_field_set),
          HOST(rj_field_delete),     HOST(rj_respond),
          HOST(rj_redirect),         HOST(rj_str_compare),
          HOST(rj_str_starts),       HOST(rj_str_ends),
          HOST(rj_str_contains),     HOST(rj_concat),
          HOST(rj_str_int),          HOST(rj_ip_bytes),
          HOST(rj_regex_match),      HOST(rj_acl_contains),
          HOST(rj_cidr_contains),    HOST(rj_ip_equal),
          HOST(rj_map_find_str),     HOST(rj_map_find_int),
          HOST(rj_strlist_contains), HOST(rj_prefix_next),
          HOST(rj_regex_set_match),  HOST(route_get_int),
          HOST(route_set_int),       HOST(route_route),
          HOST(route_retry),         HOST(route_rule_hit),
          HOST(route_ctx_arena),     HOST(route_call_builtin),
          HOST(route_fault),         {"memcmp", reinterpret_cast<void *>(&memcmp)}};
#undef HOST
}

namespace {

using llvm::Value;

class Codegen {
public:
  Codegen(const Program &program, llvm::Module &module, RuntimeData &data)
      : program_(program), m_(module), c_(module.getContext()), b_(c_), data_(data) {
    i1_ = b_.getInt1Ty();
    i8_ = b_.getInt8Ty();
    i32_ = b_.getInt32Ty();
    i64_ = b_.getInt64Ty();
    ptr_ = b_.getPtrTy();
    str_ = llvm::StructType::create(c_, {ptr_, i64_}, "RouteStr");
    ip_ = llvm::StructType::create(c_, {llvm::ArrayType::get(i8_, 16), i8_}, "RouteIp");
    list_ = llvm::StructType::create(c_, {ptr_, i64_}, "RouteList");
    value_ = llvm::StructType::create(c_, {i64_, str_, ip_, list_, ptr_}, "RouteValue");
  }

  void run() {
    // Declare every user function first, so that calls lower whatever the order.
    for (ast::Module *module : program_.modules)
      for (const ast::DeclPtr &decl : module->decls)
        if (decl->kind == ast::DeclKind::Func)
          declare(ast::as<ast::FuncDecl>(*decl));
    for (auto &[fn, function] : functions_)
      defineFunction(*fn, function);
    for (const ast::PhaseDecl *phase : program_.phases)
      if (phase)
        definePhase(*phase);
    for (size_t u = 0; u < program_.upstreams.size(); ++u)
      if (const ast::Expr *key = program_.upstreams[u]->config.balanceKey)
        defineKey(u, *key);
  }

private:
  // ------------------------------------------------------------------------ types
  llvm::Type *repr(const Type *type) {
    switch (type->kind()) {
    case TypeKind::Bool:
      return i1_;
    case TypeKind::Int:
    case TypeKind::Duration:
      return i64_;
    case TypeKind::String:
      return str_;
    case TypeKind::Ip:
    case TypeKind::Cidr:
      return ptr_; // to a RouteIp
    case TypeKind::Upstream:
      return i32_;
    case TypeKind::List:
      if (type->element()->kind() == TypeKind::String || type->element()->kind() == TypeKind::Int)
        return list_;
      break;
    default:
      break;
    }
    throw Unsupported("values of type " + type->str());
  }

  llvm::FunctionCallee host(const char *name, llvm::Type *result,
                            std::vector<llvm::Type *> params) {
    return m_.getOrInsertFunction(name, llvm::FunctionType::get(result, params, false));
  }

  // ------------------------------------------------------------------- functions
  void declare(const ast::FuncDecl &fn) {
    std::vector<llvm::Type *> params{ptr_, ptr_}; // ctx, arena
    for (const ast::LocalBinding &p : fn.params)
      params.push_back(repr(p.type));
    auto *type = llvm::FunctionType::get(repr(fn.returnType), params, false);
    functions_[&fn] =
        llvm::Function::Create(type, llvm::Function::InternalLinkage, "route_fn_" + fn.name, m_);
  }

  void begin(llvm::Function *function) {
    function_ = function;
    entry_ = llvm::BasicBlock::Create(c_, "entry", function);
    b_.SetInsertPoint(entry_);
    locals_.clear();
    groups_.clear();
    variableSlots_.clear();
    fieldSlots_.clear();
  }

  // ------------------------------------------------------------- cached reads
  // A phase reads each variable (and each header by a constant name) once, and again only
  // after it writes it: a rule chain that tests req.host a thousand times asks the host
  // once. Nothing but the phase itself changes the exchange meanwhile. Strings and numbers
  // cost the host next to nothing and are read at the phase's start; an address or a
  // header costs a conversion or a lookup and is read when first needed, with a flag
  // saying its slot is current, so a read behind a condition that fails is never made.
  void collectReads(const ast::Expr &e) {
    if (e.kind == ast::ExprKind::Member && ast::as<ast::MemberExpr>(e).variable) {
      schema::VariableId id = *ast::as<ast::MemberExpr>(e).variable;
      if (isScalar(id))
        variableSlots_.emplace(id, Cached{});
      return;
    }
    if (e.kind == ast::ExprKind::Index) {
      const auto &x = ast::as<ast::IndexExpr>(e);
      if (x.base->kind == ast::ExprKind::Member && ast::as<ast::MemberExpr>(*x.base).variable &&
          x.index->kind == ast::ExprKind::Literal) {
        fieldSlots_.emplace(fieldKey(*ast::as<ast::MemberExpr>(*x.base).variable, *x.index),
                            Cached{});
        return;
      }
    }
    ast::forEachChild(e, [&](const ast::Expr &child) { collectReads(child); });
  }

  void collectReads(const ast::Block &block) {
    ast::forEachExpression(block, [&](const ast::Expr &e, ast::ExprRole role) {
      if (role == ast::ExprRole::Value)
        collectReads(e);
      else if (e.kind == ast::ExprKind::Index) // a write reads only the header's name
        collectReads(*ast::as<ast::IndexExpr>(e).index);
    });
  }

  void cacheReads(const ast::Block &body) {
    collectReads(body);
    for (auto &[id, cached] : variableSlots_) {
      schema::FieldType type = schema::variables()[static_cast<size_t>(id)].type;
      if (type == schema::FieldType::Ip) {
        cached = lazyCache(ip_, "var");
      } else {
        cached.value = slot(variableSlotType(id), "var");
        readVariableInto(id, cached.value);
      }
    }
    for (auto &[key, cached] : fieldSlots_)
      cached = lazyCache(str_, "field");
  }

  struct Cached {
    llvm::AllocaInst *value = nullptr;
    llvm::AllocaInst *current = nullptr; // i1, for a lazy read: value holds the host's answer
  };

  Cached lazyCache(llvm::Type *type, const char *name) {
    Cached cached{slot(type, name), slot(i1_, "current")};
    b_.CreateStore(b_.getInt1(false), cached.current);
    return cached;
  }

  // Reads into the cache unless it is current, and returns its slot.
  template <typename Read> llvm::AllocaInst *current(const Cached &cached, Read read) {
    if (!cached.current)
      return cached.value;
    auto *load = llvm::BasicBlock::Create(c_, "read", function_);
    auto *ready = llvm::BasicBlock::Create(c_, "read.done", function_);
    b_.CreateCondBr(b_.CreateLoad(i1_, cached.current), ready, load);
    b_.SetInsertPoint(load);
    read(cached.value);
    b_.CreateStore(b_.getInt1(true), cached.current);
    b_.CreateBr(ready);
    b_.SetInsertPoint(ready);
    return cached.value;
  }

  template <typename Read> void invalidate(const Cached &cached, Read read) {
    if (cached.current)
      b_.CreateStore(b_.getInt1(false), cached.current);
    else
      read(cached.value);
  }

  static bool isScalar(schema::VariableId id) {
    schema::FieldType type = schema::variables()[static_cast<size_t>(id)].type;
    return type != schema::FieldType::Headers && type != schema::FieldType::Strings;
  }

  static std::string lowered(std::string text) {
    for (char &c : text)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  llvm::Type *variableSlotType(schema::VariableId id) {
    switch (schema::variables()[static_cast<size_t>(id)].type) {
    case schema::FieldType::String:
      return str_;
    case schema::FieldType::Ip:
      return ip_;
    default:
      return i64_;
    }
  }

  void readVariableInto(schema::VariableId id, Value *into) {
    Value *index = b_.getInt32(variableIndex(id));
    switch (schema::variables()[static_cast<size_t>(id)].type) {
    case schema::FieldType::String:
      b_.CreateCall(host("rj_get_str", b_.getVoidTy(), {ptr_, i32_, ptr_}), {ctx_, index, into});
      break;
    case schema::FieldType::Ip:
      b_.CreateCall(host("rj_get_ip", b_.getVoidTy(), {ptr_, i32_, ptr_}), {ctx_, index, into});
      break;
    default:
      b_.CreateStore(b_.CreateCall(host("route_get_int", i64_, {ptr_, i32_}), {ctx_, index}), into);
    }
  }

  struct FieldKey {
    schema::VariableId variable;
    std::string name; // lowercased for headers
    bool operator<(const FieldKey &o) const {
      return variable != o.variable ? variable < o.variable : name < o.name;
    }
  };

  // Header names compare case-insensitively; cookie and argument names exactly.
  static FieldKey fieldKey(schema::VariableId id, const ast::Expr &literalName) {
    const std::string &name = ast::as<ast::LiteralExpr>(literalName).stringValue;
    bool headers = schema::variables()[static_cast<size_t>(id)].type == schema::FieldType::Headers;
    return {id, headers ? lowered(name) : name};
  }

  void readFieldInto(const FieldKey &key, Value *into) {
    b_.CreateCall(
        host("rj_field_get", b_.getVoidTy(), {ptr_, i32_, ptr_, ptr_}),
        {ctx_, b_.getInt32(variableIndex(key.variable)), spill(stringConstant(key.name)), into});
  }

  // After a write to header map `id`, the cached reads it may have changed are read again.
  void refreshFields(schema::VariableId id, const ast::Expr &name) {
    std::optional<std::string> written;
    if (name.kind == ast::ExprKind::Literal)
      written = fieldKey(id, name).name;
    for (auto &[key, cached] : fieldSlots_)
      if (key.variable == id && (!written || *written == key.name))
        invalidate(cached, [&](Value *into) { readFieldInto(key, into); });
  }

  void defineFunction(const ast::FuncDecl &fn, llvm::Function *function) {
    begin(function);
    ctx_ = function->getArg(0);
    arena_ = function->getArg(1);
    for (size_t i = 0; i < fn.params.size(); ++i)
      locals_[&fn.params[i]] = function->getArg(static_cast<unsigned>(i + 2));
    block(fn.body);
    if (!b_.GetInsertBlock()->getTerminator())
      b_.CreateUnreachable(); // the checker proved every path returns
  }

  void definePhase(const ast::PhaseDecl &phase) {
    auto *type = llvm::FunctionType::get(b_.getVoidTy(), {ptr_}, false);
    auto *function = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                            phaseSymbol(*phase.phase), m_);
    begin(function);
    ctx_ = function->getArg(0);
    arena_ = b_.CreateCall(host("route_ctx_arena", ptr_, {ptr_}), {ctx_});
    cacheReads(phase.body);
    block(phase.body);
    if (!b_.GetInsertBlock()->getTerminator())
      b_.CreateRetVoid();
  }

  // An upstream's balancing key, evaluated as the request phase would.
  void defineKey(size_t upstream, const ast::Expr &key) {
    auto *type = llvm::FunctionType::get(b_.getVoidTy(), {ptr_, ptr_}, false);
    auto *function =
        llvm::Function::Create(type, llvm::Function::ExternalLinkage, keySymbol(upstream), m_);
    begin(function);
    ctx_ = function->getArg(0);
    arena_ = b_.CreateCall(host("route_ctx_arena", ptr_, {ptr_}), {ctx_});
    Value *value = expr(key);
    Value *out = function->getArg(1);
    switch (key.type->kind()) {
    case TypeKind::Int:
      b_.CreateCall(host("rj_str_int", b_.getVoidTy(), {ptr_, i64_, ptr_}), {arena_, value, out});
      break;
    case TypeKind::Ip: // the value may be in this function's frame: copied out
      b_.CreateCall(host("rj_ip_bytes", b_.getVoidTy(), {ptr_, ptr_, ptr_}), {arena_, value, out});
      break;
    default:
      b_.CreateStore(value, out);
      break;
    }
    b_.CreateRetVoid();
  }

  // Stack slots live in the entry block, where SROA and mem2reg find them.
  llvm::AllocaInst *slot(llvm::Type *type, const char *name = "") {
    llvm::IRBuilder<> entry(entry_, entry_->begin());
    return entry.CreateAlloca(type, nullptr, name);
  }

  Value *spill(Value *v) {
    llvm::AllocaInst *s = slot(v->getType());
    b_.CreateStore(v, s);
    return s;
  }

  // ------------------------------------------------------------------ statements
  void block(const ast::Block &block) {
    const auto &stmts = block.stmts;
    for (size_t i = 0; i < stmts.size(); ++i) {
      if (b_.GetInsertBlock()->getTerminator())
        return;
      size_t run = ruleRun(stmts, i);
      if (run >= kMinDispatchRun) {
        dispatch(stmts, i, run);
        i += run - 1;
        continue;
      }
      std::vector<const ast::IfStmt *> prefixed = keyedRun(stmts, i, ast::BinaryOp::StartsWith);
      if (prefixed.size() >= kMinDispatchRun) {
        prefixDispatch(prefixed);
        i += prefixed.size() - 1;
        continue;
      }
      std::vector<const ast::IfStmt *> matching = keyedRun(stmts, i, ast::BinaryOp::Match);
      if (matching.size() >= kMinRegexSet && regexSetDispatch(matching)) {
        i += matching.size() - 1;
        continue;
      }
      statement(*stmts[i]);
    }
  }

  // ---------------------------------------------------------------- rule tables
  // A run of rules `if S == "literal" and ... { ...ends the phase }` on one subject S is a
  // table in disguise: a hash lookup of S picks the few rules whose literal it equals, and
  // only those are tried, in their order. First-match semantics are kept: the skipped
  // rules' conditions were false, and conditions have no effect but their value.
  static constexpr size_t kMinDispatchRun = 4;

  struct Keyed {
    const ast::Expr *subject; // a variable, or a header of constant name
    std::string literal;
  };

  static std::optional<Keyed> equalityOn(const ast::Expr &e) {
    const ast::BinaryExpr *b = conjunct(e, ast::BinaryOp::Eq, nullptr);
    if (!b)
      return std::nullopt;
    return Keyed{b->lhs.get(), ast::as<ast::LiteralExpr>(*b->rhs).stringValue};
  }

  // An equality of `subject` with a string literal in the top-level conjunction of `e`.
  static const ast::BinaryExpr *equalityOn(const ast::Expr &e, const ast::Expr &subject) {
    return conjunct(e, ast::BinaryOp::Eq, &subject);
  }

  static bool isStableSubject(const ast::Expr &e) {
    if (e.kind == ast::ExprKind::Member)
      return ast::as<ast::MemberExpr>(e).variable.has_value() && e.type->kind() == TypeKind::String;
    if (e.kind == ast::ExprKind::Index) {
      const auto &x = ast::as<ast::IndexExpr>(e);
      return x.base->kind == ast::ExprKind::Member && ast::as<ast::MemberExpr>(*x.base).variable &&
             x.index->kind == ast::ExprKind::Literal;
    }
    return false;
  }

  static bool sameSubject(const ast::Expr &a, const ast::Expr &b) {
    if (a.kind != b.kind)
      return false;
    if (a.kind == ast::ExprKind::Member)
      return ast::as<ast::MemberExpr>(a).variable == ast::as<ast::MemberExpr>(b).variable;
    if (a.kind == ast::ExprKind::Index) {
      const auto &x = ast::as<ast::IndexExpr>(a), &y = ast::as<ast::IndexExpr>(b);
      return ast::as<ast::MemberExpr>(*x.base).variable ==
                 ast::as<ast::MemberExpr>(*y.base).variable &&
             ast::as<ast::LiteralExpr>(*x.index).stringValue ==
                 ast::as<ast::LiteralExpr>(*y.index).stringValue;
    }
    return false;
  }

  static bool isRule(const ast::Stmt &stmt) {
    if (stmt.kind != ast::StmtKind::If)
      return false;
    const auto &s = ast::as<ast::IfStmt>(stmt);
    return s.branches.size() == 1 && !s.elseBlock && alwaysEnds(s.branches[0].body);
  }

  size_t ruleRun(const std::vector<ast::StmtPtr> &stmts, size_t first) {
    if (!isRule(*stmts[first]))
      return 0;
    auto key = equalityOn(*ast::as<ast::IfStmt>(*stmts[first]).branches[0].condition);
    if (!key)
      return 0;
    size_t end = first + 1;
    while (end < stmts.size() && isRule(*stmts[end]) &&
           equalityOn(*ast::as<ast::IfStmt>(*stmts[end]).branches[0].condition, *key->subject))
      ++end;
    return end - first;
  }

  void dispatch(const std::vector<ast::StmtPtr> &stmts, size_t first, size_t count) {
    const ast::Expr &subject =
        *equalityOn(*ast::as<ast::IfStmt>(*stmts[first]).branches[0].condition)->subject;
    image::Table index{image::Table::Kind::Map, {}, {}};
    std::unordered_map<std::string_view, size_t> bucketOf;
    std::vector<std::vector<const ast::IfStmt *>> buckets;
    for (size_t i = first; i < first + count; ++i) {
      const auto &rule = ast::as<ast::IfStmt>(*stmts[i]);
      const std::string &literal =
          ast::as<ast::LiteralExpr>(*equalityOn(*rule.branches[0].condition, subject)->rhs)
              .stringValue;
      auto [it, inserted] = bucketOf.emplace(literal, buckets.size());
      if (inserted) {
        index.texts.emplace_back(literal, static_cast<int64_t>(buckets.size()));
        buckets.emplace_back();
      }
      buckets[it->second].push_back(&rule);
    }
    Value *bucket = b_.CreateCall(host("rj_map_find_str", i32_, {ptr_, ptr_}),
                                  {pointer(object(std::move(index))), spill(expr(subject))});
    auto *after = llvm::BasicBlock::Create(c_, "rules.none", function_);
    llvm::SwitchInst *choose =
        b_.CreateSwitch(bucket, after, static_cast<unsigned>(buckets.size()));
    for (size_t k = 0; k < buckets.size(); ++k) {
      auto *caseBlock = llvm::BasicBlock::Create(c_, "rules.bucket", function_);
      choose->addCase(b_.getInt32(static_cast<uint32_t>(k)), caseBlock);
      b_.SetInsertPoint(caseBlock);
      // The lookup already established the rules' equality: it is not tested again.
      std::vector<const ast::BinaryExpr *> established;
      for (const ast::IfStmt *rule : buckets[k])
        established.push_back(equalityOn(*rule->branches[0].condition, subject));
      knownTrue_.insert(established.begin(), established.end());
      if (buckets[k].size() >= kMinDispatchRun && commonPrefixSubject(buckets[k])) {
        prefixDispatch(buckets[k]);
      } else {
        for (const ast::IfStmt *rule : buckets[k])
          tryRule(*rule, nullptr, after);
      }
      for (const ast::BinaryExpr *e : established)
        knownTrue_.erase(e);
      if (!b_.GetInsertBlock()->getTerminator())
        b_.CreateBr(after);
    }
    b_.SetInsertPoint(after);
  }

  // A run of rules with `S starts_with "literal"` on one subject S is a prefix table: a
  // trie walk of S finds the first rule whose prefix matches; if the rest of its condition
  // fails, the walk resumes after it. Rules of the run without such a prefix are found by
  // every walk, in their place, so the order of first match is kept.
  // The first conjunct of `e`'s top-level `and` chain that is `S op "literal"` (or, for
  // `~`, a regex match) on a stable subject S, and on `subject` when one is given.
  static const ast::BinaryExpr *conjunct(const ast::Expr &e, ast::BinaryOp op,
                                         const ast::Expr *subject) {
    if (e.kind != ast::ExprKind::Binary)
      return nullptr;
    const auto &b = ast::as<ast::BinaryExpr>(e);
    if (b.op == ast::BinaryOp::And) {
      if (const ast::BinaryExpr *left = conjunct(*b.lhs, op, subject))
        return left;
      return conjunct(*b.rhs, op, subject);
    }
    bool operand = op == ast::BinaryOp::Match
                       ? b.regex != nullptr
                       : b.rhs->kind == ast::ExprKind::Literal &&
                             ast::as<ast::LiteralExpr>(*b.rhs).literal == ast::LiteralKind::String;
    if (b.op == op && operand && isStableSubject(*b.lhs) &&
        (!subject || sameSubject(*b.lhs, *subject)))
      return &b;
    return nullptr;
  }

  static const ast::BinaryExpr *prefixOn(const ast::Expr &e, const ast::Expr *subject) {
    return conjunct(e, ast::BinaryOp::StartsWith, subject);
  }

  // The longest run of rules from `first` whose conditions hold an `op` conjunct on the
  // subject of the first one's.
  std::vector<const ast::IfStmt *> keyedRun(const std::vector<ast::StmtPtr> &stmts, size_t first,
                                            ast::BinaryOp op) {
    std::vector<const ast::IfStmt *> run;
    if (!isRule(*stmts[first]))
      return run;
    const ast::BinaryExpr *key =
        conjunct(*ast::as<ast::IfStmt>(*stmts[first]).branches[0].condition, op, nullptr);
    if (!key)
      return run;
    for (size_t i = first;
         i < stmts.size() && isRule(*stmts[i]) &&
         conjunct(*ast::as<ast::IfStmt>(*stmts[i]).branches[0].condition, op, key->lhs.get());
         ++i)
      run.push_back(&ast::as<ast::IfStmt>(*stmts[i]));
    return run;
  }

  // The subject that most of `rules` test a prefix of, if at least half of them do.
  static const ast::Expr *commonPrefixSubject(const std::vector<const ast::IfStmt *> &rules) {
    const ast::Expr *best = nullptr;
    size_t bestCount = 0;
    for (const ast::IfStmt *rule : rules) {
      const ast::BinaryExpr *prefix = prefixOn(*rule->branches[0].condition, nullptr);
      if (!prefix)
        continue;
      size_t count = 0;
      for (const ast::IfStmt *other : rules)
        count += prefixOn(*other->branches[0].condition, prefix->lhs.get()) != nullptr;
      if (count > bestCount) {
        best = prefix->lhs.get();
        bestCount = count;
      }
      if (bestCount * 2 >= rules.size())
        break;
    }
    return bestCount * 2 >= rules.size() ? best : nullptr;
  }

  // A run of rules `if S ~ r"..." and ...` on one subject S: one RE2::Set pass over S
  // names the rules whose regex matches, and only those are tried, in order (each runs
  // its own regex again, for its captures). Below kMinRegexSet rules, trying each regex
  // in turn is as fast.
  static constexpr size_t kMinRegexSet = 8;

  static const ast::BinaryExpr *matchOn(const ast::Expr &e, const ast::Expr *subject) {
    return conjunct(e, ast::BinaryOp::Match, subject);
  }

  // False, having generated nothing, when the patterns do not make a set.
  bool regexSetDispatch(const std::vector<const ast::IfStmt *> &rules) {
    const ast::Expr &subject = *matchOn(*rules[0]->branches[0].condition, nullptr)->lhs;
    image::Table patterns{image::Table::Kind::RegexSet, {}, {}};
    for (const ast::IfStmt *rule : rules)
      patterns.texts.emplace_back(matchOn(*rule->branches[0].condition, &subject)->regex->pattern,
                                  static_cast<int64_t>(patterns.texts.size()));
    const void *set = object(std::move(patterns));
    if (!set)
      return false;
    Value *text = spill(expr(subject));
    llvm::AllocaInst *countSlot = slot(i32_, "matched");
    Value *matched = b_.CreateCall(host("rj_regex_set_match", ptr_, {ptr_, ptr_, ptr_, ptr_}),
                                   {pointer(set), text, arena_, countSlot});
    Value *count = b_.CreateLoad(i32_, countSlot);
    // The walk is a position in the matched rules' list.
    tryCandidates(
        rules, std::vector<const ast::BinaryExpr *>(rules.size()), "regexset",
        [&](llvm::PHINode *at, llvm::BasicBlock *none) -> Value * {
          auto *pick = llvm::BasicBlock::Create(c_, "regexset.pick", function_);
          b_.CreateCondBr(b_.CreateICmpUGE(at, count), none, pick);
          b_.SetInsertPoint(pick);
          return b_.CreateLoad(i32_, b_.CreateGEP(i32_, matched, {at}));
        },
        [&](size_t, llvm::PHINode *at) -> Value * { return b_.CreateAdd(at, b_.getInt32(1)); });
    return true;
  }

  // Tries, in order, the rules a table lookup names, until one applies. `next` emits, at
  // the walk's head, the index of the next candidate from where the walk resumes (0 at
  // first); an index naming no rule ends the walk. A candidate whose condition fails
  // resumes the walk at `resumeAfter`. `established[i]`, when set, is the conjunct of
  // rule i that the lookup proved.
  void
  tryCandidates(const std::vector<const ast::IfStmt *> &rules,
                const std::vector<const ast::BinaryExpr *> &established, const std::string &name,
                const std::function<Value *(llvm::PHINode *resume, llvm::BasicBlock *none)> &next,
                const std::function<Value *(size_t rule, llvm::PHINode *resume)> &resumeAfter) {
    llvm::BasicBlock *entry = b_.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(c_, name + ".next", function_);
    auto *none = llvm::BasicBlock::Create(c_, name + ".none", function_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode *resume = b_.CreatePHI(i32_, static_cast<unsigned>(rules.size() + 1), "resume");
    resume->addIncoming(b_.getInt32(0), entry);
    llvm::SwitchInst *choose =
        b_.CreateSwitch(next(resume, none), none, static_cast<unsigned>(rules.size()));
    for (size_t i = 0; i < rules.size(); ++i) {
      auto *test = llvm::BasicBlock::Create(c_, name + ".rule", function_);
      choose->addCase(b_.getInt32(static_cast<uint32_t>(i)), test);
      b_.SetInsertPoint(test);
      tryRule(*rules[i], established[i], none);
      Value *resumeAt = resumeAfter(i, resume);
      b_.CreateBr(head);
      resume->addIncoming(resumeAt, b_.GetInsertBlock());
    }
    b_.SetInsertPoint(none);
  }

  // One rule a table lookup picked: its condition (`established` taken as true), and its
  // body when that holds. The builder is left where the rule did not apply.
  void tryRule(const ast::IfStmt &rule, const ast::BinaryExpr *established,
               llvm::BasicBlock *after) {
    if (established)
      knownTrue_.insert(established);
    Value *condition = this->condition(*rule.branches[0].condition);
    if (established)
      knownTrue_.erase(established);
    auto *then = llvm::BasicBlock::Create(c_, "rule", function_);
    auto *next = llvm::BasicBlock::Create(c_, "rule.next", function_);
    b_.CreateCondBr(condition, then, next);
    b_.SetInsertPoint(then);
    hit(rule.branches[0].rule);
    block(rule.branches[0].body);
    if (!b_.GetInsertBlock()->getTerminator())
      b_.CreateBr(after); // cannot happen: rule bodies end the phase
    b_.SetInsertPoint(next);
  }

  void prefixDispatch(const std::vector<const ast::IfStmt *> &rules) {
    const ast::Expr &subject = *commonPrefixSubject(rules);
    image::Table table{image::Table::Kind::Prefixes, {}, {}};
    std::vector<const ast::BinaryExpr *> prefixes;
    for (size_t i = 0; i < rules.size(); ++i) {
      const ast::BinaryExpr *prefix = prefixOn(*rules[i]->branches[0].condition, &subject);
      prefixes.push_back(prefix);
      table.texts.emplace_back(prefix ? ast::as<ast::LiteralExpr>(*prefix->rhs).stringValue : "",
                               static_cast<int64_t>(i));
    }
    const void *index = object(std::move(table));
    Value *text = spill(expr(subject));
    // The walk resumes after the last rule tried: the trie names the next one that applies.
    tryCandidates(
        rules, prefixes, "prefix",
        [&](llvm::PHINode *from, llvm::BasicBlock *) -> Value * {
          return b_.CreateCall(host("rj_prefix_next", i32_, {ptr_, ptr_, i32_}),
                               {pointer(index), text, from});
        },
        [&](size_t rule, llvm::PHINode *) -> Value * {
          return b_.getInt32(static_cast<uint32_t>(rule + 1));
        });
  }

  void end() {
    if (function_->getReturnType()->isVoidTy())
      b_.CreateRetVoid();
    else
      b_.CreateUnreachable();
  }

  static uint32_t variableIndex(schema::VariableId id) { return static_cast<uint32_t>(id); }

  // A write the host refused (a nonzero `status`, route/abi.h) is a run-time error of
  // statement `s`: the host learns where, and the phase ends. Rare: the branch is weighted
  // so that the accepted path runs straight on.
  void refusedEnds(Value *status, const ast::Stmt &s) {
    auto *refused = llvm::BasicBlock::Create(c_, "write.refused", function_);
    auto *accepted = llvm::BasicBlock::Create(c_, "write.accepted", function_);
    b_.CreateCondBr(b_.CreateICmpNE(status, b_.getInt32(0)), refused, accepted,
                    llvm::MDBuilder(c_).createBranchWeights(1, 1 << 20));
    b_.SetInsertPoint(refused);
    b_.CreateCall(host("route_fault", b_.getVoidTy(), {ptr_, i32_, i32_}),
                  {ctx_, b_.getInt32(s.range.file), b_.getInt32(s.range.begin)});
    end();
    b_.SetInsertPoint(accepted);
  }

  // The host counts the rules that fire (route_rule_hit), as the interpreter reports them.
  void hit(uint32_t rule) {
    if (rule != ast::kNoRule)
      b_.CreateCall(host("route_rule_hit", b_.getVoidTy(), {ptr_, i32_}),
                    {ctx_, b_.getInt32(rule)});
  }

  void statement(const ast::Stmt &s) {
    hit(s.rule);
    switch (s.kind) {
    case ast::StmtKind::If: {
      const auto &i = ast::as<ast::IfStmt>(s);
      llvm::BasicBlock *after = llvm::BasicBlock::Create(c_, "endif", function_);
      for (const ast::IfStmt::Branch &branch : i.branches) {
        Value *condition = this->condition(*branch.condition);
        auto *then = llvm::BasicBlock::Create(c_, "then", function_);
        auto *next = llvm::BasicBlock::Create(c_, "else", function_);
        b_.CreateCondBr(condition, then, next);
        b_.SetInsertPoint(then);
        hit(branch.rule);
        block(branch.body);
        if (!b_.GetInsertBlock()->getTerminator())
          b_.CreateBr(after);
        b_.SetInsertPoint(next);
      }
      if (i.elseBlock)
        block(*i.elseBlock);
      if (!b_.GetInsertBlock()->getTerminator())
        b_.CreateBr(after);
      b_.SetInsertPoint(after);
      if (llvm::pred_empty(after))
        b_.CreateUnreachable(); // every branch ended: nothing follows
      return;
    }
    case ast::StmtKind::Let: {
      const auto &let = ast::as<ast::LetStmt>(s);
      locals_[&let.binding] = expr(*let.value);
      return;
    }
    case ast::StmtKind::Assign: {
      const auto &a = ast::as<ast::AssignStmt>(s);
      Value *value = expr(*a.value);
      if (a.target->kind == ast::ExprKind::Index) {
        const auto &x = ast::as<ast::IndexExpr>(*a.target);
        Value *name = spill(expr(*x.index));
        schema::VariableId map = *ast::as<ast::MemberExpr>(*x.base).variable;
        refusedEnds(b_.CreateCall(host("rj_field_set", i32_, {ptr_, i32_, ptr_, ptr_}),
                                  {ctx_, b_.getInt32(variableIndex(map)), name, spill(value)}),
                    s);
        refreshFields(map, *x.index);
        return;
      }
      schema::VariableId id = *ast::as<ast::MemberExpr>(*a.target).variable;
      if (schema::variables()[static_cast<size_t>(id)].type == schema::FieldType::String)
        refusedEnds(b_.CreateCall(host("rj_set_str", i32_, {ptr_, i32_, ptr_}),
                                  {ctx_, b_.getInt32(variableIndex(id)), spill(value)}),
                    s);
      else
        refusedEnds(b_.CreateCall(host("route_set_int", i32_, {ptr_, i32_, i64_}),
                                  {ctx_, b_.getInt32(variableIndex(id)),
                                   value->getType() == i1_ ? b_.CreateZExt(value, i64_) : value}),
                    s);
      if (auto cached = variableSlots_.find(id);
          cached != variableSlots_.end() && cached->second.value)
        invalidate(cached->second, [&](Value *into) {
          readVariableInto(id, into);
        }); // the host may normalise what it stored
      return;
    }
    case ast::StmtKind::Delete: {
      const auto &x = ast::as<ast::IndexExpr>(*ast::as<ast::DeleteStmt>(s).target);
      schema::VariableId map = *ast::as<ast::MemberExpr>(*x.base).variable;
      b_.CreateCall(host("rj_field_delete", b_.getVoidTy(), {ptr_, i32_, ptr_}),
                    {ctx_, b_.getInt32(variableIndex(map)), spill(expr(*x.index))});
      refreshFields(map, *x.index);
      return;
    }
    case ast::StmtKind::Respond: {
      const auto &r = ast::as<ast::RespondStmt>(s);
      Value *status = expr(*r.status);
      Value *body = r.body ? expr(*r.body) : stringConstant("");
      refusedEnds(
          b_.CreateCall(host("rj_respond", i32_, {ptr_, i64_, ptr_}), {ctx_, status, spill(body)}),
          s);
      end();
      return;
    }
    case ast::StmtKind::Redirect: {
      const auto &r = ast::as<ast::RedirectStmt>(s);
      Value *status = r.status ? expr(*r.status) : b_.getInt64(302);
      Value *location = expr(*r.location);
      refusedEnds(b_.CreateCall(host("rj_redirect", i32_, {ptr_, i64_, ptr_}),
                                {ctx_, status, spill(location)}),
                  s);
      end();
      return;
    }
    case ast::StmtKind::Route:
      b_.CreateCall(host("route_route", b_.getVoidTy(), {ptr_, i32_}),
                    {ctx_, expr(*ast::as<ast::RouteStmt>(s).target)});
      end();
      return;
    case ast::StmtKind::Retry:
      b_.CreateCall(host("route_retry", b_.getVoidTy(), {ptr_}), {ctx_});
      end();
      return;
    case ast::StmtKind::Return: {
      const auto &r = ast::as<ast::ReturnStmt>(s);
      if (r.value)
        b_.CreateRet(expr(*r.value));
      else
        b_.CreateRetVoid();
      return;
    }
    }
  }

  // ----------------------------------------------------------------- expressions
  Value *stringConstant(std::string_view text) {
    auto it = strings_.find(std::string(text));
    llvm::Constant *data;
    if (it != strings_.end()) {
      data = it->second;
    } else {
      auto *array =
          llvm::ConstantDataArray::getString(c_, llvm::StringRef(text.data(), text.size()), false);
      auto *global = new llvm::GlobalVariable(m_, array->getType(), true,
                                              llvm::GlobalValue::PrivateLinkage, array, "str");
      global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
      data = global;
      strings_.emplace(std::string(text), global);
    }
    return llvm::ConstantStruct::get(str_, {data, b_.getInt64(text.size())});
  }

  Value *ipConstant(const ast::IpValue &ip) {
    std::vector<uint8_t> bytes(ip.bytes.begin(), ip.bytes.end());
    auto *array = llvm::ConstantDataArray::get(c_, bytes);
    auto *value = llvm::ConstantStruct::get(ip_, {array, b_.getInt8(ip.v6)});
    return new llvm::GlobalVariable(m_, ip_, true, llvm::GlobalValue::PrivateLinkage, value, "ip");
  }

  // The host object `table` describes, built now; null when it does not build.
  const void *object(image::Table table) {
    const void *built = data_.add(std::move(table));
    if (built)
      objectIndex_.emplace(built, data_.objects.size() - 1);
    return built;
  }

  // A host object (a table, a compiled regex, an ACL) as an external symbol the JIT binds
  // to its address: no address of this process goes into the IR.
  Value *pointer(const void *address) {
    std::string name = objectSymbol(objectIndex_.at(address));
    if (llvm::GlobalVariable *known = m_.getNamedGlobal(name))
      return known;
    return new llvm::GlobalVariable(m_, i8_, true, llvm::GlobalValue::ExternalLinkage, nullptr,
                                    name);
  }

  Value *boolOf(Value *i32) { return b_.CreateICmpNE(i32, b_.getInt32(0)); }

  Value *zeroOf(const Type *type) {
    switch (type->kind()) {
    case TypeKind::String:
      return stringConstant("");
    case TypeKind::Ip:
      return ipConstant(ast::IpValue{});
    default:
      return llvm::Constant::getNullValue(repr(type));
    }
  }

  ast::IpValue constantIp(const ast::Expr &e) {
    sema::ConstValue v = constants_.evaluate(e);
    if (auto *ip = std::get_if<ast::IpValue>(&v.value))
      return *ip;
    throw Unsupported("a network that is not constant");
  }

  Value *expr(const ast::Expr &e) {
    switch (e.kind) {
    case ast::ExprKind::Literal: {
      const auto &lit = ast::as<ast::LiteralExpr>(e);
      switch (lit.literal) {
      case ast::LiteralKind::Bool:
        return b_.getInt1(lit.boolValue);
      case ast::LiteralKind::Int:
      case ast::LiteralKind::Duration:
        return b_.getInt64(static_cast<uint64_t>(lit.intValue));
      case ast::LiteralKind::String:
        return stringConstant(lit.stringValue);
      case ast::LiteralKind::Ip:
        return ipConstant(lit.ip);
      }
      break;
    }
    case ast::ExprKind::Name: {
      const auto &name = ast::as<ast::NameExpr>(e);
      switch (name.resolved) {
      case ast::NameKind::Local:
        return locals_.at(name.local);
      case ast::NameKind::Const:
        return expr(*ast::as<ast::ConstDecl>(*name.decl).value);
      case ast::NameKind::Upstream:
        return b_.getInt32(upstreamIndex(name.decl));
      default:
        break;
      }
      throw Unsupported("the name '" + name.name + "' as a value");
    }
    case ast::ExprKind::Member: {
      const auto &m = ast::as<ast::MemberExpr>(e);
      if (m.captureMatch)
        return capture(m.captureMatch, m.captureGroup);
      return variable(*m.variable);
    }
    case ast::ExprKind::Index:
      return index(ast::as<ast::IndexExpr>(e));
    case ast::ExprKind::Call:
      return call(ast::as<ast::CallExpr>(e));
    case ast::ExprKind::List:
      return list(ast::as<ast::ListExpr>(e));
    case ast::ExprKind::Unary: {
      const auto &u = ast::as<ast::UnaryExpr>(e);
      Value *v = expr(*u.operand);
      return u.op == ast::UnaryOp::Not ? b_.CreateNot(v) : b_.CreateSub(b_.getInt64(0), v);
    }
    case ast::ExprKind::Binary:
      return binary(ast::as<ast::BinaryExpr>(e));
    case ast::ExprKind::Error:
      break;
    }
    throw Unsupported("an expression the checker rejected");
  }

  uint32_t upstreamIndex(const ast::Decl *decl) {
    const auto &list = program_.upstreams;
    return static_cast<uint32_t>(std::find(list.begin(), list.end(), decl) - list.begin());
  }

  Value *variable(schema::VariableId id) {
    auto cached = variableSlots_.find(id);
    if (cached != variableSlots_.end() && cached->second.value) {
      llvm::AllocaInst *value =
          current(cached->second, [&](Value *into) { readVariableInto(id, into); });
      switch (schema::variables()[static_cast<size_t>(id)].type) {
      case schema::FieldType::String:
        return b_.CreateLoad(str_, value);
      case schema::FieldType::Ip:
        return value;
      case schema::FieldType::Bool:
        return b_.CreateICmpNE(b_.CreateLoad(i64_, value), b_.getInt64(0));
      default:
        return b_.CreateLoad(i64_, value);
      }
    }
    Value *index = b_.getInt32(variableIndex(id));
    switch (schema::variables()[static_cast<size_t>(id)].type) {
    case schema::FieldType::String: {
      llvm::AllocaInst *out = slot(str_);
      b_.CreateCall(host("rj_get_str", b_.getVoidTy(), {ptr_, i32_, ptr_}), {ctx_, index, out});
      return b_.CreateLoad(str_, out);
    }
    case schema::FieldType::Int:
    case schema::FieldType::Duration:
      return b_.CreateCall(host("route_get_int", i64_, {ptr_, i32_}), {ctx_, index});
    case schema::FieldType::Bool:
      return b_.CreateICmpNE(
          b_.CreateCall(host("route_get_int", i64_, {ptr_, i32_}), {ctx_, index}), b_.getInt64(0));
    case schema::FieldType::Ip: {
      llvm::AllocaInst *out = slot(ip_);
      b_.CreateCall(host("rj_get_ip", b_.getVoidTy(), {ptr_, i32_, ptr_}), {ctx_, index, out});
      return out;
    }
    default:
      throw Unsupported("a whole header map as a value");
    }
  }

  Value *capture(const ast::BinaryExpr *match, int group) {
    auto it = groups_.find(match);
    if (it == groups_.end())
      throw Unsupported("a capture outside its match");
    Value *at =
        b_.CreateConstGEP2_32(it->second.type, it->second.slot, 0, static_cast<unsigned>(group));
    return b_.CreateLoad(str_, at);
  }

  // An `if` condition: its matches' groups are emptied here, not in the entry block, so
  // a phase of many regex rules pays only for the rules it reaches; the body may read a
  // group whose match a short circuit skipped, and must see it empty.
  Value *condition(const ast::Expr &e) {
    emptyGroups(e);
    return expr(e);
  }

  void emptyGroups(const ast::Expr &e) {
    if (e.kind == ast::ExprKind::Binary) {
      const auto &b = ast::as<ast::BinaryExpr>(e);
      if ((b.op == ast::BinaryOp::Match || b.op == ast::BinaryOp::NotMatch) && !groups_.count(&b)) {
        auto *type = llvm::ArrayType::get(str_, static_cast<uint32_t>(b.regex->groupNames.size()));
        llvm::AllocaInst *s = slot(type, "groups");
        b_.CreateStore(llvm::Constant::getNullValue(type), s);
        groups_.emplace(&b, Groups{s, type});
      }
    }
    ast::forEachChild(e, [this](const ast::Expr &child) { emptyGroups(child); });
  }

  // The slot a `~` fills with its groups; empty until the match runs. Matches outside an
  // `if` condition get theirs emptied once, in the entry block.
  std::pair<Value *, uint32_t> groupsOf(const ast::BinaryExpr &match) {
    uint32_t count = static_cast<uint32_t>(match.regex->groupNames.size());
    auto it = groups_.find(&match);
    if (it == groups_.end()) {
      auto *type = llvm::ArrayType::get(str_, count);
      llvm::AllocaInst *s = slot(type, "groups");
      llvm::IRBuilder<> entry(entry_, std::next(s->getIterator()));
      entry.CreateStore(llvm::Constant::getNullValue(type), s);
      it = groups_.emplace(&match, Groups{s, type}).first;
    }
    return {it->second.slot, count};
  }

  Value *index(const ast::IndexExpr &x) {
    if (x.captureMatch)
      return capture(x.captureMatch, x.captureGroup);
    if (x.base->kind == ast::ExprKind::Member && ast::as<ast::MemberExpr>(*x.base).variable) {
      schema::VariableId id = *ast::as<ast::MemberExpr>(*x.base).variable;
      if (x.index->kind == ast::ExprKind::Literal) {
        FieldKey key = fieldKey(id, *x.index);
        auto cached = fieldSlots_.find(key);
        if (cached != fieldSlots_.end() && cached->second.value)
          return b_.CreateLoad(
              str_, current(cached->second, [&](Value *into) { readFieldInto(key, into); }));
      }
      llvm::AllocaInst *out = slot(str_);
      b_.CreateCall(host("rj_field_get", b_.getVoidTy(), {ptr_, i32_, ptr_, ptr_}),
                    {ctx_, b_.getInt32(variableIndex(id)), spill(expr(*x.index)), out});
      return b_.CreateLoad(str_, out);
    }
    if (x.base->kind == ast::ExprKind::Name &&
        ast::as<ast::NameExpr>(*x.base).resolved == ast::NameKind::Map)
      return mapLookup(ast::as<ast::MapDecl>(*ast::as<ast::NameExpr>(*x.base).decl), *x.index);
    // A list element, or the element type's zero value out of range.
    Value *list = expr(*x.base);
    Value *position = expr(*x.index);
    const Type *element = x.type;
    llvm::Type *elementType = repr(element);
    Value *size = b_.CreateExtractValue(list, 1);
    Value *inRange = b_.CreateICmpULT(position, size);
    auto *load = llvm::BasicBlock::Create(c_, "element", function_);
    auto *join = llvm::BasicBlock::Create(c_, "joined", function_);
    llvm::BasicBlock *from = b_.GetInsertBlock();
    b_.CreateCondBr(inRange, load, join);
    b_.SetInsertPoint(load);
    Value *at = b_.CreateGEP(elementType, b_.CreateExtractValue(list, 0), position);
    Value *loaded = b_.CreateLoad(elementType, at);
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    llvm::PHINode *phi = b_.CreatePHI(elementType, 2);
    phi->addIncoming(zeroOf(element), from);
    phi->addIncoming(loaded, load);
    return phi;
  }

  const void *mapIndexOf(const ast::MapDecl &map, std::vector<const ast::MapEntry *> &entries) {
    image::Table index{image::Table::Kind::Map, {}, {}};
    for (const ast::MapEntry &entry : map.entries) {
      if (!entry.key)
        continue;
      sema::ConstValue key = constants_.evaluate(*entry.key);
      auto position = static_cast<int32_t>(entries.size());
      if (auto *s = std::get_if<std::string>(&key.value))
        index.texts.emplace_back(*s, position);
      else if (auto *i = std::get_if<int64_t>(&key.value))
        index.numbers.emplace_back(*i, position);
      else
        throw Unsupported("a map key that is not constant");
      entries.push_back(&entry);
    }
    return object(std::move(index));
  }

  // Finds the entry's position through a hash index, then picks its value in a switch.
  Value *mapFind(const ast::MapDecl &map, const ast::Expr &key,
                 std::vector<const ast::MapEntry *> &entries) {
    const void *index = mapIndexOf(map, entries);
    if (map.keyType->kind() == TypeKind::String)
      return b_.CreateCall(host("rj_map_find_str", i32_, {ptr_, ptr_}),
                           {pointer(index), spill(expr(key))});
    return b_.CreateCall(host("rj_map_find_int", i32_, {ptr_, i64_}), {pointer(index), expr(key)});
  }

  Value *mapLookup(const ast::MapDecl &map, const ast::Expr &key) {
    std::vector<const ast::MapEntry *> entries;
    Value *position = mapFind(map, key, entries);
    llvm::Type *type = repr(map.valueType);
    auto *fallback = llvm::BasicBlock::Create(c_, "map.default", function_);
    auto *join = llvm::BasicBlock::Create(c_, "map.value", function_);
    llvm::SwitchInst *choose =
        b_.CreateSwitch(position, fallback, static_cast<unsigned>(entries.size()));
    b_.SetInsertPoint(join);
    llvm::PHINode *phi = b_.CreatePHI(type, static_cast<unsigned>(entries.size() + 1));
    for (size_t i = 0; i < entries.size(); ++i) {
      auto *caseBlock = llvm::BasicBlock::Create(c_, "map.entry", function_);
      choose->addCase(b_.getInt32(static_cast<uint32_t>(i)), caseBlock);
      b_.SetInsertPoint(caseBlock);
      Value *v = expr(*entries[i]->value);
      phi->addIncoming(v, b_.GetInsertBlock());
      b_.CreateBr(join);
    }
    b_.SetInsertPoint(fallback);
    const ast::MapEntry *defaultEntry = nullptr;
    for (const ast::MapEntry &entry : map.entries)
      if (!entry.key)
        defaultEntry = &entry;
    Value *otherwise = defaultEntry ? expr(*defaultEntry->value) : zeroOf(map.valueType);
    phi->addIncoming(otherwise, b_.GetInsertBlock());
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    return phi;
  }

  Value *list(const ast::ListExpr &l) {
    const Type *element = l.type->element();
    llvm::Type *elementType = repr(element);
    auto *arrayType = llvm::ArrayType::get(elementType, l.elements.size());
    llvm::AllocaInst *array = slot(arrayType, "list");
    for (size_t i = 0; i < l.elements.size(); ++i)
      b_.CreateStore(expr(*l.elements[i].value),
                     b_.CreateConstGEP2_32(arrayType, array, 0, static_cast<unsigned>(i)));
    Value *out = llvm::UndefValue::get(list_);
    out = b_.CreateInsertValue(out, array, 0);
    return b_.CreateInsertValue(out, b_.getInt64(l.elements.size()), 1);
  }

  Value *call(const ast::CallExpr &c) {
    if (c.function) {
      std::vector<Value *> args{ctx_, arena_};
      for (const ast::CallArgument &a : c.args)
        args.push_back(expr(*a.value));
      return b_.CreateCall(functions_.at(&ast::as<ast::FuncDecl>(*c.function)), args);
    }
    auto *argsType = llvm::ArrayType::get(value_, std::max<size_t>(1, c.args.size()));
    llvm::AllocaInst *args = slot(argsType, "args");
    for (size_t i = 0; i < c.args.size(); ++i) {
      const ast::Expr &arg = *c.args[i].value;
      Value *at = b_.CreateConstGEP2_32(argsType, args, 0, static_cast<unsigned>(i));
      if (c.builtin == schema::BuiltinId::RegexReplace && i == 1) {
        sema::ConstValue pattern = constants_.evaluate(arg);
        const void *regex =
            object({image::Table::Kind::Regex, {{std::get<std::string>(pattern.value), 0}}, {}});
        b_.CreateStore(pointer(regex), b_.CreateStructGEP(value_, at, 4));
        continue;
      }
      Value *v = expr(arg);
      switch (arg.type->kind()) {
      case TypeKind::Bool:
        b_.CreateStore(b_.CreateZExt(v, i64_), b_.CreateStructGEP(value_, at, 0));
        break;
      case TypeKind::Int:
      case TypeKind::Duration:
        b_.CreateStore(v, b_.CreateStructGEP(value_, at, 0));
        break;
      case TypeKind::String:
        b_.CreateStore(v, b_.CreateStructGEP(value_, at, 1));
        break;
      case TypeKind::Ip:
        b_.CreateStore(b_.CreateLoad(ip_, v), b_.CreateStructGEP(value_, at, 2));
        break;
      case TypeKind::List:
        if (arg.type->element()->kind() != TypeKind::String)
          throw Unsupported("a list of " + arg.type->element()->str() + " passed to a built-in");
        b_.CreateStore(v, b_.CreateStructGEP(value_, at, 3));
        break;
      default:
        throw Unsupported("a built-in argument of type " + arg.type->str());
      }
    }
    llvm::AllocaInst *out = slot(value_, "result");
    b_.CreateCall(host("route_call_builtin", b_.getVoidTy(), {ptr_, i32_, ptr_, ptr_}),
                  {arena_, b_.getInt32(static_cast<uint32_t>(*c.builtin)), args, out});
    switch (c.type->kind()) {
    case TypeKind::Int:
    case TypeKind::Duration:
      return b_.CreateLoad(i64_, b_.CreateStructGEP(value_, out, 0));
    case TypeKind::Bool:
      return b_.CreateICmpNE(b_.CreateLoad(i64_, b_.CreateStructGEP(value_, out, 0)),
                             b_.getInt64(0));
    case TypeKind::String:
      return b_.CreateLoad(str_, b_.CreateStructGEP(value_, out, 1));
    case TypeKind::Ip:
      return b_.CreateStructGEP(value_, out, 2);
    case TypeKind::List:
      return b_.CreateLoad(list_, b_.CreateStructGEP(value_, out, 3));
    default:
      throw Unsupported("a built-in result of type " + c.type->str());
    }
  }

  static const std::string *stringLiteral(const ast::Expr &e) {
    if (e.kind != ast::ExprKind::Literal ||
        ast::as<ast::LiteralExpr>(e).literal != ast::LiteralKind::String)
      return nullptr;
    return &ast::as<ast::LiteralExpr>(e).stringValue;
  }

  enum class Anchor { Whole, Start, End };

  // s == "lit", s starts_with "lit", s ends_with "lit", inline: a length test, then a
  // memcmp of known size that LLVM turns into a few loads and compares.
  Value *matchLiteral(Value *s, const std::string &literal, Anchor anchor) {
    Value *data = b_.CreateExtractValue(s, 0), *size = b_.CreateExtractValue(s, 1);
    Value *length = b_.getInt64(literal.size());
    Value *fits =
        anchor == Anchor::Whole ? b_.CreateICmpEQ(size, length) : b_.CreateICmpUGE(size, length);
    if (literal.empty())
      return fits;
    llvm::BasicBlock *from = b_.GetInsertBlock();
    auto *compare = llvm::BasicBlock::Create(c_, "lit.compare", function_);
    auto *join = llvm::BasicBlock::Create(c_, "lit.end", function_);
    b_.CreateCondBr(fits, compare, join);
    b_.SetInsertPoint(compare);
    Value *at = anchor == Anchor::End ? b_.CreateGEP(i8_, data, b_.CreateSub(size, length)) : data;
    Value *bytes = b_.CreateExtractValue(stringConstant(literal), 0);
    Value *same = b_.CreateICmpEQ(
        b_.CreateCall(host("memcmp", i32_, {ptr_, ptr_, i64_}), {at, bytes, length}),
        b_.getInt32(0));
    llvm::BasicBlock *compared = b_.GetInsertBlock();
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    llvm::PHINode *phi = b_.CreatePHI(i1_, 2);
    phi->addIncoming(b_.getInt1(false), from);
    phi->addIncoming(same, compared);
    return phi;
  }

  Value *stringTest(const char *thunk, Value *a, Value *b) {
    return boolOf(b_.CreateCall(host(thunk, i32_, {ptr_, ptr_}), {spill(a), spill(b)}));
  }

  Value *equal(const Type *type, Value *l, Value *r) {
    switch (type->kind()) {
    case TypeKind::String:
      return b_.CreateICmpEQ(
          b_.CreateCall(host("rj_str_compare", i32_, {ptr_, ptr_}), {spill(l), spill(r)}),
          b_.getInt32(0));
    case TypeKind::Ip:
      return boolOf(b_.CreateCall(host("rj_ip_equal", i32_, {ptr_, ptr_}), {l, r}));
    case TypeKind::Bool:
    case TypeKind::Int:
    case TypeKind::Duration:
    case TypeKind::Upstream:
      return b_.CreateICmpEQ(l, r);
    default:
      throw Unsupported("comparing values of type " + type->str());
    }
  }

  Value *shortCircuit(const ast::BinaryExpr &e, bool isAnd) {
    Value *left = expr(*e.lhs);
    llvm::BasicBlock *leftEnd = b_.GetInsertBlock();
    auto *right = llvm::BasicBlock::Create(c_, isAnd ? "and.rhs" : "or.rhs", function_);
    auto *join = llvm::BasicBlock::Create(c_, isAnd ? "and.end" : "or.end", function_);
    if (isAnd)
      b_.CreateCondBr(left, right, join);
    else
      b_.CreateCondBr(left, join, right);
    b_.SetInsertPoint(right);
    Value *rightValue = expr(*e.rhs);
    llvm::BasicBlock *rightEnd = b_.GetInsertBlock();
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    llvm::PHINode *phi = b_.CreatePHI(i1_, 2);
    phi->addIncoming(b_.getInt1(!isAnd), leftEnd);
    phi->addIncoming(rightValue, rightEnd);
    return phi;
  }

  Value *divide(Value *a, Value *b, bool remainder) {
    // Division by zero gives 0 and INT64_MIN / -1 wraps (dsl/README.md); the divisor the
    // hardware sees is never 0 or -1.
    Value *zero = b_.getInt64(0), *minusOne = b_.getInt64(static_cast<uint64_t>(-1));
    Value *isZero = b_.CreateICmpEQ(b, zero), *isMinusOne = b_.CreateICmpEQ(b, minusOne);
    Value *safe = b_.CreateSelect(b_.CreateOr(isZero, isMinusOne), b_.getInt64(1), b);
    Value *quotient = remainder ? b_.CreateSRem(a, safe) : b_.CreateSDiv(a, safe);
    Value *byMinusOne = remainder ? zero : b_.CreateSub(zero, a);
    return b_.CreateSelect(isZero, zero, b_.CreateSelect(isMinusOne, byMinusOne, quotient));
  }

  Value *binary(const ast::BinaryExpr &e) {
    using Op = ast::BinaryOp;
    if (knownTrue_.count(&e))
      return b_.getInt1(true);
    switch (e.op) {
    case Op::And:
      return shortCircuit(e, true);
    case Op::Or:
      return shortCircuit(e, false);
    case Op::Match:
    case Op::NotMatch: {
      Value *subject = spill(expr(*e.lhs));
      const void *regex = object({image::Table::Kind::Regex, {{e.regex->pattern, 0}}, {}});
      auto [groups, count] = groupsOf(e);
      Value *matched = boolOf(b_.CreateCall(host("rj_regex_match", i32_, {ptr_, ptr_, ptr_, i32_}),
                                            {pointer(regex), subject, groups, b_.getInt32(count)}));
      return e.op == Op::Match ? matched : b_.CreateNot(matched);
    }
    case Op::In:
      return contains(*e.rhs, *e.lhs);
    default:
      break;
    }
    if (const std::string *literal = stringLiteral(*e.rhs)) {
      switch (e.op) {
      case Op::Eq:
        return matchLiteral(expr(*e.lhs), *literal, Anchor::Whole);
      case Op::Ne:
        return b_.CreateNot(matchLiteral(expr(*e.lhs), *literal, Anchor::Whole));
      case Op::StartsWith:
        return matchLiteral(expr(*e.lhs), *literal, Anchor::Start);
      case Op::EndsWith:
        return matchLiteral(expr(*e.lhs), *literal, Anchor::End);
      default:
        break;
      }
    }
    Value *l = expr(*e.lhs), *r = expr(*e.rhs);
    const Type *type = e.lhs->type;
    switch (e.op) {
    case Op::Add:
      if (type->kind() == TypeKind::String) {
        llvm::AllocaInst *out = slot(str_);
        b_.CreateCall(host("rj_concat", b_.getVoidTy(), {ptr_, ptr_, ptr_, ptr_}),
                      {arena_, spill(l), spill(r), out});
        return b_.CreateLoad(str_, out);
      }
      return b_.CreateAdd(l, r);
    case Op::Sub:
      return b_.CreateSub(l, r);
    case Op::Mul:
      return b_.CreateMul(l, r);
    case Op::Div:
      return divide(l, r, false);
    case Op::Mod:
      return divide(l, r, true);
    case Op::Eq:
      return equal(type, l, r);
    case Op::Ne:
      return b_.CreateNot(equal(type, l, r));
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: {
      Value *left = l, *right = r;
      if (type->kind() == TypeKind::String) {
        left = b_.CreateCall(host("rj_str_compare", i32_, {ptr_, ptr_}), {spill(l), spill(r)});
        right = b_.getInt32(0);
      }
      auto predicate = e.op == Op::Lt   ? llvm::CmpInst::ICMP_SLT
                       : e.op == Op::Le ? llvm::CmpInst::ICMP_SLE
                       : e.op == Op::Gt ? llvm::CmpInst::ICMP_SGT
                                        : llvm::CmpInst::ICMP_SGE;
      return b_.CreateICmp(predicate, left, right);
    }
    case Op::StartsWith:
      return stringTest("rj_str_starts", l, r);
    case Op::EndsWith:
      return stringTest("rj_str_ends", l, r);
    case Op::Contains:
      if (type->kind() == TypeKind::List)
        return listContains(type, l, r);
      return stringTest("rj_str_contains", l, r);
    default:
      throw Unsupported("an operator");
    }
  }

  Value *listContains(const Type *listType, Value *list, Value *item) {
    if (listType->element()->kind() == TypeKind::String)
      return boolOf(b_.CreateCall(host("rj_strlist_contains", i32_, {ptr_, ptr_}),
                                  {spill(list), spill(item)}));
    throw Unsupported("searching a list of " + listType->element()->str());
  }

  Value *contains(const ast::Expr &set, const ast::Expr &itemExpr) {
    if (set.kind == ast::ExprKind::Name) {
      const auto &name = ast::as<ast::NameExpr>(set);
      if (name.resolved == ast::NameKind::Acl)
        return boolOf(
            b_.CreateCall(host("rj_acl_contains", i32_, {ptr_, ptr_}),
                          {pointer(acl(ast::as<ast::AclDecl>(*name.decl))), expr(itemExpr)}));
      if (name.resolved == ast::NameKind::Map) {
        std::vector<const ast::MapEntry *> entries;
        Value *position = mapFind(ast::as<ast::MapDecl>(*name.decl), itemExpr, entries);
        return b_.CreateICmpSGE(position, b_.getInt32(0));
      }
    }
    if (set.kind == ast::ExprKind::Member && ast::as<ast::MemberExpr>(set).variable &&
        (set.type->kind() == TypeKind::Headers || set.type->kind() == TypeKind::Strings)) {
      schema::VariableId id = *ast::as<ast::MemberExpr>(set).variable;
      return boolOf(b_.CreateCall(host("rj_field_has", i32_, {ptr_, i32_, ptr_}),
                                  {ctx_, b_.getInt32(variableIndex(id)), spill(expr(itemExpr))}));
    }
    if (set.type->kind() == TypeKind::Cidr) {
      ast::IpValue network = constantIp(set);
      return boolOf(
          b_.CreateCall(host("rj_cidr_contains", i32_, {ptr_, i32_, ptr_}),
                        {ipConstant(network), b_.getInt32(static_cast<uint32_t>(network.prefix)),
                         expr(itemExpr)}));
    }
    if (set.kind == ast::ExprKind::List) {
      // A literal list: a chain of comparisons, which LLVM may turn into a switch.
      Value *item = expr(itemExpr);
      Value *found = b_.getInt1(false);
      for (const ast::ListElement &element : ast::as<ast::ListExpr>(set).elements)
        found = b_.CreateOr(found, equal(itemExpr.type, item, expr(*element.value)));
      return found;
    }
    Value *item = expr(itemExpr);
    return listContains(set.type, expr(set), item);
  }

  const void *acl(const ast::AclDecl &decl) {
    auto it = acls_.find(&decl);
    if (it != acls_.end())
      return it->second;
    image::Table networks{image::Table::Kind::Acl, {}, {}};
    for (const ast::IpValue &n : decl.networks) {
      std::string address(n.bytes.begin(), n.bytes.end());
      address.push_back(static_cast<char>(n.v6));
      networks.texts.emplace_back(std::move(address), n.prefix);
    }
    const void *compiled = object(std::move(networks));
    acls_[&decl] = compiled;
    return compiled;
  }

  struct Groups {
    llvm::AllocaInst *slot;
    llvm::ArrayType *type;
  };

  const Program &program_;
  llvm::Module &m_;
  llvm::LLVMContext &c_;
  llvm::IRBuilder<> b_;
  RuntimeData &data_;
  std::unordered_map<const void *, size_t> objectIndex_; // into data_.objects
  sema::ConstantEvaluator constants_;

  llvm::Type *i1_, *i8_, *i32_, *i64_, *ptr_;
  llvm::StructType *str_, *ip_, *list_, *value_;

  std::unordered_map<const ast::FuncDecl *, llvm::Function *> functions_;
  std::unordered_map<std::string, llvm::Constant *> strings_;
  std::unordered_map<const ast::AclDecl *, const void *> acls_;

  llvm::Function *function_ = nullptr;
  llvm::BasicBlock *entry_ = nullptr;
  Value *ctx_ = nullptr;
  Value *arena_ = nullptr;
  std::unordered_map<const ast::LocalBinding *, Value *> locals_;
  std::unordered_map<const ast::BinaryExpr *, Groups> groups_;
  std::map<schema::VariableId, Cached> variableSlots_;
  std::map<FieldKey, Cached> fieldSlots_;
  std::unordered_set<const ast::BinaryExpr *> knownTrue_;
};

} // namespace

void generate(const Program &program, llvm::Module &module, RuntimeData &data) {
  Codegen(program, module, data).run();
}

} // namespace route::jit
