#include "http1/Parser.h"

#include <gtest/gtest.h>

#include <cstring>

namespace turnout::http1 {
namespace {

// Feeds `text` one byte at a time, as the slowest network would, through one message.
size_t feedByteByByte(Parser &p, std::string_view text) {
  size_t used = 0;
  while (used < text.size() && !p.failed() && !p.messageComplete()) {
    size_t n = p.feed(text.data() + used, 1);
    used += n;
    if (n == 0 && p.headComplete() && !p.messageComplete() && !p.failed())
      break;
  }
  return used;
}

// Drives a parser over `text` delivered `chunk` bytes at a time, as the proxy reads a
// response: interim 1xx messages are passed over with next() (a 101 too: a parser must
// then refuse to go on, not spin), body bytes are taken as they come. Every call must take
// bytes, take all it was given (and so ask for more), or change the parser's state; the
// walk ends complete or failed within a bound. Returns "complete", "failed" or "more".
std::string drive(Parser &p, std::string_view text, size_t chunk) {
  size_t pos = 0, available = 0;
  size_t bound = 4 * text.size() + 64;
  for (size_t step = 0; step < bound; ++step) {
    if (p.failed())
      return "failed";
    if (p.messageComplete()) {
      if (p.head().status >= 100 && p.head().status < 200) {
        p.next();
        continue;
      }
      return "complete";
    }
    if (pos == available) {
      if (available == text.size()) {
        p.finish();
        return p.messageComplete() ? "complete" : p.failed() ? "failed" : "more";
      }
      available = std::min(text.size(), available + chunk);
    }
    bool head = p.headComplete(), done = p.messageComplete();
    size_t n = p.feed(text.data() + pos, available - pos);
    EXPECT_TRUE(n > 0 || p.failed() || head != p.headComplete() || done != p.messageComplete())
        << "no progress at byte " << pos << " of " << text;
    pos += n;
    p.body().clear();
  }
  ADD_FAILURE() << "the parser made no end of " << text;
  return "spun";
}

TEST(Parser, EveryResponseShapeEndsOrFailsAtEverySplit) {
  struct Case {
    std::string text;
    const char *outcome;
  };
  std::string continues;
  for (int i = 0; i < 20; ++i)
    continues += "HTTP/1.1 100 Continue\r\n\r\n";
  const Case cases[] = {
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "complete"},
      {continues + "HTTP/1.1 204 No Content\r\n\r\n", "complete"},
      {"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
       "complete"},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
       "upgrade\r\n\r\n\x81\x05hello",
       "failed"},
      {"HTTP/1.1 101 Switching Protocols\r\n\r\n", "failed"},
      {"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 3\r\n\r\nabc",
       "complete"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n",
       "complete"},
      {"HTTP/1.1 200 OK\r\n\r\nuntil the connection ends", "complete"},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "complete"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", "failed"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", "failed"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "failed"},
      {"\x16\x03\x01\x02\x00\x01\x00", "failed"},
  };
  for (const Case &c : cases) {
    for (size_t chunk = 1; chunk <= c.text.size(); ++chunk) {
      SCOPED_TRACE(testing::Message() << c.text << " in pieces of " << chunk);
      Parser p(Parser::Kind::Response);
      EXPECT_EQ(drive(p, c.text, chunk), c.outcome);
    }
  }
}

