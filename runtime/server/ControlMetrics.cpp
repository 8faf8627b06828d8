// What a scrape shows: the Prometheus names of the workers' counters, the control plane's
// own (policy versions and loads, peer states) and the process's; and the rules' hits as
// the admin protocol gives them (routec stats --rules, routec top).
#include "metrics/Exposition.h"
#include "metrics/Process.h"
#include "server/Control.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <tuple>

namespace turnout {

using json = nlohmann::json;
using metrics::Exposition;

namespace {

constexpr std::array<const char *, metrics::kStatusClasses> kStatusClassNames{"1xx", "2xx", "3xx",
                                                                              "4xx", "5xx"};

// The rules' hits by the place Prometheus names them: two rules on one line of one file,
// with one action, are one series.
std::map<std::tuple<std::string, uint32_t, std::string>, uint64_t>
hitsByPlace(const Policy &policy, const std::vector<uint64_t> &hits) {
  std::map<std::tuple<std::string, uint32_t, std::string>, uint64_t> places;
  const route::SourceManager *sources = policy.sources();
  for (size_t r = 0; r < policy.rules().size(); ++r) {
    const Policy::Rule &rule = policy.rules()[r];
    std::string file = sources && rule.file < sources->fileCount() ? sources->path(rule.file) : "";
    places[{std::move(file), rule.line, rule.action}] += r < hits.size() ? hits[r] : 0;
  }
  return places;
}

} // namespace

std::string Control::exposition(const Scraped &scraped) const {
  Exposition out;
  const metrics::WorkerMetrics &sum = scraped.sum;
  const std::vector<ListenAddress> listeners = shared_.config.listeners();
  auto listenerName = [&](size_t index) -> std::string_view {
    return index < listeners.size() ? std::string_view(listeners[index].text) : "";
  };

  out.family("turnout_requests_total", "counter",
             "Requests answered, by listener, client protocol, upstream (empty when the proxy "
             "answered without one) and status class.");
  for (const auto &[upstream, counters] : sum.upstreams)
    for (size_t l = 0; l < counters.requests.size(); ++l)
      for (size_t p = 0; p < metrics::kProtocols; ++p)
        for (size_t c = 0; c < metrics::kStatusClasses; ++c)
          if (uint64_t n = counters.requests[l][p * metrics::kStatusClasses + c])
            out.sample("turnout_requests_total",
                       {{"listener", listenerName(l)},
                        {"protocol", metrics::name(static_cast<metrics::Protocol>(p))},
                        {"upstream", upstream},
                        {"status_class", kStatusClassNames[c]}},
                       n);
  out.family("turnout_request_duration_seconds", "histogram",
             "Time from a request's first byte to its response's last, by upstream.");
  for (const auto &[upstream, counters] : sum.upstreams)
    if (counters.duration.count())
      out.histogram("turnout_request_duration_seconds", {{"upstream", upstream}},
                    counters.duration);
  out.family("turnout_upstream_first_byte_seconds", "histogram",
             "Time from a request's head sent upstream to the response's head read, by "
             "upstream.");
  for (const auto &[upstream, counters] : sum.upstreams)
    if (counters.firstByte.count())
      out.histogram("turnout_upstream_first_byte_seconds", {{"upstream", upstream}},
                    counters.firstByte);

  struct PeerFamily {
    const char *name, *help;
    uint64_t metrics::PeerCounters::*field;
  };
  static constexpr PeerFamily kPeerFamilies[] = {
      {"turnout_upstream_connects_total", "Connections made to a peer.",
       &metrics::PeerCounters::connects},
      {"turnout_upstream_reuses_total", "Requests sent on a pooled connection to a peer.",
       &metrics::PeerCounters::reuses},
      {"turnout_upstream_connect_failures_total",
       "Connections to a peer that failed or timed out (TLS handshakes included).",
       &metrics::PeerCounters::connectFailures},
      {"turnout_upstream_timeouts_total", "Connect, read and write timeouts of a peer.",
       &metrics::PeerCounters::timeouts},
      {"turnout_upstream_retries_total", "Attempts beyond a request's first, sent to a peer.",
       &metrics::PeerCounters::retries},
      {"turnout_upstream_failures_total", "Attempts to a peer that ended in an upstream error.",
       &metrics::PeerCounters::failures},
  };
  for (const PeerFamily &family : kPeerFamilies) {
    out.family(family.name, "counter", family.help);
    for (const auto &[upstream, counters] : sum.upstreams)
      for (const auto &[peer, peerCounters] : counters.peers)
        out.sample(family.name, {{"upstream", upstream}, {"peer", peer}},
                   peerCounters.*(family.field));
  }

  // Client connections: every admitted one is HTTP/1 until it turns to HTTP/2.
  const size_t down = static_cast<size_t>(metrics::Side::Downstream);
  const size_t h1 = static_cast<size_t>(metrics::Protocol::Http1);
  const size_t h2 = static_cast<size_t>(metrics::Protocol::Http2);
  std::array<std::array<int64_t, metrics::kProtocols>, metrics::kSides> open = sum.open;
  open[down][h2] = std::max<int64_t>(open[down][h2], 0);
  open[down][h1] =
      std::max<int64_t>(static_cast<int64_t>(shared_.admission.connections()) - open[down][h2], 0);
  out.family("turnout_connections_open", "gauge",
             "Connections open now, by side (downstream: clients; upstream: peers, pooled ones "
             "included) and protocol.");
  for (size_t s = 0; s < metrics::kSides; ++s)
    for (size_t p = 0; p < metrics::kProtocols; ++p)
      out.sample("turnout_connections_open",
                 {{"side", metrics::name(static_cast<metrics::Side>(s))},
                  {"protocol", metrics::name(static_cast<metrics::Protocol>(p))}},
                 static_cast<uint64_t>(std::max<int64_t>(open[s][p], 0)));
  out.family("turnout_connections_opened_total", "counter",
             "Connections opened, by side and protocol (a client's that turns to HTTP/2 counts "
             "on both).");
  for (size_t s = 0; s < metrics::kSides; ++s)
    for (size_t p = 0; p < metrics::kProtocols; ++p)
      out.sample("turnout_connections_opened_total",
                 {{"side", metrics::name(static_cast<metrics::Side>(s))},
                  {"protocol", metrics::name(static_cast<metrics::Protocol>(p))}},
                 static_cast<uint64_t>(sum.opened[s][p]));
  out.family("turnout_connections_refused_total", "counter",
             "Client connections closed on arrival: over limits.max_connections or "
             "max_connections_per_client.");
  out.sample("turnout_connections_refused_total", {},
             static_cast<uint64_t>(shared_.admission.refused()));
  out.family("turnout_tls_handshakes_total", "counter", "Client TLS handshakes, by result.");
  static constexpr const char *kHandshakeResults[] = {"ok", "failed", "timeout"};
  for (size_t r = 0; r < sum.tlsHandshakes.size(); ++r)
    out.sample("turnout_tls_handshakes_total", {{"result", kHandshakeResults[r]}},
               sum.tlsHandshakes[r]);
  out.family("turnout_http2_streams_total", "counter", "HTTP/2 streams opened, by side.");
  for (size_t s = 0; s < metrics::kSides; ++s)
    out.sample("turnout_http2_streams_total",
               {{"side", metrics::name(static_cast<metrics::Side>(s))}}, sum.streams[s]);
  uint64_t tunnels = 0, tunnelsOpened = 0;
  for (const auto &worker : workers_) {
    tunnels += worker->tunnelsOpen();
    tunnelsOpened += worker->tunnelsOpened();
  }
  out.family("turnout_tunnels_open", "gauge", "Tunnels (WebSocket and other upgrades) open now.");
  out.sample("turnout_tunnels_open", {}, tunnels);
  out.family("turnout_tunnels_opened_total", "counter", "Tunnels opened.");
  out.sample("turnout_tunnels_opened_total", {}, tunnelsOpened);

  const std::shared_ptr<const PolicyVersion> &active = versions_.active();
  out.family("turnout_policy_info", "gauge",
             "The active policy version: its id, file and back end (value 1).");
  if (active)
    out.sample("turnout_policy_info",
               {{"id", active->policy->id()},
                {"path", active->policy->path()},
                {"backend", active->policy->backend()}},
               uint64_t{1});
  out.family("turnout_policy_loads_total", "counter",
             "Policy loads through the control plane (admin load, SIGHUP), by result.");
  out.sample("turnout_policy_loads_total", {{"result", "ok"}}, loads_);
  out.sample("turnout_policy_loads_total", {{"result", "error"}}, loadFailures_);
  out.family("turnout_policy_load_duration_seconds", "histogram",
             "Time to load a policy: read, check, compile and activate.");
  out.histogram("turnout_policy_load_duration_seconds", {}, loadTime_);
  out.family("turnout_rule_hits_total", "counter",
             "Times each rule of the active policy version fired since the version was loaded, by "
             "the rule's file, line and action.");
  if (active)
    for (const auto &[place, hits] : hitsByPlace(*active->policy, scraped.ruleHits)) {
      std::string line = std::to_string(std::get<1>(place));
      out.sample("turnout_rule_hits_total",
                 {{"file", std::get<0>(place)}, {"line", line}, {"action", std::get<2>(place)}},
                 hits);
    }

  if (active) {
    const auto &specs = active->policy->upstreams();
    const auto now = upstream::PeerStates::Clock::now();
    using Time = upstream::PeerStates::Clock::time_point;
    struct PeerState {
      const char *name, *type, *help;
      uint64_t (*value)(const upstream::PeerStates &, size_t, Time);
    };
    static constexpr PeerState kPeerStates[] = {
        {"turnout_upstream_peer_up", "gauge",
         "Whether a peer takes new requests: healthy by its checks, not ejected, not drained.",
         [](const upstream::PeerStates &s, size_t p, Time at) -> uint64_t {
           return s.healthy(p) && !s.drained(p) && !s.ejected(p, at);
         }},
        {"turnout_upstream_peer_healthy", "gauge",
         "Whether a peer's active health checks let it in (1 without checks).",
         [](const upstream::PeerStates &s, size_t p, Time) -> uint64_t { return s.healthy(p); }},
        {"turnout_upstream_peer_drained", "gauge",
         "Whether an operator drained a peer (routec drain).",
         [](const upstream::PeerStates &s, size_t p, Time) -> uint64_t { return s.drained(p); }},
        {"turnout_upstream_peer_ejected", "gauge",
         "Whether passive health (outlier detection) keeps a peer out now.",
         [](const upstream::PeerStates &s, size_t p, Time at) -> uint64_t {
           return s.ejected(p, at);
         }},
        {"turnout_upstream_peer_ejections_total", "counter", "Times passive health ejected a peer.",
         [](const upstream::PeerStates &s, size_t p, Time) -> uint64_t { return s.ejections(p); }},
    };
    for (const PeerState &state : kPeerStates) {
      out.family(state.name, state.type, state.help);
      for (size_t u = 0; u < specs.size(); ++u)
        for (size_t p = 0; p < specs[u].peers.size(); ++p)
          out.sample(state.name, {{"upstream", specs[u].name}, {"peer", specs[u].peers[p].address}},
                     state.value(*active->upstreams[u].peers, p, now));
    }
  }

  out.family("turnout_workers", "gauge", "Worker threads.");
  out.sample("turnout_workers", {}, static_cast<uint64_t>(workers_.size()));
  metrics::writeProcessMetrics(out);
  return std::move(out.text());
}

json Control::traffic(const Scraped &scraped) const {
  json upstreams = json::object();
  for (const auto &[name, counters] : scraped.sum.upstreams) {
    std::array<uint64_t, metrics::kStatusClasses> classes{};
    for (const auto &byListener : counters.requests)
      for (size_t p = 0; p < metrics::kProtocols; ++p)
        for (size_t c = 0; c < metrics::kStatusClasses; ++c)
          classes[c] += byListener[p * metrics::kStatusClasses + c];
    std::vector<uint64_t> buckets;
    for (size_t b = 0; b <= metrics::Histogram::kBounds.size(); ++b)
      buckets.push_back(counters.duration.bucket(b));
    upstreams[name] = {{"status_classes", classes}, {"duration_buckets", buckets}};
  }
  json rules = json::array();
  if (const std::shared_ptr<const PolicyVersion> &active = versions_.active())
    for (const auto &[place, hits] : hitsByPlace(*active->policy, scraped.ruleHits))
      rules.push_back({{"file", std::get<0>(place)},
                       {"line", std::get<1>(place)},
                       {"action", std::get<2>(place)},
                       {"hits", hits}});
  return json{{"ok", true},
              {"version", versions_.activeId()},
              {"bounds", metrics::Histogram::kBounds},
              {"upstreams", upstreams},
              {"rules", rules}};
}

json Control::rules(const Scraped &scraped) const {
  const std::shared_ptr<const PolicyVersion> &active = versions_.active();
  if (!active)
    return json{{"ok", false}, {"error", "no policy is active"}};
  const Policy &policy = *active->policy;
  const route::SourceManager *sources = policy.sources();
  json list = json::array();
  for (size_t r = 0; r < policy.rules().size(); ++r) {
    const Policy::Rule &rule = policy.rules()[r];
    list.push_back({{"file", sources && rule.file < sources->fileCount() ? sources->path(rule.file)
                                                                         : std::string()},
                    {"line", rule.line},
                    {"column", rule.column},
                    {"action", rule.action},
                    {"hits", r < scraped.ruleHits.size() ? scraped.ruleHits[r] : 0}});
  }
  json files = json::array();
  if (sources)
    for (route::FileId file = 0; file < sources->fileCount(); ++file)
      files.push_back({{"path", sources->path(file)}, {"text", sources->text(file)}});
  const VersionRegistry::Kept *kept = versions_.find(policy.id());
  return json{{"ok", true},
              {"version", kept ? describe(*kept) : json{{"id", policy.id()}}},
              {"rules", list},
              {"sources", files}};
}

} // namespace turnout
