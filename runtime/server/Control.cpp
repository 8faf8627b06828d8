#include "server/Control.h"

#include "http1/Parser.h"
#include "http1/Serialize.h"
#include "metrics/Exposition.h"
#include "policy/PolicyLoader.h"

#include <openssl/crypto.h>

#include <filesystem>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace turnout {

using json = nlohmann::json;

namespace {

json failure(std::string error) {
  return json{{"ok", false}, {"error", std::move(error)}};
}

// Accepts until `acceptor` closes, each connection to a `session` of its own.
template <typename Acceptor, typename Session>
awaitable<void> acceptEach(Acceptor &acceptor, Session session) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open())
      co_return;
    if (!ec)
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

const char *const kJsonType = "application/json";
const char *const kTextType = "text/plain";

// An admin request line longer than this is refused: a path and a few names fit in far less.
constexpr size_t kMaxRequestLine = 64 * 1024;

} // namespace

Control::Control(asio::io_context &context, SharedState &shared,
                 std::vector<std::unique_ptr<Worker>> &workers)
    : context_(context), shared_(shared), workers_(workers),
      versions_(shared.config.admin.keepVersions, workers) {
}

Control::~Control() {
  struct stat info;
  // Unless a new process (an upgrade) has put its own socket there since.
  if (admin_ && ::lstat(adminPath_.c_str(), &info) == 0 && info.st_ino == adminInode_)
    ::unlink(adminPath_.c_str());
}

json Control::describe(const VersionRegistry::Kept &kept) const {
  return json{{"id", kept.policy->id()},
              {"path", std::filesystem::absolute(kept.policy->path()).lexically_normal().string()},
              {"loaded_at", kept.loadedAt},
              {"backend", kept.policy->backend()},
              {"active", kept.policy->id() == versions_.activeId()}};
}

json Control::load(const std::string &path) {
  auto started = std::chrono::steady_clock::now();
  std::string diagnostics;
  std::shared_ptr<const Policy> policy = loadPolicy(path, diagnostics);
  releaseCompilerSoon();
  ++(policy ? loads_ : loadFailures_);
  loadTime_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (!policy) {
    json answer =
        failure(fmt::format("{} has errors; version {} stays active", path, versions_.activeId()));
    answer["diagnostics"] = diagnostics;
    return answer;
  }
  if (const VersionRegistry::Kept *known = versions_.find(policy->id()))
    policy = known->policy; // the same sources: the version already compiled
  activate(policy);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("policy {} is active: version {} ({}), loaded in {:.1f} ms", path, policy->id(),
               policy->backend(), ms);
  return json{{"ok", true},
              {"version", describe(*versions_.find(policy->id()))},
              {"warnings", diagnostics}};
}

void Control::releaseCompilerSoon() {
  releaseTimer_.expires_after(std::chrono::seconds(10));
  releaseTimer_.async_wait([](const error_code &ec) {
    if (ec)
      return; // a later load moved the moment on
    // The compiler's code pages came back while compiling, and memory the compilations
    // left in malloc's free lists is no one's: a serving proxy needs neither. Not after
    // every load: reloads in a row would fault the compiler back in each time (20 ms).
    releaseCompilerMemory();
  });
}

json Control::activateId(const std::string &id) {
  const VersionRegistry::Kept *loaded = versions_.find(id);
  if (!loaded)
    return failure(id.empty() ? "no previous version to roll back to"
                              : fmt::format("no version {} is kept (see 'versions')", id));
  std::shared_ptr<const Policy> policy = loaded->policy;
  activate(policy);
  spdlog::info("version {} ({}) is active again", policy->id(), policy->path());
  return json{{"ok", true}, {"version", describe(*versions_.find(policy->id()))}};
}

void Control::reload() {
  const std::string path = versions_.active()->policy->path();
  json answer = load(path);
  if (!answer["ok"].get<bool>())
    spdlog::error("SIGHUP: {}\n{}", answer["error"].get<std::string>(),
                  answer["diagnostics"].get<std::string>());
  reloadTls();
}

