// routec load / versions / rollback / peers / drain / enable / stats / reload-tls: a client of a
// running turnout's admin socket (runtime/server/Control.h has the protocol: a JSON object per line
// each way).
#include "AdminClient.h"
#include "Commands.h"
#include "Support.h"
#include "artifact/Artifact.h"
#include "driver/Compilation.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace routec {

using json = nlohmann::json;

std::optional<json> askTurnout(const std::string &path, const json &request, std::string &error) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = fmt::format("the admin socket path {} is too long", path);
    return std::nullopt;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
    error = fmt::format("cannot reach turnout's admin socket {}: {}", path, std::strerror(errno));
    if (fd >= 0)
      ::close(fd);
    return std::nullopt;
  }
  std::string out = request.dump() + "\n";
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      error = fmt::format("writing to {}: {}", path, std::strerror(errno));
      ::close(fd);
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  std::string in;
  char buffer[4096];
  while (in.find('\n') == std::string::npos) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      error = fmt::format("turnout closed {} without answering", path);
      ::close(fd);
      return std::nullopt;
    }
    in.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  json answer = json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    error = "turnout's answer is not JSON";
    return std::nullopt;
  }
  return answer;
}

namespace {

std::string describe(const json &version) {
  return fmt::format("{} {} (loaded {}, {})", version.value("id", "?"), version.value("path", "?"),
                     version.value("loaded_at", "?"), version.value("backend", "?"));
}

} // namespace

int admin(const AdminOptions &options) {
  if (options.command == "stats" && options.rules)
    return statsRules(options);
  // The admin protocol's names are snake_case; routec's commands are kebab-case.
  std::string command = options.command == "reload-tls" ? "reload_tls" : options.command;
  json request{{"command", command}};
  if (options.command == "load") {
    // A source is checked here first: one with errors is not sent at all. An artifact
    // (routec build) the proxy checks against its own machine.
    std::ifstream file(options.argument, std::ios::binary);
    char head[16] = {};
    file.read(head, sizeof head);
    if (!route::looksLikeArtifact(std::string_view(head, static_cast<size_t>(file.gcount())))) {
      route::Compilation compilation;
      int exitCode = kExitClean;
      if (!loadPolicy(compilation, options.argument, exitCode))
        return exitCode;
    }
    request["path"] = std::filesystem::absolute(options.argument).lexically_normal().string();
  } else if (options.command == "rollback" || options.command == "activate") {
    if (!options.argument.empty())
      request["id"] = options.argument;
  } else if (options.command == "drain" || options.command == "enable") {
    request["upstream"] = options.argument;
    request["peer"] = options.peer;
  }

  std::string error;
  std::optional<json> answer = askTurnout(options.socket, request, error);
  if (!answer) {
    std::fprintf(stderr, "routec: %s\n", error.c_str());
    return kExitUsage;
  }
  if (options.json) {
    std::printf("%s\n", answer->dump(2).c_str());
  } else if (!answer->value("ok", false) && command == "reload_tls") {
    for (const json &listener : (*answer)["listeners"])
      std::fprintf(stderr, "%s: %s\n", listener.value("address", "?").c_str(),
                   listener.value("ok", false)
                       ? "certificates reloaded"
                       : ("kept its certificates: " + listener.value("error", "?")).c_str());
  } else if (!answer->value("ok", false)) {
    std::fprintf(stderr, "%s%sturnout: %s\n", answer->value("diagnostics", "").c_str(),
                 answer->value("diagnostics", "").empty() ? "" : "\n",
                 answer->value("error", "?").c_str());
  } else if (answer->contains("version") && (*answer)["version"].is_object()) {
    std::printf("active: %s\n", describe((*answer)["version"]).c_str());
  } else if (command == "reload_tls") {
    for (const json &listener : (*answer)["listeners"])
      std::printf("%s: certificates reloaded\n", listener.value("address", "?").c_str());
  } else if (options.command == "versions") {
    for (const json &version : (*answer)["versions"])
      std::printf("%s %s\n", version.value("active", false) ? "*" : " ", describe(version).c_str());
  } else if (options.command == "peers") {
    for (const json &upstream : (*answer)["upstreams"]) {
      std::printf("%s\n", upstream.value("name", "?").c_str());
      for (const json &peer : upstream["peers"])
        std::printf("  %-24s weight %-4lld %s%s%s\n", peer.value("address", "?").c_str(),
                    static_cast<long long>(peer.value("weight", 0)),
                    peer.value("healthy", false) ? "up" : "down",
                    peer.value("drained", false) ? ", drained" : "",
                    peer.value("ejected", false)
                        ? fmt::format(", ejected ({:.0f} s left, {} ejections)",
                                      peer.value("ejected_seconds_left", 0.0),
                                      peer.value("ejections", 0))
                              .c_str()
                        : "");
    }
  } else {
    std::printf("%s\n", answer->dump(2).c_str());
  }
  return answer->value("ok", false) ? kExitClean : kExitErrors;
}

} // namespace routec
