// Route's abstract syntax tree. The parser builds it with source ranges; the checker
// annotates it (types, what each name refers to, the phase rules it obeyed) and the back
// ends read only the checked tree.
#pragma once

#include "ast/Types.h"
#include "diagnostics/SourceManager.h"
#include "schema/Schema.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace route::ast {

struct Decl;
struct BinaryExpr;

// An address or a network: 4 or 16 bytes and a prefix length (-1 for a plain address).
struct IpValue {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = -1;
  std::string str() const;
  bool operator==(const IpValue &) const = default;
};

// A local name: a `let` binding or a function parameter.
struct LocalBinding {
  std::string name;
  SourceRange range;
  const Type *type = nullptr;
  bool used = false;
};

struct TypeSyntax {
  std::string name;
  std::vector<TypeSyntax> args;
  SourceRange range;
};

// ---------------------------------------------------------------------------- expressions

enum class ExprKind : uint8_t { Literal, Name, Member, Index, Call, List, Unary, Binary, Error };

struct Expr {
  ExprKind kind;
  SourceRange range;
  const Type *type = nullptr; // set by the checker
  virtual ~Expr() = default;

protected:
  Expr(ExprKind kind, SourceRange range) : kind(kind), range(range) {}
};
using ExprPtr = std::unique_ptr<Expr>;

enum class LiteralKind : uint8_t { Bool, Int, String, Duration, Ip };

struct LiteralExpr : Expr {
  LiteralKind literal;
  bool boolValue = false;
  int64_t intValue = 0;    // Int; Duration in nanoseconds
  std::string stringValue; // String, escapes decoded
  bool raw = false;        // written as r"..."
  IpValue ip;              // Ip (a Cidr when ip.prefix >= 0)
  LiteralExpr(LiteralKind literal, SourceRange range)
      : Expr(ExprKind::Literal, range), literal(literal) {}
};

// What a bare name refers to, once checked.
enum class NameKind : uint8_t { Unresolved, Local, Const, Acl, Map, Upstream };

struct NameExpr : Expr {
  std::string name;
  NameKind resolved = NameKind::Unresolved;
  const LocalBinding *local = nullptr; // Local
  const Decl *decl = nullptr;          // Const, Acl, Map, Upstream
  NameExpr(std::string name, SourceRange range)
      : Expr(ExprKind::Name, range), name(std::move(name)) {}
};

struct MemberExpr : Expr {
  ExprPtr base;
  std::string member;
  SourceRange memberRange;
  // Set by the checker when the dotted path names a schema variable ("req.path") ...
  std::optional<schema::VariableId> variable;
  // ... or a named capture of the regex match in scope ("match.rest").
  const BinaryExpr *captureMatch = nullptr;
  int captureGroup = -1;
  MemberExpr(ExprPtr base, std::string member, SourceRange memberRange, SourceRange range)
      : Expr(ExprKind::Member, range), base(std::move(base)), member(std::move(member)),
        memberRange(memberRange) {}
};

struct IndexExpr : Expr {
  ExprPtr base;
  ExprPtr index;
  const BinaryExpr *captureMatch = nullptr; // match[N]
  int captureGroup = -1;
  IndexExpr(ExprPtr base, ExprPtr index, SourceRange range)
      : Expr(ExprKind::Index, range), base(std::move(base)), index(std::move(index)) {}
};

struct CallArgument {
  std::string name; // empty unless written `name = value`
  SourceRange nameRange;
  ExprPtr value;
  bool percent = false; // written `value%`: a percentage (upstream settings only)
};

struct CallExpr : Expr {
  std::string callee;
  SourceRange calleeRange;
  std::vector<CallArgument> args;
  // One of the two is set by the checker.
  std::optional<schema::BuiltinId> builtin;
  const Decl *function = nullptr;
  CallExpr(std::string callee, SourceRange calleeRange, SourceRange range)
      : Expr(ExprKind::Call, range), callee(std::move(callee)), calleeRange(calleeRange) {}
};

