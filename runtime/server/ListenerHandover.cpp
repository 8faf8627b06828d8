#include "server/ListenerHandover.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <string_view>

namespace turnout {

namespace {

// The message's bytes beside its descriptors. A version 2 message is followed by the
// ticket keys: a 4-byte length, then per listener its address and its keys, each a 2-byte
// length and the bytes (lengths big-endian). Version 1 (no keys) is still taken.
constexpr char kGreeting[] = "turnout-listeners-2";
constexpr char kGreetingWithoutKeys[] = "turnout-listeners-1";
constexpr size_t kMaxListeners = 250; // below the kernel's SCM_MAX_FD (253)
constexpr size_t kMaxKeyBytes = 1 << 20;

// One message of the handover: the greeting's bytes and room for the descriptors.
struct Message {
  char bytes[sizeof kGreeting] = {};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxListeners)] = {};
  iovec vector{bytes, sizeof bytes};
  msghdr message{};
  explicit Message(size_t descriptors) {
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * descriptors);
  }
  Message(const Message &) = delete;
};

std::string encodeKeys(const std::map<std::string, std::string> &keys) {
  std::string out;
  auto piece = [&out](const std::string &bytes) {
    out += static_cast<char>(bytes.size() >> 8);
    out += static_cast<char>(bytes.size() & 0xff);
    out += bytes;
  };
  for (const auto &[address, bytes] : keys) {
    piece(address);
    piece(bytes);
  }
  return out;
}

// The keys of encodeKeys(); false when `in` is not that.
bool decodeKeys(std::string_view in, std::map<std::string, std::string> &keys) {
  auto piece = [&in](std::string &out) {
    if (in.size() < 2)
      return false;
    size_t size = (static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]);
    if (in.size() < 2 + size)
      return false;
    out.assign(in.substr(2, size));
    in.remove_prefix(2 + size);
    return true;
  };
  while (!in.empty()) {
    std::string address, bytes;
    if (!piece(address) || !piece(bytes))
      return false;
    keys[address] = std::move(bytes);
  }
  return true;
}

