#include "format/Format.h"

#include "ast/Printer.h"
#include "parse/Parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace route {
namespace {

std::optional<std::string> format(const std::string &text, std::string *diagnostics = nullptr) {
  SourceManager sources;
  FileId file = sources.add("t.route", text);
  DiagnosticEngine diags(sources);
  std::optional<std::string> out = formatFile(sources, file, diags);
  if (diagnostics)
    *diagnostics = diags.renderText();
  return out;
}

// The AST without positions: what the policy means, whatever its layout.
std::string meaning(const std::string &text) {
  SourceManager sources;
  FileId file = sources.add("t.route", text);
  DiagnosticEngine diags(sources);
  std::string printed = ast::print(*parseModule(sources, file, diags), sources);
  return std::regex_replace(printed, std::regex("  @[0-9]+:[0-9]+"), "");
}

std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const char *kMessy = R"(// header comment


import "shared.route";
upstream   web{servers=["10.0.0.1:80" weight 2,"10.0.0.2:80",]; )"
                     R"(balance=hash(req.header["x"]) // trailing
    retries = 2


}
acl office {10.0.0.0/8,   // the office
  192.168.0.0/16}
map m {
  "a" => 1, "b" => 2 }
map empty {}
const x : int = -  5 ;
const y = x
fn f( a : string,b:map<string,list<int>> ) -> bool { return a!="" and not(b["q"] in [1,2,3]) }
on request{
    // first


    let y:int=x*2+1
    if req.path~r"^/a" {route web} else if req.path starts_with "/b" { )"
                     R"(respond 403 "no" } else { redirect 301 "https://x" + req.path }
    req.header [ "a" ] = "b" /* inline */ + "c"
    // last in block
}
on response {}
test "t" { request GET "http://a/" from 1.2.3.4 ; header "a"="b"
 origin 200 "x"
 expect status 200; expect route web }
// end)";

const char *kCanonical = R"(// header comment

import "shared.route"

upstream web {
    servers = ["10.0.0.1:80" weight 2, "10.0.0.2:80"]
    balance = hash(req.header["x"]) // trailing
    retries = 2
}

acl office {
    10.0.0.0/8, // the office
    192.168.0.0/16,
}

map m {
    "a" => 1,
    "b" => 2,
}

map empty {}

const x: int = -5
const y = x

fn f(a: string, b: map<string, list<int>>) -> bool {
    return a != "" and not (b["q"] in [1, 2, 3])
}

on request {
    // first

    let y: int = x * 2 + 1
    if req.path ~ r"^/a" {
        route web
    } else if req.path starts_with "/b" {
        respond 403 "no"
    } else {
        redirect 301 "https://x" + req.path
    }
    req.header["a"] = "b" /* inline */ + "c"
    // last in block
}

on response {}

test "t" {
    request GET "http://a/" from 1.2.3.4
    header "a" = "b"
    origin 200 "x"
    expect status 200
    expect route web
}
// end
)";

TEST(Format, LaysOutEveryKindOfDeclarationCanonically) {
  std::optional<std::string> out = format(kMessy);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, kCanonical);
}

TEST(Format, IsIdempotentAndKeepsTheMeaning) {
  EXPECT_EQ(format(kCanonical), kCanonical);
  EXPECT_EQ(meaning(kMessy), meaning(kCanonical));
}

TEST(Format, EveryExampleIsFormattedAndKeepsItsMeaning) {
  int seen = 0;
  for (const auto &entry : std::filesystem::directory_iterator(TURNOUT_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".route")
      continue;
    ++seen;
    std::string text = readFile(entry.path());
    std::optional<std::string> out = format(text);
    ASSERT_TRUE(out) << entry.path();
    EXPECT_EQ(*out, text) << entry.path() << " is not formatted: run routec fmt on it";
    EXPECT_EQ(meaning(*out), meaning(text)) << entry.path();
  }
  EXPECT_GE(seen, 6);
}

TEST(Format, BreaksAListThatWouldPassTheWidthAndNoOther) {
  std::string shortList = "upstream a {\n    servers = [\"a.example:80\", \"b.example:80\"]\n}\n";
  EXPECT_EQ(format(shortList), shortList);
  std::string longList = "upstream a {\n    servers = [\"" + std::string(40, 'a') + ":80\", \"" +
                         std::string(40, 'b') + ":80\"]\n}\n";
  EXPECT_EQ(format(longList), "upstream a {\n    servers = [\n        \"" + std::string(40, 'a') +
                                  ":80\",\n        \"" + std::string(40, 'b') +
                                  ":80\",\n    ]\n}\n");
}

TEST(Format, KeepsABrokenListBrokenAndWrapsAfterALineComment) {
  EXPECT_EQ(format("const v = [\n1, 2]\n"), "const v = [\n    1,\n    2,\n]\n");
  EXPECT_EQ(format("on request {\n  if req.path == \"/a\" and // why\n req.host == \"b\" { respond "
                   "200 }\n}\n"),
            "on request {\n    if req.path == \"/a\" and // why\n        req.host == \"b\" {\n"
            "        respond 200\n    }\n}\n");
}

TEST(Format, KeepsEveryComment) {
  std::string text =
      "/* a */ const x = /* b */ 1 // c\n// d\nconst y = [ /* e */ 2 ] // f\n/* g */";
  std::optional<std::string> out = format(text);
  ASSERT_TRUE(out);
  for (const char *comment : {"/* a */", "/* b */", "// c", "// d", "/* e */", "// f", "/* g */"})
    EXPECT_NE(out->find(comment), std::string::npos) << comment << " lost from:\n" << *out;
  EXPECT_EQ(format(*out), out);
}

TEST(Format, RefusesAFileWithSyntaxErrorsAndSaysWhere) {
  std::string diagnostics;
  EXPECT_FALSE(format("on request {\n  route\n", &diagnostics));
  EXPECT_NE(diagnostics.find("t.route:3:1: error"), std::string::npos) << diagnostics;
  EXPECT_FALSE(format("const s = \"open\n", &diagnostics));
  EXPECT_NE(diagnostics.find("unterminated string"), std::string::npos) << diagnostics;
}

TEST(Format, EmptyAndCommentOnlyFiles) {
  EXPECT_EQ(format(""), "");
  EXPECT_EQ(format("\n\n"), "");
  EXPECT_EQ(format("// only\n\n\n/* c */"), "// only\n\n/* c */\n");
}

} // namespace
} // namespace route
