#include "server/Admission.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace turnout {

namespace {

// IPv4 as IPv4-mapped IPv6: one client, whichever family its listener has.
std::string clientKey(const sockaddr *peer) {
  if (peer->sa_family == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(peer);
    return std::string(reinterpret_cast<const char *>(&v6->sin6_addr), 16);
  }
  if (peer->sa_family == AF_INET) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(peer);
    std::string key(16, '\0');
    key[10] = key[11] = '\xff';
    std::memcpy(key.data() + 12, &v4->sin_addr, 4);
    return key;
  }
  return "";
}

} // namespace

Admission::Ticket Admission::admit(const sockaddr *peer) {
  if (connections_.fetch_add(1, std::memory_order_relaxed) + 1 > maxConnections_) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    refused_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  Ticket ticket{true, maxPerClient_ ? clientKey(peer) : std::string()};
  if (ticket.client.empty())
    return ticket;
  std::lock_guard lock(mutex_);
  uint64_t &count = perClient_[ticket.client];
  if (count >= maxPerClient_) {
    if (count == 0)
      perClient_.erase(ticket.client);
    connections_.fetch_sub(1, std::memory_order_relaxed);
    refused_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  ++count;
  return ticket;
}

void Admission::release(const Ticket &ticket) {
  if (!ticket.admitted)
    return;
  connections_.fetch_sub(1, std::memory_order_relaxed);
  if (ticket.client.empty())
    return;
  std::lock_guard lock(mutex_);
  auto found = perClient_.find(ticket.client);
  if (found != perClient_.end() && --found->second == 0)
    perClient_.erase(found);
}

} // namespace turnout