void Control::setTlsListeners(std::vector<std::shared_ptr<tls::ListenerContext>> listeners) {
  tlsListeners_ = std::move(listeners);
  if (!tlsListeners_.empty())
    rotateTicketKeysLater();
}

void Control::rotateTicketKeysLater() {
  ticketTimer_.expires_after(std::chrono::hours(12));
  ticketTimer_.async_wait([this](const error_code &ec) {
    if (ec)
      return;
    for (const auto &listener : tlsListeners_)
      listener->rotateTicketKeys();
    rotateTicketKeysLater();
  });
}

bool loadTlsListener(tls::ListenerContext &listener, std::string &error,
                     std::vector<std::string> &warnings) {
  bool loaded = listener.reload(error, warnings);
  for (const std::string &warning : warnings)
    spdlog::warn("TLS listener {}: {}", listener.address(), warning);
  return loaded;
}

json Control::reloadTls() {
  json listeners = json::array();
  std::string firstError;
  for (const auto &listener : tlsListeners_) {
    std::string error;
    std::vector<std::string> warnings;
    bool loaded = loadTlsListener(*listener, error, warnings);
    if (loaded) {
      spdlog::info("TLS listener {}: certificates reloaded", listener->address());
    } else {
      spdlog::error("TLS listener {}: {}; the certificates in use stay", listener->address(),
                    error);
      if (firstError.empty())
        firstError = listener->address() + ": " + error;
    }
    json entry{{"address", listener->address()}, {"ok", loaded}, {"warnings", warnings}};
    if (!loaded)
      entry["error"] = error;
    listeners.push_back(std::move(entry));
  }
  json answer{{"ok", firstError.empty()}, {"listeners", listeners}};
  if (!firstError.empty())
    answer["error"] = firstError;
  return answer;
}

json Control::versions() const {
  json list = json::array();
  for (const VersionRegistry::Kept &kept : versions_.kept())
    list.push_back(describe(kept));
  return json{{"ok", true},
              {"active", versions_.activeId()},
              {"previous", versions_.previousId()},
              {"versions", list}};
}

json Control::peers() const {
  json upstreams = json::array();
  const auto now = upstream::PeerStates::Clock::now();
  const auto &specs = versions_.active()->policy->upstreams();
  for (size_t u = 0; u < specs.size(); ++u) {
    const upstream::PeerStates &states = *versions_.active()->upstreams[u].peers;
    json peers = json::array();
    for (size_t p = 0; p < specs[u].peers.size(); ++p) {
      const upstream::PeerSpec &peer = specs[u].peers[p];
      json entry{{"address", peer.address},           {"weight", peer.weight},
                 {"healthy", states.healthy(p)},      {"drained", states.drained(p)},
                 {"ejected", states.ejected(p, now)}, {"ejections", states.ejections(p)}};
      if (states.ejected(p, now))
        entry["ejected_seconds_left"] =
            std::chrono::duration<double>(states.ejectedUntil(p) - now).count();
      peers.push_back(std::move(entry));
    }
    upstreams.push_back(json{{"name", specs[u].name}, {"peers", peers}});
  }
  return json{{"ok", true}, {"version", versions_.activeId()}, {"upstreams", upstreams}};
}

json Control::setDrained(const json &request, bool drained) {
  std::string name = request.value("upstream", ""), address = request.value("peer", "");
  const auto &specs = versions_.active()->policy->upstreams();
  for (size_t u = 0; u < specs.size(); ++u) {
    if (specs[u].name != name)
      continue;
    for (size_t p = 0; p < specs[u].peers.size(); ++p) {
      if (specs[u].peers[p].address != address)
        continue;
      versions_.active()->upstreams[u].peers->setDrained(p, drained);
      spdlog::info("upstream {} peer {} is {}", name, address, drained ? "drained" : "enabled");
      return json{{"ok", true}, {"upstream", name}, {"peer", address}, {"drained", drained}};
    }
    return failure(fmt::format("upstream {} has no peer {}", name, address));
  }
  return failure(fmt::format("the active version has no upstream '{}'", name));
}

