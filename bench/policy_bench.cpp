// The policy engine's figures: the request phase per request on the JIT, on the
// interpreter and written by hand in C++ (through the same host ABI), and the time from
// source to callable code. A benchmark, not a test: it prints figures and asserts nothing.
//
// Usage: policy_bench [--sketch FILE] [--table FILE]... [--example FILE]... [benchmark flags]
//   --sketch   DESIGN.md's sketch; also timed as hand-written C++
//   --table    a bench/gen_policy.py policy; its host+path rules are also timed as a
//              hand-written hash table; the request hits the last rule
//   --example  any policy, on a request for its first test's URL or "/"
#include "driver/Compilation.h"
#include "interp/OnExchange.h"
#include "jit/Jit.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <unordered_map>

namespace {

using route::schema::Phase;
using route::schema::VariableId;

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string baseName(const std::string &path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find('.'));
}

uint32_t var(VariableId id) {
  return static_cast<uint32_t>(id);
}
bool same(RouteStr s, std::string_view t) {
  return std::string_view(s.data, s.size) == t;
}
bool startsWith(RouteStr s, std::string_view t) {
  return std::string_view(s.data, s.size).starts_with(t);
}

// A policy loaded, checked and compiled by both back ends, with the exchange it is timed on.
struct Subject {
  route::Compilation compilation;
  route::LoadedPolicy *policy = nullptr;
  std::unique_ptr<route::Interpreter> interpreter;
  std::unique_ptr<route::JitPolicy> jit;
  route::Exchange exchange;
};

std::unique_ptr<Subject> load(const std::string &path, const std::string &url,
                              const std::string &client) {
  auto s = std::make_unique<Subject>();
  s->policy = s->compilation.load(path);
  if (!s->policy || !s->policy->ok) {
    std::fprintf(stderr, "%s", s->compilation.diags().renderText().c_str());
    std::exit(2);
  }
  s->interpreter = std::make_unique<route::Interpreter>(s->policy->program);
  std::string why;
  s->jit = route::JitPolicy::compile(s->policy->program, why);
  if (!s->jit) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), why.c_str());
    std::exit(2);
  }
  s->exchange.setUrl(url);
  s->exchange.clientIp = client;
  s->exchange.request.headers.add("cookie", "session=abc; theme=dark");
  s->exchange.request.headers.add("x-user", "alice");
  return s;
}

void registerEvaluation(const std::string &name, Subject *s) {
  benchmark::RegisterBenchmark(("request/jit/" + name).c_str(), [s](benchmark::State &state) {
    route::PhaseRunner run = [s](Phase phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
      s->jit->runPhase(phase, ctx);
    };
    for (auto _ : state)
      s->exchange.runPhase(run, Phase::Request);
  });
  benchmark::RegisterBenchmark(("request/interpreter/" + name).c_str(),
                               [s](benchmark::State &state) {
                                 route::PhaseRunner run = [s](Phase phase, RouteCtx *ctx,
                                                              std::vector<route::SourceRange> *) {
                                   s->interpreter->runPhase(phase, ctx, nullptr);
                                 };
                                 for (auto _ : state)
                                   s->exchange.runPhase(run, Phase::Request);
                               });
}

