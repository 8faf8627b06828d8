#include "Commands.h"
#include "Support.h"
#include "ast/Printer.h"
#include "jit/Jit.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace routec {

namespace {

const char *healthName(route::ast::HealthCheckSpec::Kind kind) {
  switch (kind) {
  case route::ast::HealthCheckSpec::Kind::Http:
    return "http";
  case route::ast::HealthCheckSpec::Kind::Tcp:
    return "tcp";
  default:
    return "none";
  }
}

// Every peer the policy's upstreams name: where the proxy connects, and its health checks
// probe. Tools read this to see where a policy sends traffic before anything serves it.
void printUpstreams(const route::Program &program, bool json) {
  nlohmann::json upstreams = nlohmann::json::array();
  std::string text;
  for (const route::ast::UpstreamDecl *upstream : program.upstreams) {
    const route::ast::UpstreamConfig &config = upstream->config;
    nlohmann::json peers = nlohmann::json::array();
    for (const route::ast::ServerSpec &server : config.servers) {
      peers.push_back({{"address", server.address()},
                       {"host", server.host},
                       {"port", server.port},
                       {"weight", server.weight}});
      text += fmt::format("{} {} weight {}\n", upstream->name, server.address(), server.weight);
    }
    upstreams.push_back({{"name", upstream->name},
                         {"balance", route::ast::balanceName(config.balance)},
                         {"tls", config.tls},
                         {"protocol", route::ast::protocolName(config.protocol)},
                         {"health", healthName(config.health.kind)},
                         {"peers", std::move(peers)}});
  }
  if (json)
    std::puts(nlohmann::json{{"upstreams", std::move(upstreams)}}.dump(2).c_str());
  else
    std::fputs(text.c_str(), stdout);
}

} // namespace

int dump(const DumpOptions &options) {
  if (!options.ast && !options.ir && !options.assembly && !options.upstreams) {
    std::fputs("routec dump: choose what to show: --ast, --ir, --asm or --upstreams\n", stderr);
    return kExitUsage;
  }
  if (options.json && !options.upstreams) {
    std::fputs("routec dump: --json goes with --upstreams\n", stderr);
    return kExitUsage;
  }
  route::Compilation compilation;
  int exitCode = kExitClean;
  route::LoadedPolicy *policy = loadPolicy(compilation, options.file, exitCode);
  if (!policy)
    return exitCode;
  if (options.upstreams) {
    printUpstreams(policy->program, options.json);
    return kExitClean;
  }
  if (options.ir || options.assembly) {
    std::string why;
    route::JitOptions keep{options.ir, options.assembly};
    std::unique_ptr<route::JitPolicy> jit = route::JitPolicy::compile(policy->program, why, keep);
    if (!jit) {
      std::fprintf(stderr, "routec dump: %s\n", why.c_str());
      return kExitErrors;
    }
    std::fputs((options.ir ? jit->ir() : jit->assembly()).c_str(), stdout);
    return kExitClean;
  }
  for (const route::ast::Module *module : policy->program.modules) {
    std::printf("// %s\n", compilation.sources().path(module->file).c_str());
    std::fputs(route::ast::print(*module, compilation.sources()).c_str(), stdout);
  }
  return kExitClean;
}

} // namespace routec