json Control::stats() const {
  uint64_t requests = 0, idle = 0, tunnels = 0, tunnelsOpened = 0;
  for (const auto &worker : workers_) {
    requests += worker->requests();
    idle += worker->parked();
    tunnels += worker->tunnelsOpen();
    tunnelsOpened += worker->tunnelsOpened();
  }
  auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return json{{"ok", true},
              {"version", versions_.activeId()},
              {"workers", workers_.size()},
              {"connections", shared_.admission.connections()},
              {"connections_idle", idle},
              {"connections_refused", shared_.admission.refused()},
              {"requests", requests},
              {"tunnels", tunnels},
              {"tunnels_opened", tunnelsOpened},
              {"uptime_seconds", uptime},
              {"pid", ::getpid()}};
}

awaitable<std::unique_ptr<Control::Scraped>> Control::scrape() {
  // Each worker adds its counters on its own thread; those that have not within the time
  // (one stopping) are left out.
  struct Shared {
    std::mutex lock;
    Scraped scraped;
    size_t pending = 0;
    bool closed = false;
  };
  auto shared = std::make_shared<Shared>();
  std::shared_ptr<const PolicyVersion> version = versions_.active();
  shared->scraped.ruleHits.assign(version ? version->policy->rules().size() : 0, 0);
  shared->pending = workers_.size();
  for (const auto &worker : workers_)
    worker->snapshot(version,
                     [shared](const metrics::WorkerMetrics &counted, const uint64_t *hits) {
                       std::lock_guard hold(shared->lock);
                       if (shared->closed)
                         return;
                       shared->scraped.sum.add(counted);
                       if (hits)
                         for (size_t r = 0; r < shared->scraped.ruleHits.size(); ++r)
                           shared->scraped.ruleHits[r] += hits[r];
                       --shared->pending;
                     });
  Timer tick(context_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    {
      std::lock_guard hold(shared->lock);
      if (shared->pending == 0 || std::chrono::steady_clock::now() > deadline) {
        shared->closed = true;
        co_return std::make_unique<Scraped>(std::move(shared->scraped));
      }
    }
    tick.expires_after(std::chrono::microseconds(200));
    co_await tick.async_wait(asio::as_tuple(use_awaitable));
  }
}

awaitable<json> Control::answer(const json &request) {
  if (request.is_object() && request.contains("command") && request["command"].is_string()) {
    const std::string command = request["command"].get<std::string>();
    if (command == "rules" || command == "metrics" || command == "traffic") {
      std::unique_ptr<Scraped> scraped = co_await scrape();
      if (command == "rules")
        co_return rules(*scraped);
      if (command == "traffic")
        co_return traffic(*scraped);
      json text = json::object();
      text["ok"] = true;
      text["text"] = exposition(*scraped);
      co_return text;
    }
  }
  co_return handle(request);
}

json Control::handle(const json &request) {
  if (!request.is_object() || !request.contains("command") || !request["command"].is_string())
    return failure("a request is a JSON object with a \"command\"");
  const std::string command = request["command"].get<std::string>();
  try {
    if (command == "load") {
      std::string path = request.value("path", "");
      if (path.empty())
        return failure("load needs a \"path\"");
      return load(path);
    }
    if (command == "versions")
      return versions();
    if (command == "activate")
      return activateId(request.value("id", ""));
    if (command == "rollback")
      return activateId(request.value("id", versions_.previousId()));
    if (command == "peers")
      return peers();
    if (command == "drain" || command == "enable")
      return setDrained(request, command == "drain");
    if (command == "stats")
      return stats();
    if (command == "reload_tls")
      return reloadTls();
  } catch (const json::exception &e) {
    return failure(fmt::format("bad request: {}", e.what()));
  }
  return failure(
      fmt::format("unknown command '{}' (known: load, versions, activate, rollback, peers, drain, "
                  "enable, stats, rules, metrics, traffic, reload_tls)",
                  command));
}