TEST(Parser, RequestsThatSwitchProtocolsEndTheConnectionsHttp) {
  for (std::string text :
       {"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01",
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x01"}) {
    for (size_t chunk = 1; chunk <= text.size(); ++chunk) {
      SCOPED_TRACE(testing::Message() << text << " in pieces of " << chunk);
      Parser p(Parser::Kind::Request);
      EXPECT_EQ(drive(p, text, chunk), "complete");
      p.next();
      EXPECT_TRUE(p.failed());
      EXPECT_EQ(p.feed(text.data(), text.size()), 0u);
    }
  }
}

TEST(Parser, StopsAfterTheHeadAndAfterTheMessage) {
  Parser p(Parser::Kind::Request);
  std::string text = "POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / "
                     "HTTP/1.1\r\nHost: y\r\n\r\n";
  size_t used = p.feed(text.data(), text.size());
  ASSERT_TRUE(p.headComplete());
  EXPECT_FALSE(p.messageComplete());
  EXPECT_EQ(p.head().method, "POST");
  EXPECT_EQ(p.head().target, "/a?b");
  EXPECT_EQ(route::joinedValue(p.head().fields, "HOST"), "x");
  EXPECT_TRUE(p.hasBody());
  used += p.feed(text.data() + used, text.size() - used);
  EXPECT_TRUE(p.messageComplete());
  EXPECT_EQ(p.body(), "hello");
  p.next();
  used += p.feed(text.data() + used, text.size() - used);
  EXPECT_TRUE(p.messageComplete());
  EXPECT_EQ(route::joinedValue(p.head().fields, "host"), "y");
  EXPECT_EQ(used, text.size());
}

TEST(Parser, DechunksAndKeepsTrailers) {
  Parser p(Parser::Kind::Request);
  std::string text = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 42\r\n\r\n";
  size_t used = p.feed(text.data(), text.size());
  ASSERT_TRUE(p.chunked());
  p.feed(text.data() + used, text.size() - used);
  EXPECT_TRUE(p.messageComplete());
  EXPECT_EQ(p.body(), "hello world");
  ASSERT_EQ(p.trailers().size(), 1u);
  EXPECT_EQ(p.trailers()[0].second, "42");
}

TEST(Parser, HeadsSplitAnywhereParseTheSame) {
  Parser p(Parser::Kind::Request);
  std::string text = "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nX-Long: a b c\r\n\r\n";
  EXPECT_EQ(feedByteByByte(p, text), text.size());
  ASSERT_TRUE(p.messageComplete());
  ASSERT_EQ(p.head().fields.size(), 3u);
  EXPECT_EQ(p.head().fields[1].first, "X-Empty");
  EXPECT_EQ(p.head().fields[1].second, "");
  EXPECT_EQ(p.head().fields[2].second, "a b c");
}

TEST(Parser, RefusesWhatSmugglingNeeds) {
  const char *cases[] = {
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nBad Name: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\rY: a\r\n\r\n",
  };
  for (const char *text : cases) {
    Parser p(Parser::Kind::Request);
    p.feed(text, std::strlen(text));
    EXPECT_TRUE(p.failed()) << text;
    EXPECT_EQ(p.errorStatus(), 400) << text;
  }
  Parser folded(Parser::Kind::Request);
  feedByteByByte(folded, "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n");
  EXPECT_TRUE(folded.failed());
}

TEST(Parser, EnforcesHeadLimits) {
  Parser longLine(Parser::Kind::Request, HeadLimits{16, 1024, 10});
  std::string text = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n";
  longLine.feed(text.data(), text.size());
  EXPECT_EQ(longLine.errorStatus(), 414);
  Parser many(Parser::Kind::Request, HeadLimits{1024, 1 << 20, 3});
  text = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  many.feed(text.data(), text.size());
  EXPECT_EQ(many.errorStatus(), 431);
}

TEST(Parser, ResponsesToHeadAndBodilessStatusesHaveNoBody) {
  Parser head(Parser::Kind::Response);
  head.expectNoBody();
  std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
  head.feed(text.data(), text.size());
  EXPECT_TRUE(head.messageComplete());
  EXPECT_EQ(head.contentLength(), 99u);
  Parser notModified(Parser::Kind::Response);
  text = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
  notModified.feed(text.data(), text.size());
  EXPECT_TRUE(notModified.messageComplete());
  EXPECT_FALSE(notModified.hasBody());
}

TEST(Parser, ABodyUntilCloseEndsWithTheConnection) {
  Parser p(Parser::Kind::Response);
  std::string text = "HTTP/1.1 200 OK\r\n\r\nsome bytes";
  size_t used = p.feed(text.data(), text.size());
  ASSERT_TRUE(p.bodyUntilClose());
  p.feed(text.data() + used, text.size() - used);
  EXPECT_FALSE(p.messageComplete());
  p.finish();
  EXPECT_TRUE(p.messageComplete());
  EXPECT_EQ(p.body(), "some bytes");
}

TEST(Parser, FieldNamesCompareIgnoringLetterCaseOnly) {
  EXPECT_TRUE(route::sameFieldName("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(route::sameFieldName("content-length", "content-lengt"));
  EXPECT_FALSE(route::sameFieldName("x@", "x`")); // 0x40 and 0x60 differ by the case bit
  EXPECT_FALSE(route::sameFieldName("x[", "x{"));
  EXPECT_FALSE(route::sameFieldName("a-b", "a\rb"));
}

TEST(Parser, HopByHopFields) {
  Fields fields{{"Connection", "close, X-Private"}, {"X-Private", "1"}};
  HopByHop isHopByHop(fields);
  for (const char *name : {"connection", "x-private", "Proxy-Authorization", "TE", "Keep-Alive",
                           "trailer", "UPGRADE", "Transfer-Encoding"})
    EXPECT_TRUE(isHopByHop(name)) << name;
  for (const char *name : {"x-public", "proxy-", "tf", "Content-Length", "x-privatE2", "Trailers"})
    EXPECT_FALSE(isHopByHop(name)) << name;
  Fields none{{"X-Private", "1"}};
  EXPECT_FALSE(HopByHop(none)("x-private"));
}

} // namespace
} // namespace turnout::http1
