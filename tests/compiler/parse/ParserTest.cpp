#include "parse/Parser.h"

#include <gtest/gtest.h>

namespace route {
namespace {

struct Parsed {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  std::unique_ptr<ast::Module> module;
};

std::unique_ptr<Parsed> parse(std::string text) {
  auto p = std::make_unique<Parsed>();
  FileId file = p->sources.add("t.route", std::move(text));
  p->module = parseModule(p->sources, file, p->diags);
  return p;
}

TEST(Parser, BuildsDeclarationsOfEveryKind) {
  auto p = parse(R"(
    import "lib.route"
    upstream web { servers = ["127.0.0.1:80" weight 3] balance = round_robin }
    acl internal { 10.0.0.0/8, ::1/128 }
    map tiers { "gold" => 3, default => 1 }
    const limit = 10
    fn double(n: int) -> int { return n * 2 }
    on request { route web }
    test "t" { request GET "http://x/" expect status 200 }
  )");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->diags.renderText();
  std::vector<ast::DeclKind> kinds;
  for (auto &d : p->module->decls)
    kinds.push_back(d->kind);
  EXPECT_EQ(kinds, (std::vector<ast::DeclKind>{ast::DeclKind::Import, ast::DeclKind::Upstream,
                                               ast::DeclKind::Acl, ast::DeclKind::Map,
                                               ast::DeclKind::Const, ast::DeclKind::Func,
                                               ast::DeclKind::Phase, ast::DeclKind::Test}));
  auto &up = ast::as<ast::UpstreamDecl>(*p->module->decls[1]);
  ASSERT_EQ(up.properties.size(), 2u);
  auto &servers = ast::as<ast::ListExpr>(*up.properties[0].value);
  ASSERT_EQ(servers.elements.size(), 1u);
  EXPECT_NE(servers.elements[0].weight, nullptr);
  auto &map = ast::as<ast::MapDecl>(*p->module->decls[3]);
  EXPECT_EQ(map.entries[1].key, nullptr) << "default entry has no key";
}

TEST(Parser, DecodesLiterals) {
  auto p = parse(R"(const a = "t\tq\"\x41" const b = r"^\d+$" const c = 1m30s const d = 250ms
                    const e = 2001:db8::/32 const f = 192.168.1.1 const g = 9223372036854775807)");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->diags.renderText();
  auto value = [&](size_t i) -> ast::LiteralExpr & {
    return ast::as<ast::LiteralExpr>(*ast::as<ast::ConstDecl>(*p->module->decls[i]).value);
  };
  EXPECT_EQ(value(0).stringValue, "t\tq\"A");
  EXPECT_EQ(value(1).stringValue, "^\\d+$");
  EXPECT_TRUE(value(1).raw);
  EXPECT_EQ(value(2).intValue, 90'000'000'000);
  EXPECT_EQ(value(3).intValue, 250'000'000);
  EXPECT_TRUE(value(4).ip.v6);
  EXPECT_EQ(value(4).ip.prefix, 32);
  EXPECT_EQ(value(4).ip.bytes[0], 0x20);
  EXPECT_EQ(value(4).ip.bytes[1], 0x01);
  EXPECT_FALSE(value(5).ip.v6);
  EXPECT_EQ(value(5).ip.prefix, -1);
  EXPECT_EQ(value(5).ip.bytes[3], 1);
  EXPECT_EQ(value(6).intValue, INT64_MAX);
}

TEST(Parser, FlattensElseIfChainsAndKeepsPrecedence) {
  auto p = parse(R"(on request {
      if a { return } else if b { return } else if c { return } else { return }
      let x = 1 + 2 * 3 == 7 and not false or true
    })");
  ASSERT_EQ(p->diags.errorCount(), 0u) << p->diags.renderText();
  auto &phase = ast::as<ast::PhaseDecl>(*p->module->decls[0]);
  auto &ifs = ast::as<ast::IfStmt>(*phase.body.stmts[0]);
  EXPECT_EQ(ifs.branches.size(), 3u);
  EXPECT_TRUE(ifs.elseBlock.has_value());
  auto &let = ast::as<ast::LetStmt>(*phase.body.stmts[1]);
  auto &top = ast::as<ast::BinaryExpr>(*let.value);
  EXPECT_EQ(top.op, ast::BinaryOp::Or);
  auto &conj = ast::as<ast::BinaryExpr>(*top.lhs);
  EXPECT_EQ(conj.op, ast::BinaryOp::And);
  auto &eq = ast::as<ast::BinaryExpr>(*conj.lhs);
  EXPECT_EQ(eq.op, ast::BinaryOp::Eq);
  auto &sum = ast::as<ast::BinaryExpr>(*eq.lhs);
  EXPECT_EQ(sum.op, ast::BinaryOp::Add);
  EXPECT_EQ(ast::as<ast::BinaryExpr>(*sum.rhs).op, ast::BinaryOp::Mul);
}

TEST(Parser, ReportsEverySyntaxErrorInOneRun) {
  auto p = parse("on request {\n  route\n}\nupstream { }\nacl a { $ }\n");
  EXPECT_GE(p->diags.errorCount(), 3u) << p->diags.renderText();
}

TEST(Parser, RangesPointAtTheToken) {
  auto p = parse("on request {\n    route   web\n}\n");
  auto &phase = ast::as<ast::PhaseDecl>(*p->module->decls[0]);
  auto &route = ast::as<ast::RouteStmt>(*phase.body.stmts[0]);
  EXPECT_EQ(p->sources.slice(route.target->range), "web");
  EXPECT_EQ(p->sources.slice(route.range), "route   web");
  EXPECT_EQ(p->sources.slice(phase.nameRange), "request");
}

TEST(Parser, RejectsHostileInputWithoutCrashing) {
  EXPECT_GE(parse(std::string(100000, '('))->diags.errorCount(), 1u);
  EXPECT_GE(parse("on request { if " + std::string(50000, '-') + "1 == 1 { return } }")
                ->diags.errorCount(),
            1u);
  std::string chain = "on request { if 1";
  for (int i = 0; i < 20000; ++i)
    chain += " + 1";
  EXPECT_GE(parse(chain + " == 1 { return } }")->diags.errorCount(), 1u);
  EXPECT_GE(parse("\xc3\x28")->diags.errorCount(), 1u);     // invalid continuation
  EXPECT_GE(parse("\xed\xa0\x80")->diags.errorCount(), 1u); // a UTF-16 surrogate
  EXPECT_GE(parse(std::string("on\0request", 10))->diags.errorCount(), 1u);
  EXPECT_EQ(parse("const s = \"" + std::string(1 << 20, 'x') + "\"")->diags.errorCount(), 0u);
}

} // namespace
} // namespace route
