// One HTTP exchange as a policy sees it: the request, what goes upstream, the responses,
// and the policy's decision. It plays the host's part of route/abi.h (one host per binary),
// for the `turnout` proxy, which fills it from the wire phase by phase, and for `routec
// run`, `routec test` and the differential tests, which simulate the origin with run().
#pragma once

#include "exchange/HeaderList.h"
#include "interp/Interpreter.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace route {

struct HttpRequest {
  std::string method = "GET";
  std::string scheme = "http";
  std::string host;
  std::string path = "/";
  std::string query;
  std::string version = "HTTP/1.1";
  HeaderList headers;
};

struct HttpResponse {
  int64_t status = 0;
  HeaderList headers;
  std::string body;
};

// The response as it goes downstream (resp). After a routed request it is the upstream's
// response, whose header fields it reads in place: a policy's assignments and deletions
// are kept as edits over them (setHeader, removeHeader) and applied as the fields go out
// (forEachField), so the header strings are never copied. Edits give the same fields as
// HeaderList's set and remove on a copy would.
class DownstreamResponse {
public:
  int64_t status = 0;
  std::string body;

  DownstreamResponse() = default;
  // A response of the proxy's own, without header fields.
  DownstreamResponse(int64_t status, std::string body) : status(status), body(std::move(body)) {}
  // A copy reads its own fields: the upstream response it viewed belongs to another.
  DownstreamResponse(const DownstreamResponse &other)
      : status(other.status), body(other.body), own_(other.headers()) {}
  DownstreamResponse &operator=(const DownstreamResponse &other) {
    if (this != &other) {
      HeaderList fields = other.headers();
      status = other.status;
      body = other.body;
      dropView();
      own_ = std::move(fields);
    }
    return *this;
  }

  // The fields, edits applied (built once when a policy reads them after an edit).
  const HeaderList &headers() const;
  // As HeaderList's set and remove, without copying a viewed upstream's fields.
  void setHeader(std::string_view name, std::string_view value);
  void removeHeader(std::string_view name);
  // Calls fn(name, value) for each field as it goes downstream, in order.
  template <typename Fn> void forEachField(Fn fn) const {
    if (!upstream_) {
      for (const auto &[name, value] : own_.fields())
        fn(name, value);
      return;
    }
    const HeaderFields &fields = upstream_->fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      size_t e = edits_.empty() ? 0 : editOf(fields[i].first);
      if (e == edits_.size())
        fn(fields[i].first, fields[i].second);
      else if (edits_[e].value && edits_[e].at == i)
        fn(edits_[e].name, *edits_[e].value);
    }
    for (const auto &[name, value] : added_.fields())
      fn(name, value);
  }
  // Becomes `upstream`: its status, and its header fields read in place (`upstream` must
  // outlive this response's use, and not change).
  void viewUpstream(const HttpResponse &upstream) {
    status = upstream.status;
    body.clear();
    own_ = {};
    dropView();
    upstream_ = &upstream.headers;
  }

private:
  // An edit of a viewed upstream field: its fields of this name are replaced by one, at
  // the place of the first (index `at`), or removed when there is no value.
  struct Edit {
    std::string name;
    std::optional<std::string> value;
    size_t at = 0;
  };
  size_t editOf(std::string_view name) const; // edits_.size() when there is none
  void dropView();

  HeaderList own_;
  const HeaderList *upstream_ = nullptr;
  std::vector<Edit> edits_;             // over upstream_'s fields
  HeaderList added_;                    // after upstream_'s fields
  mutable std::optional<HeaderList> applied_; // headers() after edits
};

struct Decision {
  enum class Kind { None, Respond, Redirect, Route, Retry } kind = Kind::None;
  int64_t status = 0;
  std::string body;     // Respond
  std::string location; // Redirect
  uint32_t upstream = 0;
};

// Runs one phase handler of a policy on an exchange: the interpreter (which can also
// record the rules that fired) or the JIT.
using PhaseRunner =
    std::function<void(schema::Phase, RouteCtx *, std::vector<SourceRange> *trace)>;

PhaseRunner interpreted(const Interpreter &interpreter);