struct ListElement {
  ExprPtr value;
  ExprPtr weight; // `"host:port" weight 3`, servers lists only
};

struct ListExpr : Expr {
  std::vector<ListElement> elements;
  explicit ListExpr(SourceRange range) : Expr(ExprKind::List, range) {}
};

enum class UnaryOp : uint8_t { Not, Negate };

struct UnaryExpr : Expr {
  UnaryOp op;
  ExprPtr operand;
  UnaryExpr(UnaryOp op, ExprPtr operand, SourceRange range)
      : Expr(ExprKind::Unary, range), op(op), operand(std::move(operand)) {}
};

enum class BinaryOp : uint8_t {
  Mul,
  Div,
  Mod,
  Add,
  Sub,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Match,
  NotMatch,
  In,
  StartsWith,
  EndsWith,
  Contains,
  And,
  Or,
};
const char *spelling(BinaryOp op);

// A regex compiled at check time; the back ends compile the same pattern again.
struct RegexInfo {
  std::string pattern;
  std::vector<std::string> groupNames; // index = group number; "" for unnamed groups
};

struct BinaryExpr : Expr {
  BinaryOp op;
  SourceRange opRange;
  ExprPtr lhs;
  ExprPtr rhs;
  std::shared_ptr<const RegexInfo> regex; // Match and NotMatch
  BinaryExpr(BinaryOp op, SourceRange opRange, ExprPtr lhs, ExprPtr rhs, SourceRange range)
      : Expr(ExprKind::Binary, range), op(op), opRange(opRange), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {}
};

// Stands where the parser could not build an expression; it has already been reported.
struct ErrorExpr : Expr {
  explicit ErrorExpr(SourceRange range) : Expr(ExprKind::Error, range) {}
};

template <typename T> T &as(Expr &e) {
  return static_cast<T &>(e);
}
template <typename T> const T &as(const Expr &e) {
  return static_cast<const T &>(e);
}

// ----------------------------------------------------------------------------- statements

enum class StmtKind : uint8_t { If, Let, Assign, Delete, Respond, Redirect, Route, Retry, Return };

// A rule: a statement that does something to the exchange (an assignment, a delete, an
// answer, a route, a retry) or an `if` branch taken. `routec run` lists those that fired;
// the proxy counts them (turnout_rule_hits_total). The checker numbers them across the
// program (Program::rules), in source order.
inline constexpr uint32_t kNoRule = UINT32_MAX;

struct Stmt {
  StmtKind kind;
  SourceRange range;
  uint32_t rule = kNoRule; // set by the checker on the statements that are rules
  virtual ~Stmt() = default;

protected:
  Stmt(StmtKind kind, SourceRange range) : kind(kind), range(range) {}
};
using StmtPtr = std::unique_ptr<Stmt>;

struct Block {
  std::vector<StmtPtr> stmts;
  SourceRange range;
};

struct IfStmt : Stmt {
  struct Branch {
    ExprPtr condition;
    Block body;
    // The `~` matches in the condition whose captures the body may read.
    std::vector<const BinaryExpr *> captures;
    uint32_t rule = kNoRule; // taking the branch is a rule
  };
  std::vector<Branch> branches; // `if` and each `else if`
  std::optional<Block> elseBlock;
  explicit IfStmt(SourceRange range) : Stmt(StmtKind::If, range) {}
};

struct LetStmt : Stmt {
  LocalBinding binding;
  std::optional<TypeSyntax> declaredType;
  ExprPtr value;
  explicit LetStmt(SourceRange range) : Stmt(StmtKind::Let, range) {}
};

struct AssignStmt : Stmt {
  ExprPtr target;
  ExprPtr value;
  AssignStmt(ExprPtr target, ExprPtr value, SourceRange range)
      : Stmt(StmtKind::Assign, range), target(std::move(target)), value(std::move(value)) {}
};

struct DeleteStmt : Stmt {
  ExprPtr target;
  DeleteStmt(ExprPtr target, SourceRange range)
      : Stmt(StmtKind::Delete, range), target(std::move(target)) {}
};

