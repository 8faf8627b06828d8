// A binary upgrade without a refused connection, as Pingora does it: the new process,
// started with --upgrade, waits on the upgrade socket; the old one, on SIGQUIT, passes it
// its listening sockets there (SCM_RIGHTS), then stops accepting and drains. Both accept
// from the same sockets for a moment; no socket is ever closed with connections queued.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace turnout {

// The new process: waits on `path` (created mode 0600) for the old process and returns
// the listening sockets it passes; empty with `error` set on failure or timeout.
std::vector<int> receiveListeners(const std::string &path, std::chrono::seconds timeout,
                                  std::string &error);

// The old process: passes `listeners` to the new process waiting on `path`.
bool sendListeners(const std::string &path, const std::vector<int> &listeners, std::string &error);

} // namespace turnout