void registerCompilation(const std::string &name, const std::string &path) {
  std::string text = readFile(path);
  benchmark::RegisterBenchmark(("compile/check/" + name).c_str(), [text](benchmark::State &state) {
    for (auto _ : state) {
      route::Compilation c;
      benchmark::DoNotOptimize(c.loadText("policy.route", text));
    }
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("compile/check+jit/" + name).c_str(), [text](
                                                                          benchmark::State &state) {
    for (auto _ : state) {
      route::Compilation c;
      route::LoadedPolicy *policy = c.loadText("policy.route", text);
      std::string why;
      benchmark::DoNotOptimize(route::JitPolicy::compile(policy->program, why));
    }
  })->Unit(benchmark::kMillisecond);
}

// DESIGN.md's request phase, written by hand against the same host functions.
struct SketchByHand {
  RouteAcl *internal;
  RouteRegex *old = route_regex_compile({"^/old/(?P<rest>.*)$", 19});
  SketchByHand() {
    RouteIp nets[3] = {route_ParseIp({"10.0.0.0", 8}), route_ParseIp({"192.168.0.0", 11}),
                       route_ParseIp({"::1", 3})};
    uint8_t prefixes[3] = {8, 16, 128};
    internal = route_acl_create(nets, prefixes, 3);
  }
  void operator()(RouteCtx *ctx) const {
    RouteStr path = route_get_str(ctx, var(VariableId::ReqPath));
    if (startsWith(path, "/admin") &&
        !route_acl_contains(internal, route_get_ip(ctx, var(VariableId::ClientIp)))) {
      route_respond(ctx, 403, {"forbidden\n", 10});
      return;
    }
    RouteStr groups[2];
    if (route_regex_match(old, path, groups, 2)) {
      RouteArena *arena = route_ctx_arena(ctx);
      char *url = route_arena_alloc(arena, 24 + groups[1].size);
      std::memcpy(url, "https://example.com/new/", 24);
      std::memcpy(url + 24, groups[1].data, groups[1].size);
      route_redirect(ctx, 301, {url, 24 + groups[1].size});
      return;
    }
    if (same(route_get_str(ctx, var(VariableId::ReqHost)), "one.one.one.one")) {
      route_route(ctx, 1);
      return;
    }
    route_route(ctx, 0);
  }
};

// A generated policy's host+path rules as a hash table from host to its prefixes.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

struct TableByHand {
  std::unordered_map<std::string, std::vector<std::pair<std::string, uint32_t>>, TextHash,
                     std::equal_to<>>
      byHost;
  void operator()(RouteCtx *ctx) const {
    RouteStr host = route_get_str(ctx, var(VariableId::ReqHost));
    auto it = byHost.find(std::string_view(host.data, host.size));
    if (it != byHost.end()) {
      RouteStr path = route_get_str(ctx, var(VariableId::ReqPath));
      for (const auto &[prefix, upstream] : it->second)
        if (startsWith(path, prefix)) {
          route_route(ctx, upstream);
          return;
        }
    }
    route_respond(ctx, 404, {"no route\n", 9});
  }
};

template <typename Hand> void registerByHand(const std::string &name, Subject *s, Hand hand) {
  benchmark::RegisterBenchmark(("request/c++/" + name).c_str(), [s, hand](benchmark::State &state) {
    route::PhaseRunner run = [&hand](Phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
      hand(ctx);
    };
    for (auto _ : state)
      s->exchange.runPhase(run, Phase::Request);
  });
}

std::vector<std::unique_ptr<Subject>> subjects;

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], path = argv[i + 1], name = baseName(path);
    if (flag == "--sketch") {
      Subject *s =
          subjects.emplace_back(load(path, "http://example.com/app/page", "203.0.113.9")).get();
      registerEvaluation(name, s);
      registerByHand(name, s, SketchByHand());
      registerCompilation(name, path);
    } else if (flag == "--table") {
      std::string text = readFile(path);
      std::regex rule(
          R"re(if req\.host == "([^"]+)" and req\.path starts_with "([^"]+)" \{\s*route u(\d+))re");
      TableByHand table;
      std::string lastHost, lastPrefix;
      for (std::sregex_iterator it(text.begin(), text.end(), rule), end; it != end; ++it) {
        lastHost = (*it)[1];
        lastPrefix = (*it)[2];
        table.byHost[lastHost].emplace_back(lastPrefix,
                                            static_cast<uint32_t>(std::stoul((*it)[3])));
      }
      Subject *s =
          subjects.emplace_back(load(path, "http://" + lastHost + lastPrefix + "x", "203.0.113.9"))
              .get();
      registerEvaluation(name, s);
      registerByHand(name, s, table);
      registerCompilation(name, path);
    } else if (flag == "--example") {
      Subject *s =
          subjects.emplace_back(load(path, "http://www.example.com/", "203.0.113.9")).get();
      registerEvaluation(name, s);
      registerCompilation(name, path);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