// Reads exactly `size` bytes from the blocking socket `fd`.
bool readExactly(int fd, char *into, size_t size) {
  while (size > 0) {
    ssize_t n = ::read(fd, into, size);
    if (n <= 0)
      return false;
    into += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool addressOf(const std::string &path, sockaddr_un &address, std::string &error) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = fmt::format("the upgrade socket path {} is too long", path);
    return false;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Whether the process at the other end of the Unix socket `fd` runs as this one's user.
bool sameUser(int fd) {
  ucred credentials{};
  socklen_t size = sizeof credentials;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0 &&
         credentials.uid == ::getuid();
}

} // namespace

HandedOver receiveListeners(const std::string &path, std::chrono::seconds timeout,
                            std::string &error) {
  // Bound under a name of its own and renamed once it listens: `path` never names a socket
  // that refuses connections (a SIGQUIT sent the moment it appears finds it ready).
  std::string bindPath = fmt::format("{}.{}", path, ::getpid());
  sockaddr_un address;
  if (!addressOf(path, address, error) || !addressOf(bindPath, address, error))
    return {};
  int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct stat info;
  if (::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode))
    ::unlink(path.c_str());
  if (::lstat(bindPath.c_str(), &info) == 0 && S_ISSOCK(info.st_mode))
    ::unlink(bindPath.c_str());
  mode_t previous = ::umask(0177);
  bool bound = server >= 0 &&
               ::bind(server, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0 &&
               ::listen(server, 1) == 0 && ::rename(bindPath.c_str(), path.c_str()) == 0;
  ::umask(previous);
  if (!bound) {
    error = fmt::format("cannot wait on the upgrade socket {}: {}", path, std::strerror(errno));
    if (server >= 0)
      ::close(server);
    ::unlink(bindPath.c_str());
    return {};
  }
  HandedOver handed;
  std::vector<int> &listeners = handed.listeners;
  pollfd ready{server, POLLIN, 0};
  int polled = ::poll(&ready, 1, static_cast<int>(timeout.count() * 1000));
  int peer = polled > 0 ? ::accept4(server, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  ::close(server);
  ::unlink(path.c_str());
  if (peer < 0) {
    error = polled == 0
                ? fmt::format("no process passed its listeners on {} within {} s (send it SIGQUIT)",
                              path, timeout.count())
                : fmt::format("accepting on the upgrade socket {}: {}", path, std::strerror(errno));
    return {};
  }
  if (!sameUser(peer)) {
    ::close(peer);
    error = fmt::format("a process of another user connected to the upgrade socket {}", path);
    return {};
  }
  // The old process writes at once; a peer that stalls is not waited on for long.
  timeval patience{5, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  Message in(kMaxListeners);
  msghdr &message = in.message;
  ssize_t n = ::recvmsg(peer, &message, MSG_CMSG_CLOEXEC);
  for (cmsghdr *header = CMSG_FIRSTHDR(&message); n > 0 && header;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
      continue;
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const int *fds = reinterpret_cast<const int *>(CMSG_DATA(header));
    listeners.assign(fds, fds + count);
  }
  bool withKeys = std::memcmp(in.bytes, kGreeting, sizeof kGreeting) == 0;
  bool valid = n == static_cast<ssize_t>(sizeof kGreeting) && !(message.msg_flags & MSG_CTRUNC) &&
               (withKeys || std::memcmp(in.bytes, kGreetingWithoutKeys, sizeof kGreeting) == 0);
  if (valid && withKeys) {
    unsigned char length[4];
    valid = readExactly(peer, reinterpret_cast<char *>(length), sizeof length);
    size_t size = (size_t{length[0]} << 24) | (size_t{length[1]} << 16) | (size_t{length[2]} << 8) |
                  length[3];
    std::string keys(valid && size <= kMaxKeyBytes ? size : 0, '\0');
    valid = valid && size <= kMaxKeyBytes && readExactly(peer, keys.data(), size) &&
            decodeKeys(keys, handed.ticketKeys);
  }
  ::close(peer);
  if (!valid) {
    for (int fd : listeners)
      ::close(fd);
    error =
        fmt::format("the upgrade socket {} got something other than a turnout's listeners", path);
    return {};
  }
  return handed;
}

bool sendListeners(const std::string &path, const HandedOver &handed, std::string &error) {
  const std::vector<int> &listeners = handed.listeners;
  sockaddr_un address;
  if (!addressOf(path, address, error))
    return false;
  if (listeners.empty() || listeners.size() > kMaxListeners) {
    error = fmt::format("{} listening sockets cannot be passed (1 to {})", listeners.size(),
                        kMaxListeners);
    return false;
  }
  int peer = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (peer < 0 || ::connect(peer, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
    error = fmt::format("no new process waits on {}: {} (start one with --upgrade)", path,
                        std::strerror(errno));
    if (peer >= 0)
      ::close(peer);
    return false;
  }
  // Listening sockets go only to a process of this user: another could serve (or spy on)
  // this proxy's traffic.
  if (!sameUser(peer)) {
    error =
        fmt::format("the process waiting on {} is not this user's; its listeners stay here", path);
    ::close(peer);
    return false;
  }
  Message out(listeners.size());
  std::memcpy(out.bytes, kGreeting, sizeof kGreeting);
  msghdr &message = out.message;
  cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int) * listeners.size());
  std::memcpy(CMSG_DATA(header), listeners.data(), sizeof(int) * listeners.size());
  bool sent = ::sendmsg(peer, &message, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof out.bytes);
  if (sent) {
    std::string keys = encodeKeys(handed.ticketKeys);
    const char length[4] = {
        static_cast<char>(keys.size() >> 24), static_cast<char>((keys.size() >> 16) & 0xff),
        static_cast<char>((keys.size() >> 8) & 0xff), static_cast<char>(keys.size() & 0xff)};
    sent = writeAll(peer, std::string_view(length, sizeof length)) && writeAll(peer, keys);
  }
  if (!sent)
    error = fmt::format("passing the listeners on {}: {}", path, std::strerror(errno));
  ::close(peer);
  return sent;
}

} // namespace turnout
