// The request flow over fake sessions, without sockets: what reaches the client and the
// peer, in which order, for local answers, routing, retries and their limits, the error
// phase, early answers, streaming and clients or peers that go away.
#include "proxy/Flow.h"

#include "policy/PolicyLoader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <deque>
#include <fstream>

namespace turnout::proxy {
namespace {

// A client: its request body comes in `pieces`; what it is answered is recorded.
class FakeDownstream final : public Downstream {
public:
  std::deque<std::string> pieces; // the request body, as it arrives
  bool declaredLength = true;
  BodyRead failAfterPieces = BodyRead::Ok; // how reading ends once the pieces run out early
  size_t pieceCount = 0;                   // pieces there are in all (the rest never come)
  size_t acceptPieces = SIZE_MAX;          // response pieces the client takes before it goes

  int answered = 0; // a local answer's status
  std::string answerBody;
  int refused = 0;
  int relayed = 0; // a relayed response's status
  std::vector<std::string> sent;
  bool ended = false, aborted = false, ending = false, left = false;

  BodyShape requestBody() const override {
    BodyShape shape{pieceCount > 0, std::nullopt};
    if (shape.present && declaredLength) {
      uint64_t total = 0;
      for (const std::string &p : pieces)
        total += p.size();
      shape.length = total;
    }
    return shape;
  }
  bool requestComplete() const override { return read_ == pieceCount; }
  awaitable<BodyRead> readBody() override {
    if (pieces.empty())
      co_return failAfterPieces == BodyRead::Ok ? BodyRead::Gone : failAfterPieces;
    piece_ += pieces.front();
    pieces.pop_front();
    ++read_;
    co_return BodyRead::Ok;
  }
  std::string &bodyPiece() override { return piece_; }
  const Fields &trailers() const override { return trailers_; }
  awaitable<bool> answer(const route::Exchange &x) override {
    answered = static_cast<int>(x.response.status);
    answerBody = x.response.body;
    co_return true;
  }
  awaitable<bool> refuse(int status, std::string_view) override {
    refused = status;
    co_return true;
  }
  bool startResponse(const route::Exchange &x, const BodyShape &) override {
    relayed = static_cast<int>(x.response.status);
    return true;
  }
  awaitable<bool> sendBody(std::string_view piece, bool last, const Fields &) override {
    if (sent.size() >= acceptPieces) {
      left = true;
      co_return false;
    }
    sent.emplace_back(piece);
    ended = last;
    co_return true;
  }
  void abort() override { aborted = left = true; }
  void endAfterThis() override { ending = true; }
  bool gone() const override { return left; }

private:
  std::string piece_;
  Fields trailers_;
  size_t read_ = 0;
};

// A peer, scripted attempt by attempt.
struct Script {
  std::optional<ErrorKind> openError;
  bool reused = false;
  bool stale = false;                 // a pooled connection found closed at readHead
  std::optional<ErrorKind> headError; // readHead fails so
  bool answersEarly = false;          // answers before the whole body is sent
  int status = 200;
  std::vector<std::string> body = {"hello"}; // response pieces
  bool failsMidBody = false;                 // after the pieces
};

class FakeUpstream final : public Upstream {
public:
  std::deque<Script> scripts;
  std::vector<std::string> peers;    // opened, in order
  std::vector<std::string> requests; // what each attempt sent: "METHOD path|body"
  std::vector<bool> released;        // per attempt: whether it went back to the pool
  size_t bodyReads = 0;

