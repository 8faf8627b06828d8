// Visiting the expressions that a block's statements hold, nested blocks included, for
// passes that care about expressions rather than control flow.
#pragma once

#include "ast/AST.h"

#include <functional>

namespace route::ast {

enum class ExprRole { Value, Target }; // a Target is what an assignment or delete changes

// Calls `visit` on each statement's own expressions (not their sub-expressions), in source
// order, descending into the blocks of `if` statements.
void forEachExpression(const Block &block,
                       const std::function<void(const Expr &, ExprRole)> &visit);

// Calls `visit` on every statement of `block` and of the blocks of its `if` statements, each
// before those nested in it.
void forEachStatement(const Block &block, const std::function<void(const Stmt &)> &visit);

// Calls `visit` on the direct sub-expressions of `e`, left to right.
void forEachChild(const Expr &e, const std::function<void(const Expr &)> &visit);

} // namespace route::ast
