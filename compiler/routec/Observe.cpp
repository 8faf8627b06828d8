// routec stats --rules and routec top: what a running turnout's traffic does to its policy,
// from the admin socket's `rules` and `traffic` answers.
#include "AdminClient.h"
#include "Commands.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace routec {

using json = nlohmann::json;

namespace {

// Asks and reports a failure on stderr; nothing when the answer is not a success.
std::optional<json> askOrSay(const AdminOptions &options, const char *command, int &exitCode) {
  std::string error;
  json request = json::object();
  request["command"] = command;
  std::optional<json> answer = askTurnout(options.socket, request, error);
  if (!answer) {
    std::fprintf(stderr, "routec: %s\n", error.c_str());
    exitCode = kExitUsage;
    return std::nullopt;
  }
  if (!answer->value("ok", false)) {
    std::fprintf(stderr, "turnout: %s\n", answer->value("error", "?").c_str());
    exitCode = kExitErrors;
    return std::nullopt;
  }
  return answer;
}

std::vector<std::string_view> linesOf(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return lines;
}

} // namespace

int statsRules(const AdminOptions &options) {
  int exitCode = kExitClean;
  std::optional<json> answer = askOrSay(options, "rules", exitCode);
  if (!answer)
    return exitCode;
  json never = json::array();
  for (const json &rule : (*answer)["rules"])
    if (rule.value("hits", uint64_t{0}) == 0)
      never.push_back(rule);
  if (options.json) {
    json out = *answer;
    out.erase("sources");
    out["never_fired"] = never;
    std::printf("%s\n", out.dump(2).c_str());
    return kExitClean;
  }
  // Hits by file and line: a line's rules share its margin.
  std::map<std::string, std::map<uint32_t, uint64_t>> margin;
  for (const json &rule : (*answer)["rules"])
    margin[rule.value("file", "")][rule.value("line", 0u)] += rule.value("hits", uint64_t{0});
  const json &version = (*answer)["version"];
  std::string out = fmt::format("version {} {} ({})\n", version.value("id", "?"),
                                version.value("path", "?"), version.value("backend", "?"));
  std::map<std::string, std::string> sources;
  for (const json &file : (*answer)["sources"]) {
    std::string path = file.value("path", ""), text = file.value("text", "");
    sources[path] = text;
    const auto &hits = margin[path];
    out += fmt::format("\n{:>10} | {}\n", "hits", path);
    std::vector<std::string_view> lines = linesOf(text);
    for (size_t i = 0; i < lines.size(); ++i) {
      auto hit = hits.find(static_cast<uint32_t>(i + 1));
      out += hit == hits.end() ? fmt::format("{:>10} | {:>4}  {}\n", "", i + 1, lines[i])
                               : fmt::format("{:>10} | {:>4}  {}\n", hit->second, i + 1, lines[i]);
    }
  }
  out += fmt::format("\nnever fired since the version was loaded: {} of {} rules\n", never.size(),
                     (*answer)["rules"].size());
  for (const json &rule : never) {
    std::string path = rule.value("file", "");
    uint32_t line = rule.value("line", 0u);
    std::vector<std::string_view> lines = linesOf(sources[path]);
    std::string_view source = line >= 1 && line <= lines.size() ? lines[line - 1] : "";
    source.remove_prefix(std::min(source.find_first_not_of(" \t"), source.size()));
    out += fmt::format("    {}:{}:{}: {}: {}\n", path, line, rule.value("column", 0u),
                       rule.value("action", "?"), source);
  }
  std::fputs(out.c_str(), stdout);
  return kExitClean;
}

int top(const AdminOptions &options, int iterations) {
  using Clock = std::chrono::steady_clock;
  int exitCode = kExitClean;
  std::optional<json> before = askOrSay(options, "traffic", exitCode);
  if (!before)
    return exitCode;
  Clock::time_point then = Clock::now();
  const bool terminal = ::isatty(STDOUT_FILENO);
  for (int shown = 0; iterations == 0 || shown < iterations; ++shown) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::optional<json> now = askOrSay(options, "traffic", exitCode);
    if (!now)
      return exitCode;
    Clock::time_point at = Clock::now();
    double seconds = std::chrono::duration<double>(at - then).count();
    std::string out = terminal ? "\x1b[H\x1b[2J" : (shown ? "\n" : "");
    out += fmt::format("turnout top: version {}, every second\n\n", now->value("version", "?"));
    out += fmt::format("{:<24} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}\n", "UPSTREAM", "REQ/S",
                       "1xx", "2xx", "3xx", "4xx", "5xx", "P99");
    std::vector<double> bounds = (*now)["bounds"].get<std::vector<double>>();
    for (const auto &[name, counters] : (*now)["upstreams"].items()) {
      const json *previous = nullptr;
      if ((*before)["upstreams"].contains(name))
        previous = &(*before)["upstreams"][name];
      std::vector<uint64_t> classes = counters["status_classes"].get<std::vector<uint64_t>>();
      std::vector<uint64_t> buckets = counters["duration_buckets"].get<std::vector<uint64_t>>();
      if (previous) {
        std::vector<uint64_t> c = (*previous)["status_classes"].get<std::vector<uint64_t>>();
        std::vector<uint64_t> b = (*previous)["duration_buckets"].get<std::vector<uint64_t>>();
        for (size_t i = 0; i < classes.size() && i < c.size(); ++i)
          classes[i] -= c[i];
        for (size_t i = 0; i < buckets.size() && i < b.size(); ++i)
          buckets[i] -= b[i];
      }
      uint64_t total = 0;
      for (uint64_t n : buckets)
        total += n;
      // The p99 as the bound of the bucket it falls in.
      std::string p99 = "-";
      uint64_t seen = 0;
      for (size_t i = 0; total && i < buckets.size(); ++i) {
        seen += buckets[i];
        if (static_cast<double>(seen) >= 0.99 * static_cast<double>(total)) {
          p99 = i < bounds.size() ? fmt::format("<={}ms", bounds[i] * 1000)
                                  : fmt::format(">{}s", bounds.back());
          break;
        }
      }
      out += fmt::format("{:<24} {:>10.1f}", name.empty() ? "(none)" : name,
                         static_cast<double>(total) / seconds);
      for (uint64_t n : classes)
        out += fmt::format(" {:>8.1f}", static_cast<double>(n) / seconds);
      out += fmt::format(" {:>10}\n", p99);
    }
    // The busiest rules of the last second.
    std::map<std::string, uint64_t> earlier;
    for (const json &rule : (*before)["rules"])
      earlier[fmt::format("{}:{} {}", rule.value("file", ""), rule.value("line", 0u),
                          rule.value("action", ""))] = rule.value("hits", uint64_t{0});
    std::vector<std::pair<uint64_t, std::string>> busiest;
    for (const json &rule : (*now)["rules"]) {
      std::string place = fmt::format("{}:{} {}", rule.value("file", ""), rule.value("line", 0u),
                                      rule.value("action", ""));
      uint64_t hits = rule.value("hits", uint64_t{0}), was = earlier[place];
      if (hits > was)
        busiest.emplace_back(hits - was, place);
    }
    std::sort(busiest.begin(), busiest.end(), std::greater<>());
    busiest.resize(std::min<size_t>(busiest.size(), 10));
    out += fmt::format("\n{:>10}  {}\n", "HITS/S", "BUSIEST RULES");
    for (const auto &[hits, place] : busiest)
      out += fmt::format("{:>10.1f}  {}\n", static_cast<double>(hits) / seconds, place);
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    before = std::move(now);
    then = at;
  }
  return kExitClean;
}

} // namespace routec