  bool reuse(const std::string &peer, const upstream::ConnectSettings &, bool) override {
    peers.push_back(peer);
    current_ = scripts.empty() ? Script{} : scripts.front();
    if (!scripts.empty())
      scripts.pop_front();
    open_ = current_.reused;
    piece_ = 0;
    return current_.reused;
  }
  awaitable<std::optional<Error>> connect(const std::string &, const std::string &, uint16_t,
                                          const upstream::ConnectSettings &) override {
    open_ = true;
    if (current_.openError)
      co_return Error(*current_.openError, "scripted");
    co_return std::nullopt;
  }
  bool reused() const override { return current_.reused; }
  const char *protocol() const override { return "HTTP/1.1"; }
  awaitable<IoStatus> sendHead(const route::Exchange &x, const BodyShape &, std::string_view body,
                               bool, const Fields &) override {
    requests.push_back(std::string(x.upstreamMethod()) + " " + std::string(x.upstreamPath()) + "|" +
                       std::string(body));
    co_return IoStatus::Ok;
  }
  awaitable<IoStatus> sendBody(std::string_view piece, bool, const Fields &) override {
    requests.back() += piece;
    co_return IoStatus::Ok;
  }
  bool answeredEarly(bool) override { return current_.answersEarly; }
  awaitable<std::optional<Error>> readHead(route::Exchange &x) override {
    if (current_.stale)
      co_return Error::staleConnection();
    if (current_.headError)
      co_return Error(*current_.headError, "scripted");
    x.upstreamResponse.status = current_.status;
    co_return std::nullopt;
  }
  BodyShape responseBody() const override { return {true, std::nullopt}; }
  std::optional<Piece> bufferedBody() override {
    if (piece_ % 2 == 1)
      return std::nullopt; // every other piece comes with a wait
    return next();
  }
  awaitable<Piece> readBody() override { co_return next(); }
  Piece next() {
    ++bodyReads;
    if (piece_ == current_.body.size())
      return Piece::failure();
    const std::string &bytes = current_.body[piece_++];
    bool last = piece_ == current_.body.size() && !current_.failsMidBody;
    return Piece::data(bytes, last);
  }
  const Fields &trailers() const override { return trailers_; }
  void release(bool reusable) override {
    if (!open_)
      return;
    open_ = false;
    released.push_back(reusable);
  }

private:
  Script current_;
  size_t piece_ = 0;
  bool open_ = false;
  Fields trailers_;
};

class FlowTest : public ::testing::Test {
protected:
  // Loads `source` with an upstream `web` of two peers (retries 1 unless `upstream` says).
  void load(const std::string &source, const std::string &upstream = "retries = 1") {
    std::string path = ::testing::TempDir() + "flow_" + std::to_string(::getpid()) + "_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".route";
    std::ofstream(path) << "upstream web {\n  servers = [\"127.0.0.1:1\", \"127.0.0.2:1\"]\n  " +
                               upstream + "\n}\n" + source;
    std::string diagnostics;
    policy_ = loadPolicy(path, diagnostics);
    ASSERT_TRUE(policy_) << diagnostics;
    std::remove(path.c_str());
    for (const upstream::UpstreamSpec &spec : policy_->upstreams())
      balancers_.push_back(std::make_shared<upstream::Balancer>(spec.balance, spec.peers));
  }

  // Runs one request through the flow.
  route::Exchange run(const std::string &method = "GET", const std::string &query = "") {
    route::Exchange x;
    x.request.method = method;
    x.request.path = "/";
    x.request.query = query;
    x.request.host = "example.com";
    x.request.headers.set("host", "example.com");
    Flow flow(down, up, config_);
    asio::io_context context;
    asio::co_spawn(context, flow.run(x, Routing{*policy_, balancers_}), asio::detached);
    context.run();
    flow.finish(x);
    return x;
  }