bool Control::listen(const std::string &path, std::string &error) {
  struct stat info;
  if (::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode))
    ::unlink(path.c_str()); // a stale socket of an earlier run
  auto acceptor = std::make_unique<UnixAcceptor>(context_);
  error_code ec;
  acceptor->open(asio::local::stream_protocol(), ec);
  // Created owner-only: no moment in which another user could connect.
  mode_t previous = ::umask(0177);
  if (!ec)
    acceptor->bind(asio::local::stream_protocol::endpoint(path), ec);
  ::umask(previous);
  if (!ec)
    acceptor->listen(16, ec);
  if (ec) {
    error = fmt::format("cannot open the admin socket {}: {}", path, ec.message());
    return false;
  }
  ::chmod(path.c_str(), 0600);
  adminInode_ = ::lstat(path.c_str(), &info) == 0 ? info.st_ino : 0;
  admin_ = std::move(acceptor);
  adminPath_ = path;
  asio::co_spawn(context_,
                 acceptEach(*admin_, [this](auto socket) { return session(std::move(socket)); }),
                 asio::detached);
  return true;
}

awaitable<void> Control::untilInstalled() {
  Timer tick(context_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    bool all = true;
    for (const auto &worker : workers_)
      all = all && worker->installedGeneration() >= versions_.generation();
    if (all || std::chrono::steady_clock::now() > deadline)
      co_return;
    tick.expires_after(std::chrono::microseconds(200));
    co_await tick.async_wait(asio::as_tuple(use_awaitable));
  }
}

awaitable<void> Control::session(UnixSocket socket) {
  std::string buffer;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(
        socket, asio::dynamic_buffer(buffer, kMaxRequestLine), '\n', asio::as_tuple(use_awaitable));
    json answer;
    if (ec == asio::error::not_found) {
      answer = failure(fmt::format("a request line is at most {} bytes", kMaxRequestLine));
    } else if (ec) {
      co_return; // the client left
    } else {
      std::string line = buffer.substr(0, n);
      buffer.erase(0, n);
      json request = json::parse(line, nullptr, false);
      if (request.is_discarded())
        answer = failure("not JSON");
      else
        answer = co_await this->answer(request);
      if (answer.contains("version") && answer["version"].is_object())
        co_await untilInstalled(); // the answer means: new requests run it
    }
    std::string out = answer.dump() + "\n";
    auto [writeError, written] =
        co_await asio::async_write(socket, asio::buffer(out), asio::as_tuple(use_awaitable));
    if (writeError || ec)
      co_return;
  }
}

namespace {

// A TCP listener for the control plane's HTTP (the admin API, the metrics), on the main
// thread's context. Also bound by the process an upgrade replaces, until it exits.
std::unique_ptr<TcpAcceptor> openHttpListener(asio::io_context &context,
                                              const ListenAddress &address, const char *what,
                                              std::string &error) {
  auto acceptor = std::make_unique<TcpAcceptor>(context);
  error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
  if (!ec)
    acceptor->open(endpoint.protocol(), ec);
  if (!ec)
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  if (!ec)
    acceptor->bind(endpoint, ec);
  if (!ec)
    acceptor->listen(16, ec);
  if (ec) {
    error = fmt::format("cannot open the {} {}: {}", what, address.text, ec.message());
    return nullptr;
  }
  return acceptor;
}

} // namespace

bool Control::listenHttp(const ListenAddress &address, std::string token, std::string &error) {
  http_ = openHttpListener(context_, address, "admin HTTP listener", error);
  if (!http_)
    return false;
  token_ = std::move(token);
  asio::co_spawn(
      context_,
      acceptEach(*http_, [this](auto socket) { return httpSession(std::move(socket), false); }),
      asio::detached);
  return true;
}

bool Control::listenMetrics(const ListenAddress &address, std::string &error) {
  metrics_ = openHttpListener(context_, address, "metrics listener", error);
  if (!metrics_)
    return false;
  asio::co_spawn(
      context_,
      acceptEach(*metrics_, [this](auto socket) { return httpSession(std::move(socket), true); }),
      asio::detached);
  return true;
}

