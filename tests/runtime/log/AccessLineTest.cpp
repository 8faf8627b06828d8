// Access log lines: whatever bytes a request or a policy holds, a JSON line is one line of
// valid JSON with the fields asked for, in their order, and the log phase's after them.
#include "log/AccessLine.h"

#include "exchange/Exchange.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace turnout::log {
namespace {

TEST(AccessLine, AnyBytesMakeOneLineOfValidJson) {
  route::Exchange x;
  x.request.path = std::string("/a\"b\\c\n\x01\xff\xc3\xa9", 11);
  x.response = {503, ""};
  x.logFields.set("path", "the policy's");
  x.logFields.set("tenant", "acme");
  std::string line;
  appendJson(line, {x, x.request.path, "", nullptr},
             {AccessField::Path, AccessField::Status, AccessField::Upstream, AccessField::Rule});
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["path"], std::string("/a\"b\\c\n\x01\xef\xbf\xbd\xc3\xa9"));
  EXPECT_EQ(parsed["status"], 503);
  EXPECT_TRUE(parsed["upstream"].is_null());
  EXPECT_TRUE(parsed["rule"].is_null());
  EXPECT_EQ(parsed["log.path"], "the policy's");
  EXPECT_EQ(parsed["tenant"], "acme");
  std::vector<std::string> keys;
  for (auto &[key, value] : parsed.items())
    keys.push_back(key);
  EXPECT_EQ(keys.size(), 6u);
}

TEST(AccessLine, TextLinesEscapeWhatAClientSent) {
  route::Exchange x;
  x.request.method = "GET";
  x.traceId = "0af7651916cd43dd8448eb211c80319c";
  std::string line;
  appendText(line, {x, "/q\"\n", "10.0.0.1", nullptr});
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NE(line.find("\"GET /q\\x22\\x0A "), std::string::npos);
  EXPECT_NE(line.find(" trace=0af7651916cd43dd8448eb211c80319c via 10.0.0.1\n"), std::string::npos);
}

} // namespace
} // namespace turnout::log
