// The upstream side of an exchange in the protocol its upstream speaks (`protocol`):
// HTTP/1's session or HTTP/2's, chosen as each attempt begins. `auto` takes a pooled
// HTTP/2 connection, else a pooled HTTP/1 one, and a new connection goes where its ALPN
// says.
#pragma once

#include "http1/UpstreamSession.h"
#include "http2/UpstreamSession.h"
#include "server/Worker.h"

namespace turnout {

using proxy::Fields;

class AnyUpstream final : public proxy::Upstream {
public:
  explicit AnyUpstream(Worker &worker)
      : http1_(worker.context(), worker.pool(), worker.tls(), worker.buffers()),
        http2_(worker.context(), worker.http2Pool(), worker.tls(), worker.buffers()) {}

  // HTTP/1's session, whose parser takes back a response head's fields.
  http1::UpstreamSession &http1() { return http1_; }

  bool reuse(const std::string &peer, const upstream::ConnectSettings &settings,
             bool retryable) override;
  awaitable<std::optional<proxy::Error>>
  connect(const std::string &peer, const std::string &host, uint16_t port,
          const upstream::ConnectSettings &settings) override;
  bool reused() const override { return chosen_->reused(); }
  bool duplex() const override { return chosen_->duplex(); }
  void cancel() override { chosen_->cancel(); }
  const char *protocol() const override { return chosen_->protocol(); }
  awaitable<IoStatus> sendHead(const route::Exchange &x, const proxy::BodyShape &shape,
                               std::string_view body, bool complete,
                               const Fields &trailers) override {
    return chosen_->sendHead(x, shape, body, complete, trailers);
  }
  awaitable<IoStatus> sendBody(std::string_view piece, bool last, const Fields &trailers) override {
    return chosen_->sendBody(piece, last, trailers);
  }
  bool answeredEarly(bool afterFailedWrite) override {
    return chosen_->answeredEarly(afterFailedWrite);
  }
  awaitable<std::optional<proxy::Error>> readHead(route::Exchange &x) override {
    return chosen_->readHead(x);
  }
  bool switched() const override { return chosen_->switched(); }
  void startTunnel(Duration idle) override { chosen_->startTunnel(idle); }
  proxy::BodyShape responseBody() const override { return chosen_->responseBody(); }
  std::optional<Piece> bufferedBody() override { return chosen_->bufferedBody(); }
  awaitable<Piece> readBody() override { return chosen_->readBody(); }
  const Fields &trailers() const override { return chosen_->trailers(); }
  void release(bool reusable) override { chosen_->release(reusable); }

private:
  http1::UpstreamSession http1_;
  http2::UpstreamSession http2_;
  proxy::Upstream *chosen_ = &http1_;
};

} // namespace turnout
