// A binary upgrade without a refused connection, as Pingora does it: the new process,
// started with --upgrade, waits on the upgrade socket; the old one, on SIGQUIT, passes it
// its listening sockets there (SCM_RIGHTS), then stops accepting and drains. Both accept
// from the same sockets for a moment; no socket is ever closed with connections queued.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace turnout {

// What the old process hands over: its listening sockets and, by listener address, the
// session ticket keys of its TLS listeners (TicketKeys::exported), so that the sessions
// it gave out resume on the new process.
struct HandedOver {
  std::vector<int> listeners;
  std::map<std::string, std::string> ticketKeys;
};

// The new process: waits on `path` (created mode 0600) for the old process and returns
// what it passes; no listeners, with `error` set, on failure or timeout.
HandedOver receiveListeners(const std::string &path, std::chrono::seconds timeout,
                            std::string &error);

// The old process: passes `handed` to the new process waiting on `path`.
bool sendListeners(const std::string &path, const HandedOver &handed, std::string &error);

} // namespace turnout
