#include "driver/Compilation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace route {
namespace {

const char *kSketch = R"(
upstream web {
    servers = ["127.0.0.1:8081" weight 3, "[::1]:8082"]
    balance = ketama(req.header["x-user"])
    connect_timeout = 1s
    read_timeout = 30s
    retries = 2
    health = http(path = "/healthz", interval = 5s, unhealthy_after = 3)
}
acl internal { 10.0.0.0/8, 192.168.0.0/16, ::1/128, 127.0.0.1 }
map tiers { "gold" => 3, "silver" => 2, default => 1 }
on request {
    if req.path starts_with "/admin" and not (client.ip in internal) {
        respond 403 "forbidden\n"
    }
    if req.path ~ r"^/old/(?P<rest>.*)$" {
        redirect 301 "https://example.com/new/" + match.rest
    }
    if tiers[req.header["x-tier"]] > 2 { route web }
    route web
}
on response {
    resp.header["x-served-by"] = "turnout"
}
)";

struct Checked {
  Compilation compilation;
  LoadedPolicy *policy = nullptr;
};

std::unique_ptr<Checked> checkText(const std::string &text) {
  auto c = std::make_unique<Checked>();
  c->policy = c->compilation.loadText("t.route", text);
  return c;
}

template <typename T> T &decl(Checked &c, size_t i) {
  return ast::as<T>(*c.policy->modules[0]->decls[i]);
}

TEST(Checker, AcceptsTheDesignSketchAndFillsInUpstreamSettings) {
  auto c = checkText(kSketch);
  ASSERT_TRUE(c->policy->ok) << c->compilation.diags().renderText();
  auto &web = decl<ast::UpstreamDecl>(*c, 0);
  ASSERT_EQ(web.config.servers.size(), 2u);
  EXPECT_EQ(web.config.servers[0].host, "127.0.0.1");
  EXPECT_EQ(web.config.servers[0].port, 8081);
  EXPECT_EQ(web.config.servers[0].weight, 3);
  EXPECT_EQ(web.config.servers[1].host, "::1");
  EXPECT_EQ(web.config.balance, ast::BalanceKind::Ketama);
  ASSERT_NE(web.config.balanceKey, nullptr);
  EXPECT_EQ(web.config.connectTimeoutNs, 1'000'000'000);
  EXPECT_EQ(web.config.readTimeoutNs, 30'000'000'000);
  EXPECT_EQ(web.config.retries, 2);
  EXPECT_EQ(web.config.health.kind, ast::HealthCheckSpec::Kind::Http);
  EXPECT_EQ(web.config.health.path, "/healthz");
  EXPECT_EQ(web.config.health.unhealthyAfter, 3);

  auto &internal = decl<ast::AclDecl>(*c, 1);
  ASSERT_EQ(internal.networks.size(), 4u);
  EXPECT_EQ(internal.networks[3].prefix, 32) << "a plain address is a /32";

  auto &tiers = decl<ast::MapDecl>(*c, 2);
  EXPECT_EQ(tiers.keyType->str(), "string");
  EXPECT_EQ(tiers.valueType->str(), "int");
  EXPECT_EQ(c->policy->program.upstreams.size(), 1u);
  EXPECT_NE(c->policy->program.phases[static_cast<size_t>(schema::Phase::Request)], nullptr);
  EXPECT_NE(c->policy->program.phases[static_cast<size_t>(schema::Phase::Response)], nullptr);
}

TEST(Checker, AnnotatesVariablesCapturesAndRoutes) {
  auto c = checkText(kSketch);
  ASSERT_TRUE(c->policy->ok);
  auto &request = decl<ast::PhaseDecl>(*c, 3);
  auto &adminRule = ast::as<ast::IfStmt>(*request.body.stmts[0]);
  auto &conj = ast::as<ast::BinaryExpr>(*adminRule.branches[0].condition);
  auto &startsWith = ast::as<ast::BinaryExpr>(*conj.lhs);
  auto &path = ast::as<ast::MemberExpr>(*startsWith.lhs);
  ASSERT_TRUE(path.variable.has_value());
  EXPECT_EQ(*path.variable, schema::VariableId::ReqPath);
  EXPECT_EQ(conj.type->kind(), TypeKind::Bool);

  auto &oldRule = ast::as<ast::IfStmt>(*request.body.stmts[1]);
  ASSERT_EQ(oldRule.branches[0].captures.size(), 1u);
  auto &redirect = ast::as<ast::RedirectStmt>(*oldRule.branches[0].body.stmts[0]);
  auto &concat = ast::as<ast::BinaryExpr>(*redirect.location);
  auto &rest = ast::as<ast::MemberExpr>(*concat.rhs);
  EXPECT_EQ(rest.captureGroup, 1);
  EXPECT_EQ(rest.captureMatch, oldRule.branches[0].captures[0]);

  auto &route = ast::as<ast::RouteStmt>(*request.body.stmts[3]);
  auto &target = ast::as<ast::NameExpr>(*route.target);
  EXPECT_EQ(target.resolved, ast::NameKind::Upstream);
  EXPECT_EQ(target.decl, &decl<ast::UpstreamDecl>(*c, 0));
}

TEST(Checker, EnforcesPhaseRulesFromTheSchemaTable) {
  // Every variable is readable exactly in the phases its row names.
  for (const schema::VariableInfo &v : schema::variables()) {
    for (const schema::PhaseInfo &p : schema::phases()) {
      if (v.type == schema::FieldType::Headers || v.type == schema::FieldType::Strings)
        continue;
      std::string text = std::string("on ") + p.name + " { let _x = " + v.name + " }\n";
      auto c = checkText(text);
      bool readable = v.readable & schema::maskOf(p.id);
      EXPECT_EQ(c->policy->ok, readable) << v.name << " in " << p.name << "\n"
                                         << c->compilation.diags().renderText();
    }
  }
}

TEST(Checker, ReportsEveryErrorOfEveryFileInOneRun) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "routec-checker-test";
  fs::create_directories(dir);
  std::ofstream(dir / "a.route") << "on request { route nowhere }\non respons { }\n";
  std::ofstream(dir / "b.route") << "const x: int = \"s\"\non request { respond 999 }\n";
  Compilation compilation;
  compilation.load((dir / "a.route").string());
  compilation.load((dir / "b.route").string());
  EXPECT_EQ(compilation.diags().errorCount(), 4u) << compilation.diags().renderText();
  fs::remove_all(dir);
}

TEST(Checker, ResolvesNamesAcrossImports) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "routec-import-test";
  fs::create_directories(dir / "lib");
  std::ofstream(dir / "lib" / "common.route")
      << "upstream web { servers = [\"127.0.0.1:80\"] }\nacl office { 10.0.0.0/8 }\n"
         "fn is_api(p: string) -> bool { return p starts_with \"/api\" }\n";
  std::ofstream(dir / "main.route")
      << "import \"lib/common.route\"\non request {\n"
         "  if client.ip in office and is_api(req.path) { route web }\n  respond 403\n}\n";
  Compilation compilation;
  LoadedPolicy *policy = compilation.load((dir / "main.route").string());
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->ok) << compilation.diags().renderText();
  EXPECT_EQ(policy->program.modules.size(), 2u);
  EXPECT_EQ(compilation.diags().warningCount(), 0u) << compilation.diags().renderText();
  fs::remove_all(dir);
}

