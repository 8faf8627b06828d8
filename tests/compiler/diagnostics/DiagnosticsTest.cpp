#include "diagnostics/Diagnostics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace route {
namespace {

TEST(SourceManager, MapsOffsetsToLinesAndCodePointColumns) {
  SourceManager sources;
  FileId file = sources.add("a.route", "ab\ncafé x\n");
  EXPECT_EQ(sources.lineColumn(file, 0).line, 1u);
  EXPECT_EQ(sources.lineColumn(file, 3).line, 2u);
  // 'x' follows "café " whose é is two bytes: byte offset 9, column 6.
  LineColumn x = sources.lineColumn(file, 9);
  EXPECT_EQ(x.line, 2u);
  EXPECT_EQ(x.column, 6u);
  EXPECT_EQ(sources.lineText(file, 2), "café x");
}

TEST(DiagnosticEngine, RendersLocationCaretTildesHintAndNote) {
  SourceManager sources;
  FileId file = sources.add("p.route", "on request {\n    route wbe\n}\n");
  DiagnosticEngine diags(sources);
  diags.error("unknown-upstream", {file, 23, 26}, "unknown upstream 'wbe'")
      .withHint("did you mean 'web'?")
      .withNote({file, 0, 2}, "in this phase");
  EXPECT_EQ(diags.renderText(), "p.route:2:11: error: unknown upstream 'wbe' [unknown-upstream]\n"
                                "        route wbe\n"
                                "              ^~~\n"
                                "hint: did you mean 'web'?\n"
                                "p.route:1:1: note: in this phase\n"
                                "    on request {\n"
                                "    ^~\n");
}

TEST(DiagnosticEngine, CutsLongLinesToAWindowAroundTheRange) {
  SourceManager sources;
  std::string line(5000, 'a');
  FileId file = sources.add("long.route", line);
  DiagnosticEngine diags(sources);
  diags.error("x", {file, 4000, 4001}, "here");
  std::string text = diags.renderText();
  EXPECT_LT(text.size(), 400u);
  EXPECT_NE(text.find("    ...a"), std::string::npos);
}

TEST(DiagnosticEngine, HidesControlCharactersAndInvalidBytes) {
  SourceManager sources;
  FileId file = sources.add("bad.route", std::string("x \x1b[31m \xff y"));
  DiagnosticEngine diags(sources);
  diags.error("x", {file, 0, 1}, "here");
  std::string text = diags.renderText();
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\xff'), std::string::npos);
}

TEST(DiagnosticEngine, JsonCarriesFileRangeSeverityCodeAndMessage) {
  SourceManager sources;
  FileId file = sources.add("p.route", "route x\n");
  DiagnosticEngine diags(sources);
  diags.warning("unused", {file, 6, 7}, "unused").withHint("remove it");
  auto json = nlohmann::json::parse(diags.renderJson());
  ASSERT_EQ(json["diagnostics"].size(), 1u);
  auto d = json["diagnostics"][0];
  EXPECT_EQ(d["file"], "p.route");
  EXPECT_EQ(d["severity"], "warning");
  EXPECT_EQ(d["code"], "unused");
  EXPECT_EQ(d["range"]["start"]["line"], 1);
  EXPECT_EQ(d["range"]["start"]["column"], 7);
  EXPECT_EQ(d["range"]["end"]["column"], 8);
  EXPECT_EQ(d["hint"], "remove it");
  EXPECT_EQ(json["warnings"], 1);
  EXPECT_EQ(json["errors"], 0);
}

TEST(DiagnosticEngine, WerrorPromotesWarningsAndRepeatsAreReportedOnce) {
  SourceManager sources;
  FileId file = sources.add("p.route", "x");
  DiagnosticEngine diags(sources);
  diags.setWarningsAsErrors(true);
  diags.warning("unused", {file, 0, 1}, "unused");
  diags.warning("unused", {file, 0, 1}, "unused");
  EXPECT_EQ(diags.errorCount(), 1u);
  EXPECT_EQ(diags.warningCount(), 0u);
  EXPECT_EQ(diags.diagnostics().size(), 1u);
  EXPECT_EQ(diags.errorEvents(), 2u);
}

TEST(DiagnosticEngine, KeepsABoundedNumberOfDiagnostics) {
  SourceManager sources;
  FileId file = sources.add("p.route", std::string(2000, 'x'));
  DiagnosticEngine diags(sources);
  for (uint32_t i = 0; i < 1000; ++i)
    diags.error("x", {file, i, i + 1}, "bad");
  EXPECT_EQ(diags.errorCount(), 1000u);
  EXPECT_EQ(diags.diagnostics().size(), DiagnosticEngine::kMaxKept);
  EXPECT_NE(diags.renderText().find("500 more diagnostics not shown"), std::string::npos);
}

} // namespace
} // namespace route