struct RespondStmt : Stmt {
  ExprPtr status;
  ExprPtr body; // may be null
  explicit RespondStmt(SourceRange range) : Stmt(StmtKind::Respond, range) {}
};

struct RedirectStmt : Stmt {
  ExprPtr status; // may be null: 302
  ExprPtr location;
  explicit RedirectStmt(SourceRange range) : Stmt(StmtKind::Redirect, range) {}
};

struct RouteStmt : Stmt {
  ExprPtr target;
  RouteStmt(ExprPtr target, SourceRange range)
      : Stmt(StmtKind::Route, range), target(std::move(target)) {}
};

struct RetryStmt : Stmt {
  explicit RetryStmt(SourceRange range) : Stmt(StmtKind::Retry, range) {}
};

struct ReturnStmt : Stmt {
  ExprPtr value; // functions only
  ReturnStmt(ExprPtr value, SourceRange range)
      : Stmt(StmtKind::Return, range), value(std::move(value)) {}
};

template <typename T> T &as(Stmt &s) {
  return static_cast<T &>(s);
}
template <typename T> const T &as(const Stmt &s) {
  return static_cast<const T &>(s);
}

// --------------------------------------------------------------------------- declarations

enum class DeclKind : uint8_t { Import, Upstream, Acl, Map, Const, Func, Phase, Test };
const char *describe(DeclKind kind); // "upstream", "acl", ...

struct Decl {
  DeclKind kind;
  SourceRange range;
  std::string name;
  SourceRange nameRange;
  bool used = false; // set by the checker
  virtual ~Decl() = default;

protected:
  Decl(DeclKind kind, SourceRange range) : kind(kind), range(range) {}
};
using DeclPtr = std::unique_ptr<Decl>;

struct ImportDecl : Decl {
  std::string path; // as written, relative to the importing file
  FileId target = kNoFile;
  explicit ImportDecl(SourceRange range) : Decl(DeclKind::Import, range) {}
};

enum class BalanceKind : uint8_t { RoundRobin, Random, LeastConn, Hash, Ketama };
// The balancing policies as a policy spells them, by BalanceKind.
inline constexpr std::array<const char *, 5> kBalanceNames = {"round_robin", "random", "least_conn",
                                                              "hash", "ketama"};
inline const char *balanceName(BalanceKind kind) {
  return kBalanceNames[static_cast<size_t>(kind)];
}

// What an upstream's connections speak: HTTP/1.1, HTTP/2 over TLS (ALPN h2), HTTP/2 in
// cleartext with prior knowledge, or what ALPN settles over TLS.
enum class UpstreamProtocol : uint8_t { Http1, H2, H2c, Auto };
inline constexpr std::array<const char *, 4> kProtocolNames = {"http1", "h2", "h2c", "auto"};
inline const char *protocolName(UpstreamProtocol protocol) {
  return kProtocolNames[static_cast<size_t>(protocol)];
}

struct ServerSpec {
  std::string host;
  uint16_t port = 0;
  int64_t weight = 1;
  SourceRange range;
  // "ip:port", "[v6]:port": how the peer is named to policies (upstream.peer) and in logs.
  std::string address() const;
};

struct HealthCheckSpec {
  enum class Kind : uint8_t { None, Http, Tcp } kind = Kind::None;
  std::string path = "/";
  int64_t expectStatus = 200;
  int64_t intervalNs = 5'000'000'000;
  int64_t timeoutNs = 1'000'000'000;
  int64_t unhealthyAfter = 3;
  int64_t healthyAfter = 2;
};

// Passive health: `outlier = consecutive(failures = 5, ejection = 30s, max_ejected = 50%,
// max_ejection = 300s, count_5xx = false)`.
struct OutlierSpec {
  bool enabled = false;
  int64_t failures = 5;
  int64_t ejectionNs = 30'000'000'000;
  int64_t maxEjectionNs = 300'000'000'000;
  int64_t maxEjectedPercent = 10;
  bool count5xx = false;
};

