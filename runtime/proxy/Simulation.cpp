#include "proxy/Simulation.h"

#include "proxy/Flow.h"

#include <spdlog/spdlog.h>

namespace turnout::proxy {

namespace {

class SimulatedClient final : public Downstream {
public:
  std::string received; // the relayed response's body

  BodyShape requestBody() const override { return {}; }
  bool requestComplete() const override { return true; }
  awaitable<BodyRead> readBody() override { co_return BodyRead::Gone; }
  std::string &bodyPiece() override { return piece_; }
  const Fields &trailers() const override { return trailers_; }
  awaitable<bool> answer(const route::Exchange &) override { co_return true; }
  awaitable<bool> refuse(int, std::string_view) override { co_return true; }
  // As HTTP: no body after HEAD, nor with a 1xx, 204 or 304.
  bool startResponse(const route::Exchange &x, const BodyShape &) override {
    int64_t status = x.response.status;
    return x.request.method != "HEAD" && status >= 200 && status != 204 && status != 304;
  }
  awaitable<bool> sendBody(std::string_view piece, bool, const Fields &) override {
    received += piece;
    co_return true;
  }
  void abort() override {}
  void endAfterThis() override {}
  bool gone() const override { return false; }

private:
  std::string piece_;
  Fields trailers_;
};

class SimulatedOrigin final : public Upstream {
public:
  explicit SimulatedOrigin(const route::Exchange &x) : origin_(x.origin) {
    if (const route::schema::ErrorKindInfo *kind = route::schema::findErrorKind(x.originError))
      error_ = kind->id;
  }

  bool reuse(const std::string &, const upstream::ConnectSettings &, bool) override {
    return false;
  }
  awaitable<std::optional<Error>> connect(const std::string &peer, const std::string &, uint16_t,
                                          const upstream::ConnectSettings &settings) override {
    // A simulated peer agrees to what the upstream asks; ALPN would settle `auto` as h2.
    protocol_ =
        settings.protocol == upstream::ConnectSettings::Protocol::Http1 ? "HTTP/1.1" : "HTTP/2";
    if (error_ && route::schema::errorKind(*error_).retry == ErrorRetry::NextPeer)
      co_return failure(peer);
    co_return std::nullopt;
  }
  bool reused() const override { return false; }
  const char *protocol() const override { return protocol_; }
  awaitable<IoStatus> sendHead(const route::Exchange &x, const BodyShape &, std::string_view, bool,
                               const Fields &) override {
    peer_ = x.upstreamPeer;
    co_return IoStatus::Ok;
  }
  awaitable<IoStatus> sendBody(std::string_view, bool, const Fields &) override {
    co_return IoStatus::Ok;
  }
  bool answeredEarly(bool) override { return false; }
  awaitable<std::optional<Error>> readHead(route::Exchange &x) override {
    if (error_)
      co_return failure(peer_);
    x.upstreamResponse.status = origin_.status;
    x.upstreamResponse.headers = origin_.headers;
    co_return std::nullopt;
  }
  BodyShape responseBody() const override { return {!origin_.body.empty(), origin_.body.size()}; }
  // The whole body came with the head.
  std::optional<Piece> bufferedBody() override { return Piece::data(origin_.body, true); }
  awaitable<Piece> readBody() override { co_return Piece::data({}, true); }
  const Fields &trailers() const override { return trailers_; }
  void release(bool) override {}

private:
  Error failure(const std::string &peer) const {
    return Error(*error_, "simulated " + std::string(route::schema::errorKind(*error_).name) +
                              " at " + peer);
  }

  const route::HttpResponse &origin_;
  const char *protocol_ = "HTTP/1.1";
  std::optional<ErrorKind> error_;
  std::string peer_;
  Fields trailers_;
};

} // namespace

void simulate(route::Exchange &x, const Policy &policy) {
  // The flow's log lines are the proxy's, not the simulation's output.
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  std::vector<std::shared_ptr<upstream::Balancer>> balancers;
  for (const upstream::UpstreamSpec &spec : policy.upstreams())
    balancers.push_back(std::make_shared<upstream::Balancer>(
        spec.balance, spec.peers, upstream::Balancer::workerSeed(0), spec.maxConnections));
  ServerConfig config;
  config.tracing.seed = 1; // the same trace ids run after run
  SimulatedClient client;
  SimulatedOrigin origin(x);
  Flow flow(client, origin, config);
  asio::io_context context;
  asio::co_spawn(context, flow.run(x, Routing{policy, balancers}), asio::detached);
  context.run();
  if (!client.received.empty())
    x.response.body = std::move(client.received);
  flow.finish(x);
  spdlog::set_level(level);
}

} // namespace turnout::proxy
