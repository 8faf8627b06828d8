#include "ast/AST.h"

#include <arpa/inet.h>

namespace route::ast {

std::string IpValue::str() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof buffer);
  std::string out = buffer;
  if (prefix >= 0)
    out += "/" + std::to_string(prefix);
  return out;
}

const char *spelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Mod:
    return "%";
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Eq:
    return "==";
  case BinaryOp::Ne:
    return "!=";
  case BinaryOp::Lt:
    return "<";
  case BinaryOp::Le:
    return "<=";
  case BinaryOp::Gt:
    return ">";
  case BinaryOp::Ge:
    return ">=";
  case BinaryOp::Match:
    return "~";
  case BinaryOp::NotMatch:
    return "!~";
  case BinaryOp::In:
    return "in";
  case BinaryOp::StartsWith:
    return "starts_with";
  case BinaryOp::EndsWith:
    return "ends_with";
  case BinaryOp::Contains:
    return "contains";
  case BinaryOp::And:
    return "and";
  case BinaryOp::Or:
    return "or";
  }
  return "?";
}

const char *describe(DeclKind kind) {
  switch (kind) {
  case DeclKind::Import:
    return "import";
  case DeclKind::Upstream:
    return "upstream";
  case DeclKind::Acl:
    return "acl";
  case DeclKind::Map:
    return "map";
  case DeclKind::Const:
    return "const";
  case DeclKind::Func:
    return "function";
  case DeclKind::Phase:
    return "phase handler";
  case DeclKind::Test:
    return "test";
  }
  return "declaration";
}

std::string ServerSpec::address() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

} // namespace route::ast
