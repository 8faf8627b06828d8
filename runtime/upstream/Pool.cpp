#include "upstream/Pool.h"

#include <sys/socket.h>

namespace turnout::upstream {

namespace {
// An idle HTTP/1 connection has nothing to read: end of stream means the peer closed it,
// and bytes mean it broke the protocol. Either way it is not reused.
bool stillIdle(TcpSocket &socket) {
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
} // namespace

std::optional<Stream> Pool::take(const std::string &peer, bool retryable) {
  auto found = idle_.find(peer);
  if (found == idle_.end())
    return std::nullopt;
  auto &list = found->second;
  Clock::time_point now = Clock::now();
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    // A connection idle for a moment only is taken on trust, without the system call of a
    // look, for a request that can be sent again: a peer that closed it within that moment
    // meets the one retry on a fresh connection that a stale pooled connection gets.
    bool trusted = retryable && now - idle.since < kTrustedIdle;
    if (idle.expires > now && (trusted || stillIdle(idle.stream.lowest())))
      return std::move(idle.stream);
    idle.stream.close();
  }
  return std::nullopt;
}

void Pool::put(const std::string &peer, Stream stream, Duration idleTimeout) {
  if (idlePerPeer_ == 0)
    return;
  auto &list = idle_[peer];
  if (list.size() >= idlePerPeer_) {
    list.front().stream.close();
    list.erase(list.begin());
  }
  Clock::time_point now = Clock::now();
  list.push_back(Idle{std::move(stream), now, now + idleTimeout});
}

void Pool::prune() {
  Clock::time_point now = Clock::now();
  for (auto &[peer, list] : idle_) {
    std::erase_if(list, [&](Idle &idle) {
      if (idle.expires > now)
        return false;
      idle.stream.close();
      return true;
    });
  }
}

size_t Pool::idleCount() const {
  size_t n = 0;
  for (const auto &[peer, list] : idle_)
    n += list.size();
  return n;
}

} // namespace turnout::upstream
