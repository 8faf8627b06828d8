// Private to the checker: the state shared by its passes.
#pragma once

#include "sema/Checker.h"
#include "sema/Constants.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace route::sema {

// Where an expression is checked; decides which variables and actions it may use.
struct Context {
  enum class Kind { Phase, Function, Test, Constant } kind = Kind::Constant;
  schema::Phase phase = schema::Phase::Request; // Kind::Phase
  ast::FuncDecl *function = nullptr;            // Kind::Function
  FileId file = kNoFile;
  bool allowNamedArguments = false; // upstream settings: http(path = "/")

  schema::PhaseMask readable() const {
    switch (kind) {
    case Kind::Phase:
      return schema::maskOf(phase);
    case Kind::Test:
      return schema::kAllPhases;
    default:
      return schema::kNoPhase;
    }
  }
};

class Checker {
public:
  Checker(Program &program, DiagnosticEngine &diags) : program_(program), diags_(diags) {}
  bool run();

private:
  // Checker.cpp: symbols, visibility, types named in source.
  void collectDeclarations();
  void resolveSignature(ast::FuncDecl &fn);
  void computeVisibility();
  ast::Decl *lookupGlobal(const std::string &name, SourceRange at, bool reportInvisible);
  std::vector<std::string> visibleNames(FileId file) const;
  const Type *resolveType(const ast::TypeSyntax &syntax);
  bool isReserved(const std::string &name, SourceRange at, const char *what);
  bool isReservedRoot(const std::string &name) const;
  // A "did you mean" candidate, for the first kMaxSuggestions unknown names only.
  std::optional<std::string> suggest(std::string_view word,
                                     const std::vector<std::string> &candidates);
  // The same, with candidates that are costly to list and are listed only when needed.
  template <typename ListCandidates>
  std::optional<std::string> suggestFrom(std::string_view word, ListCandidates list) {
    return suggestionsLeft_ > 0 ? suggest(word, list()) : std::nullopt;
  }
  void reportUnknownUpstream(const std::string &name, SourceRange at);
  static constexpr int kMaxSuggestions = 50;
  void checkRecursion();

  // Declarations.cpp
  void checkDeclaration(ast::Decl &decl);
  void checkUpstream(ast::UpstreamDecl &decl);
  void checkServers(ast::UpstreamDecl &decl, ast::Expr &value);
  void checkBalance(ast::UpstreamDecl &decl, ast::Expr &value);
  void checkProtocol(ast::UpstreamDecl &decl, ast::Expr &value);
  void checkHealth(ast::UpstreamDecl &decl, ast::Expr &value);
  void checkOutlier(ast::UpstreamDecl &decl, ast::Expr &value);
  void checkAcl(ast::AclDecl &decl);
  void checkMap(ast::MapDecl &decl);
  void checkConst(ast::ConstDecl &decl);
  void checkFunction(ast::FuncDecl &decl);
  void checkPhase(ast::PhaseDecl &decl);
  void checkTest(ast::TestDecl &decl);
  template <typename T> std::optional<T> constant(ast::Expr &e, const Type *type, const char *what);
  std::optional<int64_t> constInt(ast::Expr &e, const char *what, int64_t min, int64_t max);
  std::optional<int64_t> constDuration(ast::Expr &e, const char *what);
  std::optional<std::string> constString(ast::Expr &e, const char *what);
  std::optional<bool> constBool(ast::Expr &e, const char *what);

  // Expressions.cpp
  const Type *checkExpr(ast::Expr &e);
  const Type *checkName(ast::NameExpr &e);
  const Type *checkMember(ast::MemberExpr &e);
  const Type *checkIndex(ast::IndexExpr &e);
  const Type *checkCall(ast::CallExpr &e);
  const Type *checkList(ast::ListExpr &e);
  const Type *checkUnary(ast::UnaryExpr &e);
  const Type *checkBinary(ast::BinaryExpr &e);
  const Type *checkRegexMatch(ast::BinaryExpr &e);
  const Type *checkIn(ast::BinaryExpr &e);
  const Type *variableType(schema::FieldType type);
  bool expectType(ast::Expr &e, const Type *expected, const char *what);
  ConstValue evaluate(ast::Expr &e) { return constants_.evaluate(e); }
  bool isConstant(const ast::Expr &e) const;
  void checkHeaderName(ast::Expr &index);

  // Statements.cpp
  void checkBlock(ast::Block &block);
  void checkStatement(ast::Stmt &stmt);
  void checkAssign(ast::AssignStmt &stmt);
  void lintWireValue(ast::Expr &value, schema::VariableId variable);
  void checkDelete(ast::DeleteStmt &stmt);
  void checkIf(ast::IfStmt &stmt);
  bool checkAction(schema::ActionId action, SourceRange at);
  void collectCaptures(ast::Expr &condition, std::vector<const ast::BinaryExpr *> &out);
  const schema::VariableInfo *writableTarget(ast::Expr &target, const char *verb);

public:
  // Lints.cpp (also used by Statements.cpp)
  static bool alwaysEnds(const ast::Stmt &stmt);
  static bool alwaysEnds(const ast::Block &block);

private:
  void lintUnused();
  void lintShadowedRules(const ast::Block &block);
  void lintAllShadowedRules();
  // Numbers the rules (ast::kNoRule) of every phase and function, into Program::rules.
  void numberRules();

  Program &program_;
  DiagnosticEngine &diags_;
  TypeContext &types() { return program_.types; }

  std::unordered_map<std::string, ast::Decl *> globals_;
  std::vector<std::set<FileId>> visible_; // by FileId: the files whose names it sees
  std::set<const ast::Decl *> checking_;  // consts and acls being checked: cycle detection
  std::set<const ast::Decl *> checked_;

  Context context_;
  std::vector<std::vector<ast::LocalBinding *>> scopes_;
  std::vector<std::vector<const ast::BinaryExpr *>> captureScopes_;
  std::vector<ast::LocalBinding *> allLocals_; // for the unused-binding lint
  int suggestionsLeft_ = kMaxSuggestions;
  ConstantEvaluator constants_;
  // Calls between user functions, for the no-recursion rule.
  std::map<const ast::FuncDecl *, std::vector<std::pair<const ast::FuncDecl *, SourceRange>>>
      calls_;

  // Checking a const, acl or map on first use happens inside another context: this saves
  // the caller's context and restores it.
  struct ContextSwitch {
    Checker &checker;
    Context savedContext;
    std::vector<std::vector<ast::LocalBinding *>> savedScopes;
    std::vector<std::vector<const ast::BinaryExpr *>> savedCaptures;
    ContextSwitch(Checker &c, Context next)
        : checker(c), savedContext(c.context_), savedScopes(std::move(c.scopes_)),
          savedCaptures(std::move(c.captureScopes_)) {
      c.context_ = next;
      c.scopes_.clear();
      c.captureScopes_.clear();
    }
    ~ContextSwitch() {
      checker.context_ = savedContext;
      checker.scopes_ = std::move(savedScopes);
      checker.captureScopes_ = std::move(savedCaptures);
    }
  };
};

// Levenshtein distance, for "did you mean" hints.
size_t editDistance(std::string_view a, std::string_view b);
// The closest candidate, if close enough to be a likely typo.
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string> &candidates);

} // namespace route::sema
