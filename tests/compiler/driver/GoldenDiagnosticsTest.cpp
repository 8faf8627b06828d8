// Golden diagnostics: every tests/compiler/golden/*.route file is a bad policy that states
// the diagnostics it must produce, one `// expect: LINE:COL: SEVERITY: MESSAGE [CODE]` line
// each (`FILE:LINE:COL` for a diagnostic in an imported file). The set must match exactly.
#include "driver/Compilation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const fs::path kGoldenDir = fs::path(TURNOUT_SOURCE_DIR) / "tests/compiler/golden";

std::vector<std::string> goldenFiles() {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(kGoldenDir))
    if (entry.path().extension() == ".route")
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> expectedDiagnostics(const fs::path &file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> expected;
  std::string line;
  const std::string marker = "// expect: ";
  while (std::getline(in, line))
    if (auto at = line.find(marker); at != std::string::npos)
      expected.push_back(line.substr(at + marker.size()));
  std::sort(expected.begin(), expected.end());
  return expected;
}

class GoldenDiagnostics : public testing::TestWithParam<std::string> {};

TEST_P(GoldenDiagnostics, ProducesExactlyTheExpectedDiagnostics) {
  fs::path file = kGoldenDir / (GetParam() + ".route");
  std::vector<std::string> expected = expectedDiagnostics(file);
  ASSERT_FALSE(expected.empty()) << file << " states no expected diagnostics";

  route::Compilation compilation;
  ASSERT_NE(compilation.load(file.string()), nullptr);
  const route::SourceManager &sources = compilation.sources();
  std::vector<std::string> actual;
  for (const route::Diagnostic &d : compilation.diags().diagnostics()) {
    route::LineColumn lc = sources.lineColumn(d.range.file, d.range.begin);
    fs::path where = sources.path(d.range.file);
    std::string prefix = fs::weakly_canonical(where) == fs::weakly_canonical(file)
                             ? ""
                             : where.filename().string() + ":";
    std::ostringstream text;
    text << prefix << lc.line << ":" << lc.column << ": " << route::severityName(d.severity) << ": "
         << d.message << " [" << d.code << "]";
    actual.push_back(text.str());
  }
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenDiagnostics, testing::ValuesIn(goldenFiles()),
                         [](const testing::TestParamInfo<std::string> &info) {
                           return info.param;
                         });

TEST(GoldenDiagnosticsCorpus, HasAtLeastFiftyBadPolicies) {
  EXPECT_GE(goldenFiles().size(), 50u);
}

} // namespace
