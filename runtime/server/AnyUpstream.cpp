#include "server/AnyUpstream.h"

namespace turnout {

using Protocol = upstream::ConnectSettings::Protocol;

bool AnyUpstream::reuse(const std::string &peer, const upstream::ConnectSettings &settings,
                        bool retryable) {
  if (settings.protocol == Protocol::Http1) {
    chosen_ = &http1_;
    return http1_.reuse(peer, settings, retryable);
  }
  chosen_ = &http2_;
  if (http2_.reuse(peer, settings, retryable))
    return true;
  if (settings.protocol == Protocol::Auto && http1_.reuse(peer, settings, retryable)) {
    chosen_ = &http1_;
    return true;
  }
  return false;
}

awaitable<std::optional<proxy::Error>>
AnyUpstream::connect(const std::string &peer, const std::string &host, uint16_t port,
                     const upstream::ConnectSettings &settings) {
  if (chosen_ == &http1_)
    co_return co_await http1_.connect(peer, host, port, settings);
  std::optional<proxy::Error> error = co_await http2_.connect(peer, host, port, settings);
  if (std::optional<upstream::Stream> stream = http2_.takeHttp1()) {
    http1_.adopt(std::move(*stream));
    chosen_ = &http1_;
  }
  co_return error;
}

} // namespace turnout
