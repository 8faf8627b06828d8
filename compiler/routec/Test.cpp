#include "routec/Commands.h"
#include "routec/Outcome.h"

#include <fmt/format.h>

#include <cstdio>

namespace routec {

namespace {

const std::string &literal(const route::ast::Expr &e) {
  return route::ast::as<route::ast::LiteralExpr>(e).stringValue;
}

int64_t number(const route::ast::Expr &e) {
  // Test steps take constants; the checker made sure they are literals or consts.
  if (e.kind == route::ast::ExprKind::Literal)
    return route::ast::as<route::ast::LiteralExpr>(e).intValue;
  const auto &name = route::ast::as<route::ast::NameExpr>(e);
  return number(*route::ast::as<route::ast::ConstDecl>(*name.decl).value);
}

const std::string &text(const route::ast::Expr &e) {
  if (e.kind == route::ast::ExprKind::Literal)
    return literal(e);
  const auto &name = route::ast::as<route::ast::NameExpr>(e);
  return text(*route::ast::as<route::ast::ConstDecl>(*name.decl).value);
}

// Runs one test block; returns what went wrong, one line per failed expectation.
std::vector<std::string> runTest(const route::ast::TestDecl &test,
                                 const route::Interpreter &policy,
                                 const route::SourceManager &sources) {
  using Kind = route::ast::TestStepKind;
  route::Exchange x;
  for (const route::ast::TestStep &step : test.steps) {
    switch (step.kind) {
    case Kind::Request:
      x.request.method = step.word;
      x.setUrl(text(*step.first));
      if (step.second)
        x.clientIp = route::ast::as<route::ast::LiteralExpr>(*step.second).ip.str();
      break;
    case Kind::Header:
      x.request.headers.add(text(*step.first), text(*step.second));
      break;
    case Kind::Origin:
      x.origin.status = number(*step.first);
      if (step.second)
        x.origin.body = text(*step.second);
      break;
    case Kind::OriginHeader:
      x.origin.headers.add(text(*step.first), text(*step.second));
      break;
    default:
      break;
    }
  }
  x.run(policy);

  std::vector<std::string> failures;
  auto fail = [&](const route::ast::TestStep &step, std::string what) {
    route::LineColumn lc = sources.lineColumn(step.range.file, step.range.begin);
    failures.push_back(fmt::format("{}:{}:{}: test \"{}\": {}", sources.path(step.range.file),
                                   lc.line, lc.column, test.name, what));
  };
  std::string got = describeDecision(x, policy);
  for (const route::ast::TestStep &step : test.steps) {
    switch (step.kind) {
    case Kind::ExpectStatus:
      if (x.response.status != number(*step.first))
        fail(step, fmt::format("expected status {}, got {} ({})", number(*step.first),
                               x.response.status, got));
      break;
    case Kind::ExpectRoute:
      if (x.decision.kind != route::Decision::Kind::Route ||
          policy.upstreams()[x.decision.upstream] != step.upstream)
        fail(step, fmt::format("expected route {}, got {}", step.word, got));
      break;
    case Kind::ExpectRedirect: {
      std::string location = x.response.headers.get("location");
      bool redirect = x.response.status >= 300 && x.response.status < 400;
      if (!redirect || location != text(*step.first))
        fail(step, fmt::format("expected a redirect to {}, got {}", routeLiteral(text(*step.first)),
                               redirect ? fmt::format("status {} to {}", x.response.status, routeLiteral(location))
                                        : got));
      break;
    }
    case Kind::ExpectBody:
      if (x.response.body != text(*step.first))
        fail(step, fmt::format("expected body {}, got {}", routeLiteral(text(*step.first)),
                               routeLiteral(x.response.body)));
      break;
    case Kind::ExpectCondition: {
      if (!x.check(policy, *step.first))
        fail(step, fmt::format("expectation does not hold: {}",
                               std::string(sources.slice(step.first->range))));
      break;
    }
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
    for (const route::ast::TestDecl *test : policy->program.tests) {
      if (test->range.file != policy->program.root)
        continue; // an imported file's tests run when that file is tested
      std::vector<std::string> failures = runTest(*test, interpreter, compilation.sources());
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
