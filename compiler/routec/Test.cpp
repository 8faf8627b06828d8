#include "Commands.h"
#include "Support.h"
#include "ast/Printer.h"
#include "interp/OnExchange.h"
#include "jit/Jit.h"
#include "policy/PolicyLoader.h"
#include "proxy/Simulation.h"
#include "schema/Schema.h"
#include "sema/Constants.h"

#include <fmt/format.h>

#include <cstdio>

namespace routec {

namespace {

using route::ast::TestStepKind;

// Test steps take constants (the checker made sure), folded by the checker's evaluator.
int64_t number(const route::ast::Expr &e) {
  return std::get<int64_t>(route::sema::ConstantEvaluator().evaluate(e).value);
}

std::string text(const route::ast::Expr &e) {
  return std::get<std::string>(route::sema::ConstantEvaluator().evaluate(e).value);
}

bool flag(const route::ast::Expr &e) {
  return std::get<bool>(route::sema::ConstantEvaluator().evaluate(e).value);
}

// Sets the TLS fact `tls.FIELD` a test step gives (the checker knows the field).
void setTlsFact(route::TlsFacts &tls, const route::ast::TestStep &step) {
  using V = route::schema::VariableId;
  const route::schema::VariableInfo *info = route::schema::findVariable("tls." + step.word);
  switch (info ? info->id : V::TlsVersion) {
  case V::TlsVersion:
    tls.version = text(*step.first);
    break;
  case V::TlsCipher:
    tls.cipher = text(*step.first);
    break;
  case V::TlsSni:
    tls.sni = text(*step.first);
    break;
  case V::TlsAlpn:
    tls.alpn = text(*step.first);
    break;
  case V::TlsResumed:
    tls.resumed = flag(*step.first);
    break;
  case V::TlsClientVerified:
    tls.clientVerified = flag(*step.first);
    break;
  case V::TlsClientSubject:
    tls.clientSubject = text(*step.first);
    break;
  case V::TlsClientIssuer:
    tls.clientIssuer = text(*step.first);
    break;
  case V::TlsClientFingerprint:
    tls.clientFingerprint = text(*step.first);
    break;
  default:
    break;
  }
}

// The exchange a test describes, before any phase ran; an https:// request's connection is
// `tls`: simulatedTls() changed by the test's `tls` steps.
route::Exchange exchangeFor(const route::ast::TestDecl &test, route::TlsFacts &tls) {
  route::Exchange x;
  for (const route::ast::TestStep &step : test.steps) {
    switch (step.kind) {
    case TestStepKind::Request:
      x.request.method = step.word;
      x.setUrl(text(*step.first));
      if (step.second)
        x.clientIp = std::get<route::ast::IpValue>(
                         route::sema::ConstantEvaluator().evaluate(*step.second).value)
                         .str();
      break;
    case TestStepKind::Header:
      x.request.headers.add(text(*step.first), text(*step.second));
      break;
    case TestStepKind::Origin:
      x.origin.status = number(*step.first);
      if (step.second)
        x.origin.body = text(*step.second);
      break;
    case TestStepKind::OriginHeader:
      x.origin.headers.add(text(*step.first), text(*step.second));
      break;
    default:
      break;
    }
  }
  if (x.request.scheme != "https")
    return x;
  tls = simulatedTls(x.request);
  bool verifiedGiven = false;
  for (const route::ast::TestStep &step : test.steps) {
    if (step.kind == TestStepKind::Tls) {
      setTlsFact(tls, step);
      verifiedGiven |= step.word == "client.verified";
    }
  }
  // A client certificate a test names was verified, unless the test says it was not.
  if (!verifiedGiven)
    tls.clientVerified = !tls.clientSubject.empty();
  x.tls = &tls;
  return x;
}

struct Backends {
  const route::Program &program;
  const route::Interpreter &interpreter;
  const turnout::Policy &interpreted; // the proxy's view of each
  const turnout::Policy *compiled;    // null: the interpreter alone
};

// Runs one test block; returns what went wrong, one line per failed expectation.
std::vector<std::string> runTest(const route::ast::TestDecl &test, const Backends &backends,
                                 const route::SourceManager &sources) {
  route::TlsFacts tls, compiledTls;
  route::Exchange x = exchangeFor(test, tls);
  turnout::proxy::simulate(x, backends.interpreted);
  route::Exchange compiled = exchangeFor(test, compiledTls);
  if (backends.compiled)
    turnout::proxy::simulate(compiled, *backends.compiled);

  std::vector<std::string> failures;
  auto fail = [&](route::SourceRange at, std::string what) {
    route::LineColumn lc = sources.lineColumn(at.file, at.begin);
    failures.push_back(fmt::format("{}:{}:{}: test \"{}\": {}", sources.path(at.file), lc.line,
                                   lc.column, test.name, what));
  };
  if (backends.compiled) {
    std::string d = route::difference(x, compiled);
    if (!d.empty())
      fail(test.nameRange, "the JIT and the interpreter disagree: " + d);
  }
  std::string got = describeDecision(x, backends.program);
  for (const route::ast::TestStep &step : test.steps) {
    switch (step.kind) {
    case TestStepKind::ExpectStatus:
      if (x.response.status != number(*step.first))
        fail(step.range, fmt::format("expected status {}, got {} ({})", number(*step.first),
                                     x.response.status, got));
      break;
    case TestStepKind::ExpectRoute:
      if (x.decision.kind != route::Decision::Kind::Route ||
          backends.program.upstreams[x.decision.upstream] != step.upstream)
        fail(step.range, fmt::format("expected route {}, got {}", step.word, got));
      break;
    case TestStepKind::ExpectRedirect: {
      std::string location = x.response.headers().get("location");
      bool redirect = x.response.status >= 300 && x.response.status < 400;
      if (!redirect || location != text(*step.first))
        fail(step.range, fmt::format("expected a redirect to {}, got {}",
                                     route::ast::stringLiteral(text(*step.first)),
                                     redirect ? fmt::format("status {} to {}", x.response.status,
                                                            route::ast::stringLiteral(location))
                                              : got));
      break;
    }
    case TestStepKind::ExpectBody:
      if (x.response.body != text(*step.first))
        fail(step.range,
             fmt::format("expected body {}, got {}", route::ast::stringLiteral(text(*step.first)),
                         route::ast::stringLiteral(x.response.body)));
      break;
    case TestStepKind::ExpectCondition:
      if (!route::check(x, backends.interpreter, *step.first))
        fail(step.range, fmt::format("expectation does not hold: {}",
                                     std::string(sources.slice(step.first->range))));
      else if (backends.compiled && !route::check(compiled, backends.interpreter, *step.first))
        fail(step.range, fmt::format("expectation does not hold after the JIT: {}",
                                     std::string(sources.slice(step.first->range))));
      break;
    default:
      break;
    }
  }
  return failures;
}

} // namespace

int test(const TestOptions &options) {
  route::Compilation compilation;
  size_t passed = 0, failed = 0;
  bool ioError = false;
  for (const std::string &file : options.files) {
    route::LoadedPolicy *policy = compilation.load(file);
    if (!policy) {
      ioError = true;
      continue;
    }
    if (!policy->ok) {
      ++failed; // a policy that does not check fails all its tests at once
      continue;
    }
    route::Interpreter interpreter(policy->program);
    std::unique_ptr<route::JitPolicy> jit;
    if (!options.noJit) {
      std::string why;
      jit = route::JitPolicy::compile(policy->program, why);
      if (!jit)
        std::fprintf(stderr, "routec test: %s: %s; its tests ran on the interpreter alone\n",
                     file.c_str(), why.c_str());
    }
    const route::SourceManager *sources = &compilation.sources();
    std::shared_ptr<const turnout::Policy> interpreted =
        turnout::policyOf(policy->program, sources, route::interpreted(interpreter));
    std::shared_ptr<const turnout::Policy> compiled;
    if (jit)
      compiled =
          turnout::policyOf(policy->program, sources,
                            [&](route::schema::Phase phase, RouteCtx *ctx,
                                std::vector<route::SourceRange> *) { jit->runPhase(phase, ctx); });
    Backends backends{policy->program, interpreter, *interpreted, compiled.get()};
    for (const route::ast::TestDecl *test : policy->program.tests) {
      if (test->range.file != policy->program.root)
        continue; // an imported file's tests run when that file is tested
      std::vector<std::string> failures = runTest(*test, backends, compilation.sources());
      for (const std::string &line : failures)
        std::puts(line.c_str());
      (failures.empty() ? passed : failed)++;
    }
  }
  std::fputs(compilation.diags().renderText().c_str(), stderr);
  std::printf("%zu passed, %zu failed\n", passed, failed);
  if (ioError)
    return kExitUsage;
  return failed ? kExitErrors : kExitClean;
}

} // namespace routec
