// The control plane of a running proxy, on the main thread: the admin socket and its
// protocol over the version registry (load, list, activate, roll back), SIGHUP reloads,
// upstream peers (report, drain, enable) and stats. Policies are compiled here, never on a worker:
// the workers only ever see a finished version, installed between two of their requests.
//
// The admin protocol: one JSON object per line each way over a Unix socket (mode 0600).
// Every answer has "ok"; a failure has "error" (and "diagnostics" for a policy that does
// not compile). A command that changes the active version is answered once every worker
// runs it for new requests. Commands (README.md, "Control plane"):
//   {"command": "load", "path": "/abs/policy.route"}
//   {"command": "versions"}
//   {"command": "activate", "id": "..."}      {"command": "rollback"} (to the previous)
//   {"command": "peers"}
//   {"command": "drain", "upstream": "web", "peer": "10.0.0.1:80"}   and "enable"
//   {"command": "stats"}
//   {"command": "rules"}      the active version's rules, their hits and its sources
//   {"command": "metrics"}    the Prometheus exposition, as {"ok": true, "text": "..."}
//   {"command": "traffic"}    requests and durations by upstream, rules' hits (routec top)
//   {"command": "reload_tls"}                  every TLS listener's certificates, read again
// The optional HTTP listener (loopback only) takes the same objects as POST /v1/admin,
// and GET /v1/versions, /v1/peers, /v1/stats, /v1/rules and /metrics, from requests whose
// Authorization is "Bearer TOKEN"; others get 401. The metrics listener (`--metrics`,
// `metrics: {listen}`) serves GET /metrics alone, to anyone who reaches it.
#pragma once

#include "metrics/Histogram.h"
#include "server/VersionRegistry.h"
#include "tls/ServerContext.h"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace turnout {

// Reads a TLS listener's certificates (and ticket key file), logging their `warnings`: at
// start and on every reload. False with `error` when they cannot be used (the listener
// keeps those in use, if any).
bool loadTlsListener(tls::ListenerContext &listener, std::string &error,
                     std::vector<std::string> &warnings);

class Control {
public:
  Control(asio::io_context &context, SharedState &shared,
          std::vector<std::unique_ptr<Worker>> &workers);
  ~Control();

  // Makes a compiled policy a version and the active one: the first, before the workers
  // start, and every later one.
  void activate(std::shared_ptr<const Policy> policy) { versions_.activate(std::move(policy)); }
  // Opens the admin socket; says why not in `error`.
  bool listen(const std::string &path, std::string &error);
  // Opens the admin HTTP listener on a loopback address, for requests bearing `token`.
  bool listenHttp(const ListenAddress &address, std::string token, std::string &error);
  // The TLS listeners, whose certificates SIGHUP and reload_tls read again.
  // Their session ticket keys rotate every 12 hours from then on.
  void setTlsListeners(std::vector<std::shared_ptr<tls::ListenerContext>> listeners);
  // SIGHUP: the active version's file, loaded again, and the TLS listeners' certificates.
  void reload();
  // Opens the metrics listener: GET /metrics, without a token.
  bool listenMetrics(const ListenAddress &address, std::string &error);
  // One request of the admin protocol, answered; those that need the workers' counters
  // (rules, metrics) wait for them.
  awaitable<nlohmann::json> answer(const nlohmann::json &request);
  // One request of the admin protocol that needs nothing of the workers, answered.
  nlohmann::json handle(const nlohmann::json &request);

private:
  nlohmann::json load(const std::string &path);
  // Drops the compiler's code pages once no load has come for a while.
  void releaseCompilerSoon();
  nlohmann::json activateId(const std::string &id);
  nlohmann::json versions() const;
  nlohmann::json peers() const;
  nlohmann::json setDrained(const nlohmann::json &request, bool drained);
  nlohmann::json stats() const;
  // Every worker's counters summed, and their hits of the active version's rules.
  struct Scraped {
    metrics::WorkerMetrics sum;
    std::vector<uint64_t> ruleHits; // by rule number
  };
  awaitable<std::unique_ptr<Scraped>> scrape();
  // The Prometheus exposition of a scrape (ControlMetrics.cpp).
  std::string exposition(const Scraped &scraped) const;
  nlohmann::json rules(const Scraped &scraped) const;
  // Requests and their durations by upstream, and the rules' hits: what routec top shows.
  nlohmann::json traffic(const Scraped &scraped) const;
  // Every TLS listener's certificates read again; one whose files cannot be used keeps
  // those it has.
  nlohmann::json reloadTls();
  nlohmann::json describe(const VersionRegistry::Kept &kept) const;
  // Until every worker has installed the active version (at most a few seconds).
  awaitable<void> untilInstalled();
  awaitable<void> session(UnixSocket socket);
  // An HTTP request to the admin listener, or (`metricsOnly`) to the metrics listener.
  awaitable<void> httpSession(TcpSocket socket, bool metricsOnly);

  asio::io_context &context_;
  SharedState &shared_;
  std::vector<std::unique_ptr<Worker>> &workers_;
  VersionRegistry versions_;
  std::vector<std::shared_ptr<tls::ListenerContext>> tlsListeners_;
  std::unique_ptr<UnixAcceptor> admin_;
  std::string adminPath_;
  uint64_t adminInode_ = 0; // the socket file this process made
  std::unique_ptr<TcpAcceptor> http_, metrics_;
  // Policy loads through the control plane (load, SIGHUP), by result, and their time.
  uint64_t loads_ = 0, loadFailures_ = 0;
  metrics::Histogram loadTime_;
  std::string token_;
  // The HTTP listener's sessions: how many at once, and how long a request may take.
  static constexpr size_t kMaxHttpSessions = 16;
  static constexpr Duration kHttpRequestTime{10'000};
  size_t httpSessions_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  Timer releaseTimer_{context_};
  Timer ticketTimer_{context_};
  void rotateTicketKeysLater();
};

} // namespace turnout