class Exchange {
public:
  // A simulated exchange (routec run and test): a GET of / from 192.0.2.1, answered 200.
  Exchange() = default;
  // An exchange the proxy fills from the wire, so without the simulation's defaults (their
  // strings cost a request), whose phases build their values in `phaseArena`, borrowed: a
  // worker's, shared by its exchanges since their phases never interleave.
  explicit Exchange(RouteArena *phaseArena)
      : request{{}, {}, {}, {}, {}, {}, {}}, requestId(), clientIp(), serverIp(), origin(),
        arena_(phaseArena) {}

  // Parses "http://host:port/path?query" into the request; false when it is not an
  // absolute http(s) URL.
  bool setUrl(std::string_view url);

  HttpRequest request;
  std::string requestId = "simulated-1";
  std::string clientIp = "192.0.2.1";
  int64_t clientPort = 40000;
  std::string serverIp = "127.0.0.1";
  int64_t serverPort = 6188;
  // What the origin answers when the request is routed, unless it fails with originError
  // ("connect_failed", "read_timeout", ...).
  HttpResponse origin{200, {}, ""};
  std::string originError;

  // Results, after run().
  Decision decision;
  std::vector<Decision> errorDecisions;
  // The request as it goes upstream (upstream.req): the client's request until the
  // upstream_request phase changes it. The copy is made at the first change: most
  // policies make none, and a request's header strings are then never copied.
  const HttpRequest &upstreamRequest() const { return upstreamRequest_ ? *upstreamRequest_ : request; }
  HttpRequest &changeUpstreamRequest() {
    if (!upstreamRequest_)
      upstreamRequest_ = request;
    return *upstreamRequest_;
  }
  std::string upstreamName, upstreamPeer;
  int64_t upstreamAttempt = 0;
  HttpResponse upstreamResponse;
  DownstreamResponse response;
  int64_t responseBytes = 0; // body bytes sent downstream (resp.bytes)
  int64_t durationNs = 0;    // first request byte to last response byte (req.duration)
  int64_t errorStatus = 0;
  std::string errorKind, errorMessage;
  std::vector<SourceRange> trace;

  // Runs the phases as the proxy would: request; then upstream_request, the origin's
  // answer or error (and the error phase), upstream_response when routed; response; log.
  void run(const Program &program, const PhaseRunner &policy);
  void run(const Program &program, const Interpreter &interpreter) {
    run(program, interpreted(interpreter));
  }
  // Evaluates a bool expression over the exchange as run() left it (a test's `expect`).
  bool check(const Interpreter &interpreter, const ast::Expr &condition);
  // Evaluates an upstream's balancing key over the exchange as it is.
  std::string balanceKey(const Interpreter &interpreter, const ast::Expr &key);

  // Runs one phase alone on the exchange as it is, e.g. to time a policy's request phase.
  void runPhase(const PhaseRunner &policy, schema::Phase phase);
  // Runs the error phase, recording its decision as the next of errorDecisions.
  const Decision &runErrorPhase(const PhaseRunner &policy);

  // Sets the response to what a respond or redirect decision says.
  void answer(const Decision &d);

private:
  friend struct ::RouteCtx;

  // The memory of one phase's values, reused phase after phase: the exchange's own, or a
  // borrowed one. A copied exchange gets an arena of its own.
  struct Arena {
    RouteArena *arena = route_arena_create();
    bool owned = true;
    Arena() = default;
    explicit Arena(RouteArena *borrowed) : arena(borrowed), owned(false) {}
    Arena(const Arena &) : Arena() {}
    Arena &operator=(const Arena &) { return *this; }
    ~Arena() {
      if (owned)
        route_arena_destroy(arena);
    }
  };
  Arena arena_;
  std::optional<HttpRequest> upstreamRequest_;
  Decision *current_ = &decision; // where route_respond() and friends record
};

// Where two runs of the same exchange ended differently (the decision, the response, the
// request and what went upstream), or "" when they agree: how the JIT is held to the
// interpreter.
std::string difference(const Exchange &interpreted, const Exchange &compiled);

} // namespace route
