// The reference interpreter: a tree walker over the checked AST. It defines what a policy
// means; the JIT must agree with it on every decision and edit, and it runs policies
// where the JIT is off. Policies reach their exchange only through the C ABI of
// route/abi.h, as compiled code does.
#pragma once

#include "route/abi.h"
#include "sema/Checker.h"

#include <memory>
#include <string>
#include <vector>

namespace route {

class Interpreter {
public:
  // Prepares what a policy needs at run time: compiled regexes, ACLs, map tables and the
  // values of consts. `program` must be checked without errors and outlive this.
  explicit Interpreter(const Program &program);
  ~Interpreter();
  Interpreter(const Interpreter &) = delete;
  Interpreter &operator=(const Interpreter &) = delete;

  // Runs the policy's handler of `phase` on an exchange, if it has one. When `trace` is
  // given, the condition of every branch taken and every action are appended to it.
  void runPhase(schema::Phase phase, RouteCtx *ctx,
                std::vector<SourceRange> *trace = nullptr) const;

  // Evaluates a bool expression over the exchange as it is (a test's `expect`).
  bool evaluateCondition(const ast::Expr &condition, RouteCtx *ctx) const;
  // Evaluates a string, int or ip expression (an upstream's balancing key) to bytes that
  // identify its value: the string itself, the decimal int, the 16 address bytes.
  std::string evaluateKey(const ast::Expr &key, RouteCtx *ctx) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace route
