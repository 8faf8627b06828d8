// A client of a running turnout's admin socket (runtime/server/Control.h has the protocol:
// a JSON object per line each way), for the admin commands, stats --rules and top.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace routec {

// Sends one request and reads its one-line answer; nothing on failure, with `error` set.
std::optional<nlohmann::json> askTurnout(const std::string &socket, const nlohmann::json &request,
                                         std::string &error);

} // namespace routec
