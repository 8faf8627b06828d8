// Differential testing of the back ends: random well-typed policies, random requests, and
// the JIT must leave every exchange exactly as the interpreter does.
// Usage: differential_test [--policies N] [--requests M] [--seed S]
#include "PolicyGenerator.h"

#include "driver/Compilation.h"
#include "exchange/Exchange.h"
#include "interp/OnExchange.h"
#include "jit/Jit.h"
#include "policy/PolicyLoader.h"
#include "proxy/Simulation.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char **argv) {
  uint64_t policies = 150, requests = 20, seed = 20261128;
  for (int i = 1; i + 1 < argc; i += 2) {
    uint64_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--policies"))
      policies = value;
    else if (!std::strcmp(argv[i], "--requests"))
      requests = value;
    else if (!std::strcmp(argv[i], "--seed"))
      seed = value;
  }
  route::testing::PolicyGenerator generator(seed);
  uint64_t cases = 0;
  for (uint64_t p = 0; p < policies; ++p) {
    std::string text = generator.policy();
    route::Compilation compilation;
    route::LoadedPolicy *policy = compilation.loadText("generated.route", text);
    if (!policy->ok) {
      std::printf("generated policy %llu does not check:\n%s\n%s",
                  static_cast<unsigned long long>(p), compilation.diags().renderText().c_str(),
                  text.c_str());
      return 1;
    }
    route::Interpreter interpreter(policy->program);
    std::string why;
    std::unique_ptr<route::JitPolicy> jit = route::JitPolicy::compile(policy->program, why);
    if (!jit) {
      std::printf("generated policy %llu does not compile: %s\n%s",
                  static_cast<unsigned long long>(p), why.c_str(), text.c_str());
      return 1;
    }
    std::shared_ptr<const turnout::Policy> onInterpreter =
        turnout::policyOf(policy->program, nullptr, route::interpreted(interpreter));
    std::shared_ptr<const turnout::Policy> onJit =
        turnout::policyOf(policy->program, nullptr,
                          [&](route::schema::Phase phase, RouteCtx *ctx,
                              std::vector<route::SourceRange> *) { jit->runPhase(phase, ctx); });
    for (uint64_t r = 0; r < requests; ++r, ++cases) {
      route::testing::GeneratedRequest request = generator.request();
      route::Exchange prepared;
      prepared.setUrl(request.url);
      prepared.request.method = request.method;
      prepared.clientIp = request.clientIp;
      for (const auto &[name, value] : request.headers)
        prepared.request.headers.add(name, value);
      prepared.origin.status = request.originStatus;
      prepared.originError = request.originError;

      route::Exchange interpreted = prepared, compiled = prepared;
      turnout::proxy::simulate(interpreted, *onInterpreter);
      turnout::proxy::simulate(compiled, *onJit);
      std::string d = route::difference(interpreted, compiled);
      if (!d.empty()) {
        std::printf("the back ends disagree on policy %llu, request %s %s from %s:\n  %s\n%s",
                    static_cast<unsigned long long>(p), request.method.c_str(), request.url.c_str(),
                    request.clientIp.c_str(), d.c_str(), text.c_str());
        return 1;
      }
    }
  }
  std::printf("%llu cases over %llu policies: the JIT agrees with the interpreter on all\n",
              static_cast<unsigned long long>(cases), static_cast<unsigned long long>(policies));
  return 0;
}
