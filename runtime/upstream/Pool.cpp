#include "upstream/Pool.h"

#include <algorithm>

namespace turnout::upstream {

std::optional<Stream> Pool::take(const std::string &peer, bool retryable) {
  auto found = idle_.find(peer);
  if (found == idle_.end())
    return std::nullopt;
  auto &list = found->second;
  Clock::time_point now = Clock::now();
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    callOff(idle);
    // A connection idle for a moment only is taken on trust, without the system call of a
    // look, for a request that can be sent again: a peer that closed it within that moment
    // meets the one retry on a fresh connection that a stale pooled connection gets.
    bool trusted = retryable && now - idle.since < kTrustedIdle;
    // An idle HTTP/1 connection has nothing to read: end of stream means the peer closed
    // it, and bytes mean it broke the protocol. Either way it is not reused.
    if (idle.expires > now &&
        (trusted || pending(idle.stream.lowest().native_handle()) == Pending::Nothing))
      return std::move(idle.stream);
    idle.stream.close();
  }
  return std::nullopt;
}

void Pool::put(const std::string &peer, Stream stream, Duration idleTimeout) {
  if (idlePerPeer_ == 0)
    return;
  auto &list = idle_[peer]; // stays where it is: a map's values do not move, and no key goes
  if (list.size() >= idlePerPeer_) {
    callOff(list.front());
    list.front().stream.close();
    list.erase(list.begin());
  }
  Clock::time_point now = Clock::now();
  list.push_back(Idle{std::move(stream), now, now + idleTimeout, ++nextId_});
  watch(list, list.back());
}

void Pool::watch(std::vector<Idle> &list, Idle &idle) {
  auto readable = [list = &list, id = idle.id](const error_code &ec) {
    if (!ec)
      drop(*list, id);
  };
  if (Ring *ring = Ring::current())
    idle.watch = ring->watchReadable(idle.stream.lowest().native_handle(), std::move(readable));
  else
    idle.stream.lowest().async_wait(TcpSocket::wait_read, std::move(readable));
}

void Pool::callOff(Idle &idle) {
  if (idle.watch) {
    Ring::current()->callOff(idle.watch);
    idle.watch = nullptr;
  } else {
    error_code ignored;
    idle.stream.lowest().cancel(ignored);
  }
}

void Pool::drop(std::vector<Idle> &list, uint64_t id) {
  auto found =
      std::find_if(list.begin(), list.end(), [id](const Idle &idle) { return idle.id == id; });
  if (found == list.end())
    return; // taken already: the watch's news came after it left the pool
  found->stream.close();
  list.erase(found);
}

void Pool::prune() {
  Clock::time_point now = Clock::now();
  for (auto &[peer, list] : idle_) {
    std::erase_if(list, [&](Idle &idle) {
      if (idle.expires > now)
        return false;
      callOff(idle);
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
