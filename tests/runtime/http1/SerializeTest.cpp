// Framing the proxy's own responses (http/Serialize.h's localResponse).
#include "http1/Serialize.h"

#include <gtest/gtest.h>

namespace turnout::http1 {
namespace {

TEST(LocalResponse, StatesTypeLengthAndCloseBeforeTheBody) {
  EXPECT_EQ(
      localResponse(404, "not found\n", true),
      "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 10\r\n"
      "connection: close\r\n\r\nnot found\n");
}

TEST(LocalResponse, KeepsThePolicysFieldsButNotItsFraming) {
  Fields fields = {{"Content-Type", "application/json"},
                   {"Content-Length", "999"},
                   {"Transfer-Encoding", "chunked"},
                   {"Connection", "x-drop"},
                   {"X-Id", "7"}};
  EXPECT_EQ(localResponse(200, "{}", false, fields),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Id: 7\r\ncontent-length: "
            "2\r\n\r\n{}");
}

TEST(LocalResponse, AnAnswerToHeadStatesTheLengthWithoutTheBody) {
  EXPECT_EQ(
      localResponse(200, "hello", false, {}, true),
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\r\n");
}

TEST(LocalResponse, NoContentAndNotModifiedCarryNoBodyNorLength) {
  for (int status : {204, 304}) {
    std::string out = localResponse(status, "ignored", false, {{"ETag", "\"a\""}});
    EXPECT_EQ(out.find("content-length"), std::string::npos) << out;
    EXPECT_EQ(out.find("content-type"), std::string::npos) << out;
    EXPECT_EQ(out.find("ignored"), std::string::npos) << out;
    EXPECT_NE(out.find("ETag: \"a\"\r\n"), std::string::npos) << out;
  }
}

} // namespace
} // namespace turnout::http1