  FakeDownstream down;
  FakeUpstream up;
  ServerConfig config_;
  std::shared_ptr<const Policy> policy_;
  std::vector<std::shared_ptr<upstream::Balancer>> balancers_;
};

TEST_F(FlowTest, ALocalAnswerReachesNoPeerAndTheResponsePhaseSeesIt) {
  load("on request { respond 403 \"no\" }\n"
       "on response { resp.header[\"x-seen\"] = \"1\" }\n"
       "on log { }\n");
  route::Exchange x = run();
  EXPECT_EQ(down.answered, 403);
  EXPECT_EQ(down.answerBody, "no");
  EXPECT_EQ(x.response.headers().get("x-seen"), "1");
  EXPECT_TRUE(up.peers.empty());
}

TEST_F(FlowTest, ARequestWithNoRouteIsAnswered404) {
  load("on request { if req.path == \"/x\" { route web } }\n");
  run();
  EXPECT_EQ(down.answered, 404);
  EXPECT_TRUE(up.peers.empty());
}

TEST_F(FlowTest, ARoutedResponseIsRelayedPieceByPieceAndItsConnectionPooled) {
  load("on request { route web }\n"
       "on upstream_request { upstream.req.path = \"/rewritten\" }\n");
  up.scripts.push_back(Script{.body = {"a", "bc", "def"}});
  route::Exchange x = run();
  EXPECT_EQ(down.relayed, 200);
  EXPECT_EQ(down.sent, (std::vector<std::string>{"a", "bc", "def"}));
  EXPECT_TRUE(down.ended);
  EXPECT_EQ(x.responseBytes, 6);
  EXPECT_EQ(up.requests, (std::vector<std::string>{"GET /rewritten|"}));
  EXPECT_EQ(up.released, (std::vector<bool>{true}));
  EXPECT_EQ(down.answered, 0);
}

TEST_F(FlowTest, AFailedConnectGoesToTheNextPeerWithoutAskingThePolicy) {
  load("on request { route web }\n"
       "on error { respond 599 \"asked\" }\n");
  up.scripts.push_back(Script{.openError = ErrorKind::ConnectFailed});
  up.scripts.push_back(Script{.status = 201});
  route::Exchange x = run();
  EXPECT_EQ(up.peers, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.2:1"}));
  EXPECT_EQ(down.relayed, 201);
  EXPECT_EQ(down.answered, 0);
  EXPECT_EQ(x.upstreamAttempt, 2);
}

TEST_F(FlowTest, RetriesStopAtTheUpstreamsLimitAndTheLastErrorIsAnswered) {
  load("on request { route web }\n"
       "on error { retry }\n",
       "retries = 1");
  for (int i = 0; i < 5; ++i)
    up.scripts.push_back(Script{.headError = ErrorKind::ReadTimeout});
  route::Exchange x = run();
  EXPECT_EQ(up.peers.size(), 2u); // the first attempt and one retry
  EXPECT_EQ(down.answered, 504);
  EXPECT_EQ(x.errorKind, "read_timeout");
  EXPECT_EQ(x.errorDecisions.size(), 2u);
  EXPECT_EQ(x.upstreamAttempt, 2);
}

// The error phase has its say once for each failure: a retry it asks for when every peer
// was tried ends with the last error; peers that could not be connected to, all of them,
// are one failure for it.
TEST_F(FlowTest, OnceEveryPeerWasTriedTheErrorPhaseIsNotAskedAgain) {
  load("on request { route web }\n"
       "on error { if error.kind == \"connect_failed\" { respond 503 \"all down\" } retry }\n",
       "retries = 5");
  for (int i = 0; i < 5; ++i)
    up.scripts.push_back(Script{.headError = ErrorKind::ReadTimeout});
  route::Exchange x = run();
  EXPECT_EQ(up.peers.size(), 2u);
  EXPECT_EQ(x.errorDecisions.size(), 2u);
  EXPECT_EQ(down.answered, 504);
  EXPECT_EQ(x.upstreamAttempt, 2);

  down = FakeDownstream{};
  up = FakeUpstream{};
  for (int i = 0; i < 5; ++i)
    up.scripts.push_back(Script{.openError = ErrorKind::ConnectFailed});
  x = run();
  EXPECT_EQ(up.peers.size(), 2u);
  EXPECT_EQ(x.errorDecisions.size(), 1u);
  EXPECT_EQ(down.answered, 503);
  EXPECT_EQ(down.answerBody, "all down");
}

TEST_F(FlowTest, WithoutRetriesAFailedConnectIsAnsweredAtOnce) {
  load("on request { route web }\n", "retries = 0");
  up.scripts.push_back(Script{.openError = ErrorKind::ConnectFailed});
  route::Exchange x = run();
  EXPECT_EQ(up.peers.size(), 1u);
  EXPECT_EQ(down.answered, 502);
  EXPECT_EQ(x.errorKind, "connect_failed");
}

TEST_F(FlowTest, WithoutARetryTheErrorPhaseAnswers) {
  load("on request { route web }\n"
       "on error { if error.kind == \"bad_response\" { respond 503 \"sorry\" } }\n");
  up.scripts.push_back(Script{.headError = ErrorKind::BadResponse});
  route::Exchange x = run();
  EXPECT_EQ(up.peers.size(), 1u);
  EXPECT_EQ(down.answered, 503);
  EXPECT_EQ(down.answerBody, "sorry");
  EXPECT_EQ(x.errorStatus, 502);
}

TEST_F(FlowTest, AStalePooledConnectionIsRetriedFreshForAnIdempotentRequestOnly) {
  load("on request { route web }\n", "retries = 0");
  up.scripts.push_back(Script{.reused = true, .stale = true});
  up.scripts.push_back(Script{.status = 200});
  run("GET");
  EXPECT_EQ(up.peers, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:1"}));
  EXPECT_EQ(down.relayed, 200);

  down = FakeDownstream{};
  up = FakeUpstream{};
  up.scripts.push_back(Script{.reused = true, .stale = true});
  up.scripts.push_back(Script{.status = 200});
  route::Exchange x = run("POST");
  EXPECT_EQ(up.peers.size(), 1u);
  EXPECT_EQ(down.answered, 502);
  EXPECT_EQ(x.errorKind, "upstream_reset");
}

TEST_F(FlowTest, ARequestBodyGoesUpstreamAndIsSentAgainOnARetry) {
  load("on request { route web }\n");
  down.pieces = {"ab", "cd"};
  down.pieceCount = 2;
  up.scripts.push_back(Script{.openError = ErrorKind::ConnectTimeout});
  up.scripts.push_back(Script{});
  run("POST");
  EXPECT_EQ(up.requests, (std::vector<std::string>{"POST /|abcd"}));
  EXPECT_EQ(down.relayed, 200);
}

TEST_F(FlowTest, AnEarlyAnswerStopsTheUploadAndIsRelayed) {
  load("on request { route web }\n");
  config_.limits.replayBufferBytes = 2; // the body is read as it goes
  down.pieces = {"ab", "cd", "ef"};
  down.pieceCount = 3;
  up.scripts.push_back(Script{.answersEarly = true, .status = 413, .body = {"too big"}});
  run("POST");
  EXPECT_EQ(down.relayed, 413);
  EXPECT_EQ(down.sent, (std::vector<std::string>{"too big"}));
  EXPECT_TRUE(down.ending); // the rest of the body is never read
  EXPECT_EQ(up.released, (std::vector<bool>{false}));
}

TEST_F(FlowTest, AClientThatStopsReadingStopsTheRelay) {
  load("on request { route web }\n");
  up.scripts.push_back(Script{.body = {"1", "2", "3", "4"}});
  down.acceptPieces = 1;
  route::Exchange x = run();
  EXPECT_EQ(x.errorKind, "client_gone"); // error.kind, as the log phase reads it
  EXPECT_EQ(down.sent, (std::vector<std::string>{"1"}));
  EXPECT_EQ(up.bodyReads, 2u); // nothing is read once the client is gone
  EXPECT_EQ(up.released, (std::vector<bool>{false}));
}

TEST_F(FlowTest, AClientGoneMidUploadEndsTheExchangeWithoutTheErrorPhase) {
  load("on request { route web }\n"
       "on error { respond 599 \"asked\" }\n");
  config_.limits.replayBufferBytes = 2;
  down.pieces = {"ab", "cd"};
  down.pieceCount = 5; // three pieces never come
  route::Exchange x = run("POST");
  EXPECT_TRUE(down.aborted);
  EXPECT_EQ(down.answered, 0);
  EXPECT_TRUE(x.errorDecisions.empty());
  EXPECT_EQ(x.errorKind, "client_gone");
  EXPECT_EQ(up.released, (std::vector<bool>{false}));
}

TEST_F(FlowTest, APeerThatFailsMidBodyCutsTheResponseShort) {
  load("on request { route web }\n");
  up.scripts.push_back(Script{.body = {"part"}, .failsMidBody = true});
  route::Exchange x = run();
  EXPECT_EQ(x.errorKind, "upstream_reset");
  EXPECT_EQ(down.sent, (std::vector<std::string>{"part"}));
  EXPECT_FALSE(down.ended);
  EXPECT_TRUE(down.aborted);
  EXPECT_EQ(up.released, (std::vector<bool>{false}));
}

TEST_F(FlowTest, ABadBodyIsRefusedBeforeAnyPeerIsContacted) {
  load("on request { route web }\n");
  down.pieces = {"ab"};
  down.pieceCount = 2;
  down.failAfterPieces = BodyRead::TooLarge;
  route::Exchange x = run("POST");
  EXPECT_EQ(down.refused, 413);
  EXPECT_EQ(x.response.status, 413);
  EXPECT_EQ(x.errorKind, "request_body_too_large");
  EXPECT_TRUE(up.peers.empty());
}

TEST_F(FlowTest, APolicyFaultIsAnswered500AndTheLogPhaseStillRuns) {
  load("on request { respond 200 \"ok\" }\n"
       "on response { resp.status = parse_int(req.arg[\"s\"], resp.status) }\n");
  route::Exchange x = run("GET", "s=99");
  EXPECT_EQ(down.answered, 500);
  EXPECT_TRUE(x.fault.has_value());
  EXPECT_EQ(x.errorKind, "policy_fault");
  EXPECT_GT(x.durationNs, 0);
}

} // namespace
} // namespace turnout::proxy