TEST(Checker, RootFileThatCannotBeReadIsAnIoError) {
  Compilation compilation;
  EXPECT_EQ(compilation.load("/nonexistent/policy.route"), nullptr);
  EXPECT_EQ(compilation.diags().errorCount(), 1u);
}

TEST(Checker, TypesUserFunctionsAndBuiltins) {
  auto c = checkText(R"(
    const prefix = "/api/"
    fn shard(user: string, shards: int) -> int { return hash64(user) % shards }
    upstream a { servers = ["127.0.0.1:1"] }
    on request {
      let n: int = shard(lower(req.header["x-user"]), 4)
      let parts = split(req.path, "/")
      if n == 0 and len(parts) > 2 and req.path starts_with prefix + "v1" { route a }
      req.path = regex_replace(req.path, r"^/api/v(\d+)/", "/v$1/")
      route a
    })");
  EXPECT_TRUE(c->policy->ok) << c->compilation.diags().renderText();
}

} // namespace
} // namespace route

namespace route {
namespace {

TEST(Checker, ReadsOutlierDetectionAndItsPercentage) {
  auto c = checkText(R"(upstream web {
    servers = ["127.0.0.1:8081", "127.0.0.1:8082"]
    outlier = consecutive(failures = 3, ejection = 2s, max_ejected = 50%, count_5xx = true)
}
on request { route web }
)");
  ASSERT_TRUE(c->policy->ok) << c->compilation.diags().renderText();
  const ast::OutlierSpec &outlier = decl<ast::UpstreamDecl>(*c, 0).config.outlier;
  EXPECT_TRUE(outlier.enabled);
  EXPECT_EQ(outlier.failures, 3);
  EXPECT_EQ(outlier.ejectionNs, 2'000'000'000);
  EXPECT_EQ(outlier.maxEjectionNs, 300'000'000'000);
  EXPECT_EQ(outlier.maxEjectedPercent, 50);
  EXPECT_TRUE(outlier.count5xx);
  // `%` is still the remainder between two operands.
  EXPECT_TRUE(checkText("on request { if 7 % 3 == 1 { respond 200 } }\n")->policy->ok);
}

TEST(Checker, RefusesPercentagesWhereTheyMeanNothing) {
  for (const char *bad : {
           "outlier = consecutive(max_ejected = 50)", // a percentage is written with %
           "outlier = consecutive(failures = 5%)",    // and only there
           "outlier = consecutive(ejections = 5)",    // unknown setting
           "outlier = consecutive(ejection = 60s, max_ejection = 30s)",
           "outlier = http(failures = 5)",
           "health = tcp(unhealthy_after = 3%)",
       }) {
    auto c = checkText(std::string("upstream web {\n    servers = [\"127.0.0.1:8081\"]\n    ") +
                       bad + "\n}\non request { route web }\n");
    EXPECT_FALSE(c->policy->ok) << bad;
  }
  auto c = checkText("on request { respond 200 Lower(\"A\"%) }\n");
  EXPECT_FALSE(c->policy->ok);
  EXPECT_NE(
      c->compilation.diags().renderText().find("a percentage is only an upstream setting's value"),
      std::string::npos)
      << c->compilation.diags().renderText();
}

TEST(Checker, NumbersTheRulesInSourceOrder) {
  auto d = checkText(R"(on request {
    if req.path == "/a" { respond 200 }
    else if req.path == "/b" { req.header["x"] = "1" }
    delete req.header["y"]
    respond 404
}
)");
  ASSERT_TRUE(d->policy->ok) << d->compilation.diags().renderText();
  std::vector<std::string> actions;
  for (const Program::Rule &rule : d->policy->program.rules)
    actions.emplace_back(rule.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"if", "respond", "if", "set", "delete", "respond"}));
}

} // namespace
} // namespace route
