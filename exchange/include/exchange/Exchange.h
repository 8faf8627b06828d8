// One HTTP exchange as a policy sees it: the request, what goes upstream, the responses,
// and the policy's decision. It plays the host's part of route/abi.h (one host per binary),
// for the `turnout` proxy, which fills it from the wire phase by phase, and for `routec
// run`, `routec test` and the back ends' tests, which run it through the proxy's flow over
// a simulated origin (runtime/proxy/Simulation.h). It knows the ABI, the schema's ids and
// source positions, not the compiler.
#pragma once

#include "diagnostics/SourceManager.h"
#include "exchange/EditedHeaders.h"
#include "exchange/Grpc.h"
#include "exchange/HeaderList.h"
#include "route/abi.h"
#include "schema/Schema.h"

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
// response, whose header fields it reads in place, a policy's changes kept as edits
// (EditedHeaders) and applied as the fields go out (forEachField).
class DownstreamResponse {
public:
  int64_t status = 0;
  std::string body;

  DownstreamResponse() = default;
  // A response of the proxy's own, without header fields.
  DownstreamResponse(int64_t status, std::string body) : status(status), body(std::move(body)) {}

  // The fields, edits applied.
  const HeaderList &headers() const { return headers_.headers(); }
  EditedHeaders &changeHeaders() { return headers_; }
  // Calls fn(name, value) for each field as it goes downstream, in order.
  template <typename Fn> void forEachField(Fn fn) const { headers_.forEachField(fn); }
  // Becomes `upstream`: its status, and its header fields read in place (`upstream` must
  // outlive this response's use, and not change).
  void viewUpstream(const HttpResponse &upstream) {
    status = upstream.status;
    body.clear();
    headers_.view(upstream.headers);
  }

private:
  EditedHeaders headers_; // a copy owns its fields (the upstream it viewed is another's)
};

// A write the host refused because its value cannot go on the wire (route/abi.h): a
// run-time error of the statement that made it. That phase ended there; the exchange is
// answered 500, and nothing of what the policy wrote is sent.
struct Fault {
  std::string what;  // the variable and why: `resp.header["location"]: ... CR ...`
  SourceRange where; // the statement
  schema::Phase phase = schema::Phase::Request;
};

// "policy.route:12:5: run-time error in the response phase: resp.header[...] = ...: ..."
std::string describe(const Fault &fault, const SourceManager &sources);

struct Decision {
  enum class Kind { None, Respond, Redirect, Route, Retry } kind = Kind::None;
  int64_t status = 0;
  std::string body;     // Respond
  std::string location; // Redirect
  uint32_t upstream = 0;
  uint32_t rule = UINT32_MAX; // the rule (Program::rules) whose statement made it, if any
};

// Runs one phase handler of a policy on an exchange: the interpreter (which can also
// record the rules that fired) or the JIT.
using PhaseRunner = std::function<void(schema::Phase, RouteCtx *, std::vector<SourceRange> *trace)>;

