// dsl/README.md, the language reference, must describe the schema exactly as the compiler
// knows it: one table row per phase, variable, action, built-in and upstream setting, rendered here
// from the same tables the checker reads. A change to a .def file fails this test until the
// reference says the same.
#include "schema/Schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace route::schema {
namespace {

std::string reference() {
  std::ifstream in(std::string(TURNOUT_SOURCE_DIR) + "/dsl/README.md");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string phaseSet(PhaseMask mask) {
  if (mask == kAllPhases)
    return "every phase";
  if (mask == kNoPhase)
    return "—";
  return phaseNames(mask);
}

const char *typeName(FieldType type) {
  switch (type) {
  case FieldType::Bool:
    return "bool";
  case FieldType::Int:
    return "int";
  case FieldType::String:
    return "string";
  case FieldType::Ip:
    return "ip";
  case FieldType::Duration:
    return "duration";
  case FieldType::Headers:
    return "headers";
  case FieldType::Strings:
    return "strings";
  }
  return "?";
}

void expectRow(const std::string &text, const std::string &row) {
  EXPECT_NE(text.find(row + "\n"), std::string::npos) << "dsl/README.md lacks the row:\n" << row;
}

TEST(Reference, DescribesEveryPhase) {
  std::string text = reference();
  for (const PhaseInfo &p : phases())
    expectRow(text, std::string("| `") + p.name + "` | " + p.doc + " |");
}

TEST(Reference, DescribesEveryVariableWithItsTypeAndPhases) {
  std::string text = reference();
  for (const VariableInfo &v : variables())
    expectRow(text, std::string("| `") + v.name + "` | " + typeName(v.type) + " | " +
                        phaseSet(v.readable) + " | " + phaseSet(v.writable) + " | " + v.doc + " |");
}

TEST(Reference, DescribesEveryAction) {
  std::string text = reference();
  for (const ActionInfo &a : actions())
    expectRow(text,
              std::string("| `") + a.keyword + "` | " + phaseSet(a.allowed) + " | " + a.doc + " |");
}

TEST(Reference, DescribesEveryBuiltin) {
  std::string text = reference();
  for (const BuiltinInfo &b : builtins())
    expectRow(text, std::string("| `") + b.name + b.signature + "` | " + b.doc + " | `" +
                        b.example + "` |");
}

TEST(Reference, DescribesEveryUpstreamSetting) {
  std::string text = reference();
  for (const UpstreamSettingInfo &s : upstreamSettings())
    expectRow(text, std::string("| `") + s.name + "` | " + s.type + " | " + s.defaultValue + " | " +
                        s.doc + " |");
}

TEST(Reference, DescribesEveryErrorKind) {
  std::string text = reference();
  auto side = [](ErrorSide side) {
    return side == ErrorSide::Upstream     ? "upstream"
           : side == ErrorSide::Downstream ? "downstream"
                                           : "internal";
  };
  auto retry = [](ErrorRetry retry) {
    return retry == ErrorRetry::NextPeer ? "next peer"
           : retry == ErrorRetry::Policy ? "if the error phase asks"
                                         : "never";
  };
  for (const ErrorKindInfo &k : errorKinds())
    expectRow(text, std::string("| `") + k.name + "` | " + std::to_string(k.status) + " | " +
                        side(k.side) + " | " + retry(k.retry) + " | " + k.doc + " |");
}

} // namespace
} // namespace route::schema
