#include "policy/Policy.h"

#include "driver/Compilation.h"
#include "jit/Jit.h"

namespace turnout {

std::shared_ptr<const Policy> Policy::load(const std::string &path, std::string &diagnostics) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->path_ = path;
  policy->compilation_ = std::make_unique<route::Compilation>();
  policy->loaded_ = policy->compilation_->load(path);
  diagnostics = policy->compilation_->diags().renderText();
  if (!policy->loaded_ || !policy->loaded_->ok)
    return nullptr;
  const route::Program &program = policy->loaded_->program;
  policy->interpreter_ = std::make_unique<route::Interpreter>(program);
  std::string why;
  policy->jit_ = route::JitPolicy::compile(program, why);
  if (policy->jit_) {
    policy->backend_ = "jit";
    const route::JitPolicy *jit = policy->jit_.get();
    policy->runner_ = [jit](route::schema::Phase phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
      jit->runPhase(phase, ctx);
    };
  } else {
    policy->backend_ = "interpreter (the JIT declined: " + why + ")";
    const route::Interpreter *interpreter = policy->interpreter_.get();
    policy->runner_ = [interpreter](route::schema::Phase phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
      interpreter->runPhase(phase, ctx, nullptr);
    };
  }
  return policy;
}

Policy::~Policy() = default;

const route::Program &Policy::program() const { return loaded_->program; }

std::string Policy::balanceKey(route::Exchange &exchange, uint32_t upstream) const {
  const route::ast::Expr *key = program().upstreams[upstream]->config.balanceKey;
  return key ? exchange.balanceKey(*interpreter_, *key) : std::string();
}

} // namespace turnout