// What a TLS handshake with the client settled, for the policy's tls.* variables.
struct TlsFacts {
  std::string version, cipher, sni, alpn;
  bool resumed = false;
  bool clientVerified = false; // a certificate was sent, and it chains to client_ca
  std::string clientSubject, clientIssuer, clientFingerprint;
};

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
  // The client connection's TLS (tls.*), the connection's: null without TLS.
  const TlsFacts *tls = nullptr;
  // What the origin answers when the request is routed, unless it fails with originError
  // ("connect_failed", "read_timeout", ...).
  HttpResponse origin{200, {}, ""};
  std::string originError;

  // Results, after run().
  Decision decision;
  std::vector<Decision> errorDecisions;
  // The request as it goes upstream (upstream.req): the client's request until the
  // upstream_request phase changes it. Its header fields are then read in place, the
  // changes kept as edits (EditedHeaders): a policy changes a field or two, and the header
  // strings are never copied. The client request, writable in the request phase only,
  // does not change under it (changeRequestHeaders guards the C++ callers).
  std::string_view upstreamMethod() const {
    return upstreamMethod_ ? *upstreamMethod_ : request.method;
  }
  std::string_view upstreamPath() const { return upstreamPath_ ? *upstreamPath_ : request.path; }
  std::string_view upstreamQuery() const {
    return upstreamQuery_ ? *upstreamQuery_ : request.query;
  }
  const HeaderList &upstreamHeaders() const {
    return upstreamHeadersChanged_ ? upstreamHeaders_.headers() : request.headers;
  }
  // Calls fn(name, value) for each field of upstream.req, in order.
  template <typename Fn> void forEachUpstreamField(Fn fn) const {
    if (upstreamHeadersChanged_) {
      upstreamHeaders_.forEachField(fn);
      return;
    }
    for (const auto &[name, value] : request.headers.fields())
      fn(name, value);
  }
  // upstream.req whole, as a request of its own (routec run, the tests).
  HttpRequest upstreamRequest() const;
  void setUpstreamMethod(std::string_view method) { upstreamMethod_ = method; }
  void setUpstreamPath(std::string_view path) { upstreamPath_ = path; }
  void setUpstreamQuery(std::string_view query) { upstreamQuery_ = query; }
  EditedHeaders &changeUpstreamHeaders() {
    if (!upstreamHeadersChanged_) {
      upstreamHeadersChanged_ = true;
      upstreamHeaders_.view(request.headers);
    }
    return upstreamHeaders_;
  }
  // The client request's fields, to change: upstream.req stops reading them first.
  HeaderList &changeRequestHeaders() {
    upstreamHeaders_.detach();
    return request.headers;
  }
  // The upstream response's fields, to change: the response stops reading them first.
  HeaderList &changeUpstreamResponseHeaders() {
    response.changeHeaders().detach();
    return upstreamResponse.headers;
  }
  std::string upstreamName, upstreamPeer;
  std::string upstreamProtocol; // "HTTP/1.1", "HTTP/2"; "" while unknown
  // What the client asked to switch to (req.upgrade): "websocket", ...; "" for nothing.
  // The tunnel the proxy asks the peer for, when it honours the upgrade (server config
  // `upgrades`): the same protocol; "" otherwise.
  std::string upgrade, tunnel;
  // A gRPC call's form, by its content-type (set as the flow starts), and the status it
  // ended with (-1: none).
  grpc::Wire grpc = grpc::Wire::None;
  int64_t grpcStatus = -1;
  int64_t upstreamAttempt = 0;
  HttpResponse upstreamResponse;
  DownstreamResponse response;
  int64_t responseBytes = 0; // body bytes sent downstream (resp.bytes)
  int64_t requestBytes = 0;  // body bytes read from the client
  int64_t durationNs = 0;    // first request byte to last response byte (req.duration)
  // The last attempt's time from its request head sent to the response head read; -1
  // without one.
  int64_t upstreamFirstByteNs = -1;
  int64_t errorStatus = 0;
  std::string errorKind, errorMessage;
  std::vector<SourceRange> trace;
  std::optional<Fault> fault; // the first refused write, if any
  // Where the rules that fire (route_rule_hit) are counted, by rule number, when set: the
  // serving worker's counters of the policy version, which only that worker touches.
  uint64_t *ruleHits = nullptr;
  uint32_t lastRule = UINT32_MAX; // the rule that fired last
  // The W3C trace context this exchange is part of (trace/TraceContext.h): its trace id,
  // 32 lowercase hex digits (req.trace_id), "" until the flow sets it.
  std::string traceId;
  // What the log phase added to the access log line (log.field).
  HeaderList logFields;

  // The answer to an exchange whose policy faulted: 500, the policy's own headers gone.
  void answerFault();

  // Runs `fn(RouteCtx *)` with a context over the exchange as it is (its values in a fresh
  // arena): to evaluate an expression of the policy's over it, such as a test's `expect` or
  // a balancing key. No allocation: a key is evaluated per request.
  template <typename Fn> void evaluate(Fn &&fn) {
    using F = std::remove_reference_t<Fn>;
    evaluate([](RouteCtx *ctx, void *f) { (*static_cast<F *>(f))(ctx); }, static_cast<void *>(&fn));
  }
  void evaluate(void (*fn)(RouteCtx *, void *), void *data);

  // Runs one phase alone on the exchange as it is, e.g. to time a policy's request phase.
  void runPhase(const PhaseRunner &policy, schema::Phase phase);
  // Runs the error phase, recording its decision as the next of errorDecisions.
  const Decision &runErrorPhase(const PhaseRunner &policy);

  // Sets the response to what a respond or redirect decision says.
  void answer(const Decision &d);
  // The phase running, or that ran last.
  schema::Phase currentPhase() const { return phase_; }

private:
  friend struct ::RouteCtx;

  // Where route_respond() and friends record: the decision, or the error phase's.
  Decision &recording() { return inErrorPhase_ ? errorDecisions.back() : decision; }

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
  std::optional<std::string> upstreamMethod_, upstreamPath_, upstreamQuery_; // upstream.req's own
  EditedHeaders upstreamHeaders_; // over request.headers, once changed
  bool upstreamHeadersChanged_ = false;
  bool inErrorPhase_ = false;                    // running the error phase
  schema::Phase phase_ = schema::Phase::Request; // the phase running, for a fault's record
};

// Where two runs of the same exchange ended differently (the decision, the response, the
// request and what went upstream), or "" when they agree: how the JIT is held to the
// interpreter.
std::string difference(const Exchange &interpreted, const Exchange &compiled);

} // namespace route