// An upstream's settings after checking, with defaults filled in.
struct UpstreamConfig {
  std::vector<ServerSpec> servers;
  BalanceKind balance = BalanceKind::RoundRobin;
  const Expr *balanceKey = nullptr; // Hash and Ketama; evaluated in the request phase
  int64_t connectTimeoutNs = 5'000'000'000;
  int64_t readTimeoutNs = 60'000'000'000;
  int64_t writeTimeoutNs = 60'000'000'000;
  int64_t totalTimeoutNs = 0; // 0: no overall limit
  int64_t idleTimeoutNs = 60'000'000'000;
  int64_t retries = 1;
  int64_t maxConnections = 0; // per peer and thread; 0: no limit
  bool tls = false;
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
  std::string sni;
  bool verify = true;
  std::string ca, clientCert, clientKey; // PEM files; "": the system's CAs, no client certificate
  HealthCheckSpec health;
  OutlierSpec outlier;
};

struct UpstreamProperty {
  std::string name;
  SourceRange nameRange;
  ExprPtr value;
};

struct UpstreamDecl : Decl {
  std::vector<UpstreamProperty> properties;
  UpstreamConfig config; // set by the checker
  explicit UpstreamDecl(SourceRange range) : Decl(DeclKind::Upstream, range) {}
};

struct AclDecl : Decl {
  std::vector<ExprPtr> entries;
  std::vector<IpValue> networks; // set by the checker: every entry as a network
  explicit AclDecl(SourceRange range) : Decl(DeclKind::Acl, range) {}
};

struct MapEntry {
  ExprPtr key; // null for `default`
  ExprPtr value;
  SourceRange range;
};

struct MapDecl : Decl {
  std::vector<MapEntry> entries;
  const Type *keyType = nullptr;   // set by the checker
  const Type *valueType = nullptr; // set by the checker
  explicit MapDecl(SourceRange range) : Decl(DeclKind::Map, range) {}
};

struct ConstDecl : Decl {
  std::optional<TypeSyntax> declaredType;
  ExprPtr value;
  const Type *type = nullptr; // set by the checker
  explicit ConstDecl(SourceRange range) : Decl(DeclKind::Const, range) {}
};

struct FuncDecl : Decl {
  std::vector<LocalBinding> params;
  std::vector<TypeSyntax> paramTypes;
  TypeSyntax returnTypeSyntax;
  const Type *returnType = nullptr; // set by the checker
  Block body;
  explicit FuncDecl(SourceRange range) : Decl(DeclKind::Func, range) {}
};

struct PhaseDecl : Decl {
  std::optional<schema::Phase> phase; // unset when the name is not a phase
  Block body;
  explicit PhaseDecl(SourceRange range) : Decl(DeclKind::Phase, range) {}
};

enum class TestStepKind : uint8_t {
  Request,        // request METHOD URL [from IP]
  Header,         // header NAME = VALUE
  Origin,         // origin STATUS [BODY]
  OriginHeader,   // origin header NAME = VALUE
  Tls,            // tls FIELD = VALUE: a fact of the client's TLS connection (tls.FIELD)
  ExpectStatus,   // expect status N
  ExpectRoute,    // expect route NAME
  ExpectRedirect, // expect redirect URL
  ExpectBody,     // expect body TEXT
  ExpectCondition // expect BOOL-EXPRESSION
};

struct TestStep {
  TestStepKind kind;
  SourceRange range;
  std::string word; // the method of Request, the upstream of ExpectRoute, the field of Tls
  SourceRange wordRange;
  ExprPtr first;
  ExprPtr second;
  const Decl *upstream = nullptr; // ExpectRoute, set by the checker
};

struct TestDecl : Decl {
  std::vector<TestStep> steps;
  explicit TestDecl(SourceRange range) : Decl(DeclKind::Test, range) {}
};

template <typename T> T &as(Decl &d) {
  return static_cast<T &>(d);
}
template <typename T> const T &as(const Decl &d) {
  return static_cast<const T &>(d);
}

// One parsed file.
struct Module {
  FileId file = kNoFile;
  std::vector<DeclPtr> decls;
};

} // namespace route::ast