// One request per connection: the head, a body of at most kMaxRequestLine, the answer. At
// most kMaxHttpSessions at once, and the whole request within kHttpRequestTime: before
// it is authenticated, a client of this port is anyone on the machine.
awaitable<void> Control::httpSession(TcpSocket socket, bool metricsOnly) {
  if (httpSessions_ >= kMaxHttpSessions)
    co_return; // closed unanswered
  ++httpSessions_;
  struct Count {
    size_t &sessions;
    ~Count() { --sessions; }
  } count{httpSessions_};
  http1::Parser request(http1::Parser::Kind::Request);
  BufferPool buffers(16 * 1024);
  InputBuffer in(buffers);
  Watchdog dog(socket.get_executor());
  const auto deadline = std::chrono::steady_clock::now() + kHttpRequestTime;
  const Duration timeout = kHttpRequestTime;
  auto send = [&](int status, const char *type, std::string text) -> awaitable<void> {
    std::string out;
    http1::appendStatusLine(out, status);
    http1::appendField(out, "content-type", std::string_view(type));
    http1::appendField(out, "content-length", std::to_string(text.size()));
    if (status == 401)
      http1::appendField(out, "www-authenticate", "Bearer");
    http1::appendField(out, "connection", "close");
    http1::appendFieldsEnd(out);
    out += text;
    co_await writeAll(socket, out, dog, timeout);
  };
  auto reply = [&](int status, const json &body) -> awaitable<void> {
    co_await send(status, kJsonType, body.dump() + "\n");
  };
  while (!request.messageComplete() && !request.failed()) {
    auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    if (in.empty() &&
        (left <= Duration(0) || co_await readSome(socket, in, dog, left) != IoStatus::Ok))
      co_return;
    in.consume(request.feed(in.data(), in.size()));
    if (request.body().size() > kMaxRequestLine) {
      co_await reply(413, failure("a request body is at most 64 KiB"));
      co_return;
    }
  }
  if (request.failed()) {
    co_await reply(request.errorStatus(), failure(request.errorReason()));
    co_return;
  }
  const http1::Head &head = request.head();
  const bool metricsPage = head.method == "GET" && head.target == "/metrics";
  if (metricsOnly) {
    if (!metricsPage) {
      co_await send(404, kTextType, std::string("GET /metrics\n"));
      co_return;
    }
    std::unique_ptr<Scraped> scraped = co_await scrape();
    co_await send(200, metrics::Exposition::kContentType.data(), exposition(*scraped));
    co_return;
  }
  std::string authorization = route::joinedValue(head.fields, "authorization");
  std::string expected = "Bearer " + token_;
  if (authorization.size() != expected.size() ||
      CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) != 0) {
    co_await reply(401, failure("a bearer token is needed"));
    co_return;
  }
  if (metricsPage) {
    std::unique_ptr<Scraped> scraped = co_await scrape();
    co_await send(200, metrics::Exposition::kContentType.data(), exposition(*scraped));
    co_return;
  }
  json answer;
  if (head.method == "POST" && head.target == "/v1/admin") {
    json parsed = json::parse(request.body(), nullptr, false);
    if (parsed.is_discarded())
      answer = failure("not JSON");
    else
      answer = co_await this->answer(parsed);
  } else if (head.method == "GET" && (head.target == "/v1/versions" || head.target == "/v1/peers" ||
                                      head.target == "/v1/stats" || head.target == "/v1/rules")) {
    // Built before the co_await: GCC 12 cannot keep an initializer list across one.
    json command = json::object();
    command["command"] = head.target.substr(4);
    answer = co_await this->answer(command);
  } else {
    co_await reply(404, failure("POST /v1/admin, or GET /v1/versions, /v1/peers, /v1/stats, "
                                "/v1/rules, /metrics"));
    co_return;
  }
  if (answer.contains("version") && answer["version"].is_object())
    co_await untilInstalled();
  co_await reply(200, answer);
}

} // namespace turnout
