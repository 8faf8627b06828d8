// Values known when a policy is checked: literals, consts, and operations on them.
// The checker folds them to validate settings and patterns; the back ends read map keys
// and networks through the same evaluator.
#pragma once

#include "ast/AST.h"

#include <set>
#include <string>
#include <unordered_map>
#include <variant>

namespace route::sema {

struct ConstValue {
  std::variant<std::monostate, bool, int64_t, std::string, ast::IpValue> value;
  TypeKind kind = TypeKind::Error; // Int also stands for Duration (nanoseconds)
  bool known() const { return value.index() != 0; }
};

class ConstantEvaluator {
public:
  // Constant strings longer than this are refused: doubling consts would otherwise grow
  // to any size.
  static constexpr size_t kMaxString = 1 << 20;

  // The value of `e`, or an unknown value when `e` is not constant (or too large, or
  // reaches a const that depends on itself). Values of consts are kept once computed.
  ConstValue evaluate(const ast::Expr &e);
  // Whether an evaluation was cut short by kMaxString.
  bool hitSizeLimit() const { return hitSizeLimit_; }

private:
  std::unordered_map<const ast::Decl *, ConstValue> cache_;
  std::set<const ast::Decl *> visiting_;
  bool hitSizeLimit_ = false;
};

} // namespace route::sema
