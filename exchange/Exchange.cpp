#include "exchange/Exchange.h"

#include "exchange/WireSyntax.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <utility>

// The host's side of route/abi.h: the context is the exchange and its arena.
struct RouteCtx {
  route::Exchange *exchange;
  RouteArena *arena;
  // Where route_respond() and friends record.
  route::Decision &decision() { return exchange->recording(); }
};

namespace route {

namespace {

std::string_view view(RouteStr s) {
  return {s.data ? s.data : "", static_cast<size_t>(s.size)};
}

RouteStr inArena(RouteCtx *ctx, std::string_view text) {
  char *out = route_arena_alloc(ctx->arena, text.size());
  if (!text.empty())
    std::memcpy(out, text.data(), text.size());
  return {out, text.size()};
}

std::string cookie(const HeaderList &headers, std::string_view name) {
  std::string all = headers.get("cookie");
  std::string_view rest = all;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name)
      return std::string(pair.substr(equals + 1));
    if (end == std::string_view::npos)
      break;
    rest.remove_prefix(end + 1);
  }
  return "";
}

using V = schema::VariableId;

V variableOf(uint32_t index) {
  return static_cast<V>(index);
}

} // namespace

bool Exchange::setUrl(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return false;
  request.scheme = std::string(url.substr(0, scheme));
  if (request.scheme != "http" && request.scheme != "https")
    return false;
  std::string_view rest = url.substr(scheme + 3);
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (authority.empty())
    return false;
  request.headers.set("host", authority);
  // req.host is the authority without its port, lowercased.
  std::string_view host = authority;
  if (host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  request.host.clear();
  for (char c : host)
    request.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (request.path.empty())
    request.path = "/";
  request.query =
      question == std::string_view::npos ? "" : std::string(target.substr(question + 1));
  return true;
}

void Exchange::runPhase(const PhaseRunner &policy, schema::Phase phase) {
  phase_ = phase;
  route_arena_reset(arena_.arena);
  RouteCtx ctx{this, arena_.arena};
  policy(phase, &ctx, &trace);
}

void Exchange::evaluate(void (*fn)(RouteCtx *, void *), void *data) {
  route_arena_reset(arena_.arena);
  RouteCtx ctx{this, arena_.arena};
  fn(&ctx, data);
}

const Decision &Exchange::runErrorPhase(const PhaseRunner &policy) {
  Decision &onError = errorDecisions.emplace_back();
  inErrorPhase_ = true;
  runPhase(policy, schema::Phase::Error);
  inErrorPhase_ = false;
  return onError;
}

HttpRequest Exchange::upstreamRequest() const {
  HttpRequest r = request;
  r.method = upstreamMethod();
  r.path = upstreamPath();
  r.query = upstreamQuery();
  r.headers = upstreamHeaders();
  return r;
}

std::string describe(const Fault &fault, const SourceManager &sources) {
  std::string where = "?";
  if (fault.where.valid()) {
    LineColumn lc = sources.lineColumn(fault.where.file, fault.where.begin);
    where = fmt::format("{}:{}:{}", sources.path(fault.where.file), lc.line, lc.column);
  }
  return fmt::format("{}: run-time error in the {} phase: {}", where,
                     schema::phase(fault.phase).name, fault.what);
}

void Exchange::answerFault() {
  response = {500, "internal server error\n"};
}

void Exchange::answer(const Decision &d) {
  response = {d.status, d.kind == Decision::Kind::Redirect ? "" : d.body};
  if (d.kind == Decision::Kind::Redirect)
    response.changeHeaders().set("location", d.location);
}

namespace {
std::string text(const HeaderList &headers) {
  std::string out;
  for (const auto &[name, value] : headers.fields())
    out += name + ": " + value + "; ";
  return out;
}

std::string text(const Decision &d) {
  const char *kinds[] = {"none", "respond", "redirect", "route", "retry"};
  return std::string(kinds[static_cast<int>(d.kind)]) + " " + std::to_string(d.status) + " " +
         d.body + " " + d.location + " " + std::to_string(d.upstream);
}

std::string text(const HttpRequest &r) {
  return r.method + " " + r.scheme + "://" + r.host + r.path + "?" + r.query + " " +
         text(r.headers);
}
} // namespace

std::string difference(const Exchange &a, const Exchange &b) {
  std::vector<std::pair<const char *, std::pair<std::string, std::string>>> parts = {
      {"decision", {text(a.decision), text(b.decision)}},
      {"response status", {std::to_string(a.response.status), std::to_string(b.response.status)}},
      {"response headers", {text(a.response.headers()), text(b.response.headers())}},
      {"response body", {a.response.body, b.response.body}},
      {"request", {text(a.request), text(b.request)}},
      {"upstream request", {text(a.upstreamRequest()), text(b.upstreamRequest())}},
      {"upstream response headers",
       {text(a.upstreamResponse.headers), text(b.upstreamResponse.headers)}},
      {"error status", {std::to_string(a.errorStatus), std::to_string(b.errorStatus)}},
      {"error decisions",
       {std::to_string(a.errorDecisions.size()), std::to_string(b.errorDecisions.size())}},
      {"fault", {a.fault ? a.fault->what : "", b.fault ? b.fault->what : ""}},
  };
  for (const auto &[what, values] : parts)
    if (values.first != values.second)
      return std::string(what) + ": interpreter [" + values.first + "], JIT [" + values.second +
             "]";
  return "";
}

} // namespace route

using route::Exchange;
using route::V;

// The header fields `variable` names, to read.
static const route::HeaderList *headersOf(const Exchange &x, uint32_t variable) {
  switch (route::variableOf(variable)) {
  case V::ReqHeader:
    return &x.request.headers;
  case V::UpstreamReqHeader:
    return &x.upstreamHeaders();
  case V::UpstreamRespHeader:
    return &x.upstreamResponse.headers;
  case V::RespHeader:
    return &x.response.headers();
  case V::LogField:
    return &x.logFields;
  default:
    return nullptr;
  }
}

// Changes the header fields `variable` names by `change(fields)` (a HeaderList or the
// EditedHeaders of one that others' fields are read through).
template <typename Change>
static void changeHeaders(Exchange &x, uint32_t variable, Change change) {
  switch (route::variableOf(variable)) {
  case V::ReqHeader:
    change(x.changeRequestHeaders());
    break;
  case V::UpstreamReqHeader:
    change(x.changeUpstreamHeaders());
    break;
  case V::UpstreamRespHeader:
    change(x.changeUpstreamResponseHeaders());
    break;
  case V::LogField:
    change(x.logFields);
    break;
  case V::RespHeader:
    change(x.response.changeHeaders());
    break;
  default:
    break;
  }
}

extern "C" {

RouteArena *route_ctx_arena(RouteCtx *ctx) {
  return ctx->arena;
}

RouteStr route_get_str(RouteCtx *ctx, uint32_t variable) {
  Exchange &x = *ctx->exchange;
  switch (route::variableOf(variable)) {
  case V::ReqTraceId:
    return route::inArena(ctx, x.traceId);
  case V::ReqId:
    return route::inArena(ctx, x.requestId);
  case V::ReqMethod:
    return route::inArena(ctx, x.request.method);
  case V::ReqScheme:
    return route::inArena(ctx, x.request.scheme);
  case V::ReqVersion:
    return route::inArena(ctx, x.request.version);
  case V::ReqHost:
    return route::inArena(ctx, x.request.host);
  case V::ReqPath:
    return route::inArena(ctx, x.request.path);
  case V::ReqQuery:
    return route::inArena(ctx, x.request.query);
  case V::UpstreamName:
    return route::inArena(ctx, x.upstreamName);
  case V::UpstreamPeer:
    return route::inArena(ctx, x.upstreamPeer);
  case V::UpstreamProtocol:
    return route::inArena(ctx, x.upstreamProtocol);
  case V::ReqUpgrade:
    return route::inArena(ctx, x.upgrade);
  case V::GrpcService:
  case V::GrpcMethod: {
    std::optional<route::grpc::Call> call;
    if (x.grpc != route::grpc::Wire::None)
      call = route::grpc::callOf(x.request.path);
    if (!call)
      return {"", 0};
    return route::inArena(ctx, route::variableOf(variable) == V::GrpcService ? call->service
                                                                             : call->method);
  }
  case V::UpstreamReqMethod:
    return route::inArena(ctx, x.upstreamMethod());
  case V::UpstreamReqPath:
    return route::inArena(ctx, x.upstreamPath());
  case V::UpstreamReqQuery:
    return route::inArena(ctx, x.upstreamQuery());
  case V::ErrorKind:
    return route::inArena(ctx, x.errorKind);
  case V::ErrorMessage:
    return route::inArena(ctx, x.errorMessage);
  case V::TlsVersion:
    return x.tls ? route::inArena(ctx, x.tls->version) : RouteStr{"", 0};
  case V::TlsCipher:
    return x.tls ? route::inArena(ctx, x.tls->cipher) : RouteStr{"", 0};
  case V::TlsSni:
    return x.tls ? route::inArena(ctx, x.tls->sni) : RouteStr{"", 0};
  case V::TlsAlpn:
    return x.tls ? route::inArena(ctx, x.tls->alpn) : RouteStr{"", 0};
  case V::TlsClientSubject:
    return x.tls ? route::inArena(ctx, x.tls->clientSubject) : RouteStr{"", 0};
  case V::TlsClientIssuer:
    return x.tls ? route::inArena(ctx, x.tls->clientIssuer) : RouteStr{"", 0};
  case V::TlsClientFingerprint:
    return x.tls ? route::inArena(ctx, x.tls->clientFingerprint) : RouteStr{"", 0};
  default:
    return {"", 0};
  }
}

int64_t route_get_int(RouteCtx *ctx, uint32_t variable) {
  Exchange &x = *ctx->exchange;
  switch (route::variableOf(variable)) {
  case V::ClientPort:
    return x.clientPort;
  case V::ServerPort:
    return x.serverPort;
  case V::UpstreamAttempt:
    return x.upstreamAttempt;
  case V::UpstreamRespStatus:
    return x.upstreamResponse.status;
  case V::RespStatus:
    return x.response.status;
  case V::RespBytes:
    return x.responseBytes;
  case V::ReqDuration:
    return x.durationNs;
  case V::ErrorStatus:
    return x.errorStatus;
  case V::GrpcStatus:
    return x.grpcStatus;
  case V::TlsResumed:
    return x.tls && x.tls->resumed;
  case V::TlsClientVerified:
    return x.tls && x.tls->clientVerified;
  default:
    return 0;
  }
}

RouteIp route_get_ip(RouteCtx *ctx, uint32_t variable) {
  Exchange &x = *ctx->exchange;
  const std::string &text = route::variableOf(variable) == V::ServerIp ? x.serverIp : x.clientIp;
  return route_ParseIp({text.data(), text.size()});
}

// Records why a write was refused (the first refusal of the exchange stands) and returns
// nonzero for the caller to end the phase (route/abi.h).
static int refuse(RouteCtx *ctx, std::string what) {
  Exchange &x = *ctx->exchange;
  if (!x.fault)
    x.fault = route::Fault{std::move(what), {}, x.currentPhase()};
  return 1;
}

static const char *nameOf(uint32_t variable) {
  return route::schema::variables()[variable].name;
}

// What a policy may write into a request line or a head, or why not ("" when it may).
static std::string wireProblem(V variable, std::string_view text) {
  switch (variable) {
  case V::ReqMethod:
  case V::UpstreamReqMethod:
    return route::wire::isToken(text) ? ""
                                      : "a method is a token: letters, digits and !#$%&'*+-.^_`|~";
  case V::ReqPath:
  case V::UpstreamReqPath:
  case V::ReqQuery:
  case V::UpstreamReqQuery:
    return route::wire::isTargetPart(text)
               ? ""
               : "a request target cannot hold a space, '#' or a control character";
  default:
    return "";
  }
}

// How a refused value is shown: quoted, escaped, and cut after 64 bytes.
static std::string shown(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 64)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out + (text.size() > 64 ? "\"..." : "\"");
}

int route_set_str(RouteCtx *ctx, uint32_t variable, RouteStr value) {
  Exchange &x = *ctx->exchange;
  if (std::string problem = wireProblem(route::variableOf(variable), route::view(value));
      !problem.empty())
    return refuse(ctx,
                  fmt::format("{} = {}: {}", nameOf(variable), shown(route::view(value)), problem));
  std::string text(route::view(value));
  switch (route::variableOf(variable)) {
  case V::ReqMethod:
    x.request.method = text;
    break;
  case V::ReqHost:
    x.request.host = text;
    break;
  case V::ReqPath:
    x.request.path = text;
    break;
  case V::ReqQuery:
    x.request.query = text;
    break;
  case V::UpstreamReqMethod:
    x.setUpstreamMethod(text);
    break;
  case V::UpstreamReqPath:
    x.setUpstreamPath(text);
    break;
  case V::UpstreamReqQuery:
    x.setUpstreamQuery(text);
    break;
  default:
    break;
  }
  return 0;
}

int route_set_int(RouteCtx *ctx, uint32_t variable, int64_t value) {
  Exchange &x = *ctx->exchange;
  V id = route::variableOf(variable);
  if ((id == V::UpstreamRespStatus || id == V::RespStatus || id == V::ErrorStatus) &&
      !route::wire::isFinalStatus(value))
    return refuse(ctx,
                  fmt::format("{} = {}: a status is from 200 to 599", nameOf(variable), value));
  switch (id) {
  case V::UpstreamRespStatus:
    x.upstreamResponse.status = value;
    break;
  case V::RespStatus:
    x.response.status = value;
    break;
  case V::ErrorStatus:
    x.errorStatus = value;
    break;
  default:
    break;
  }
  return 0;
}

RouteStr route_field_get(RouteCtx *ctx, uint32_t variable, RouteStr name) {
  Exchange &x = *ctx->exchange;
  std::string_view key = route::view(name);
  if (route::variableOf(variable) == V::ReqCookie)
    return route::inArena(ctx, route::cookie(x.request.headers, key));
  if (route::variableOf(variable) == V::ReqArg)
    return route_QueryParam(ctx->arena, {x.request.query.data(), x.request.query.size()}, name);
  const route::HeaderList *headers = headersOf(x, variable);
  return headers ? route::inArena(ctx, headers->get(key)) : RouteStr{"", 0};
}

int route_field_has(RouteCtx *ctx, uint32_t variable, RouteStr name) {
  Exchange &x = *ctx->exchange;
  std::string_view key = route::view(name);
  if (route::variableOf(variable) == V::ReqCookie) {
    std::string all = x.request.headers.get("cookie");
    return ("; " + all).find("; " + std::string(key) + "=") != std::string::npos;
  }
  if (route::variableOf(variable) == V::ReqArg) {
    std::string query = "&" + x.request.query + "&";
    return query.find("&" + std::string(key) + "=") != std::string::npos ||
           query.find("&" + std::string(key) + "&") != std::string::npos;
  }
  const route::HeaderList *headers = headersOf(x, variable);
  return headers && headers->has(key);
}

int route_field_set(RouteCtx *ctx, uint32_t variable, RouteStr name, RouteStr value) {
  if (!route::wire::isToken(route::view(name)))
    return refuse(
        ctx, fmt::format("{}[{}]: a header name is a token: letters, digits and !#$%&'*+-.^_`|~",
                         nameOf(variable), shown(route::view(name))));
  if (!route::wire::isFieldValue(route::view(value)))
    return refuse(
        ctx, fmt::format("{}[{}] = {}: a header value cannot hold CR, LF, NUL or another control "
                         "character but tab",
                         nameOf(variable), shown(route::view(name)), shown(route::view(value))));
  changeHeaders(*ctx->exchange, variable,
                [&](auto &fields) { fields.set(route::view(name), route::view(value)); });
  return 0;
}

void route_field_delete(RouteCtx *ctx, uint32_t variable, RouteStr name) {
  changeHeaders(*ctx->exchange, variable, [&](auto &fields) { fields.remove(route::view(name)); });
}

int route_respond(RouteCtx *ctx, int64_t status, RouteStr body) {
  if (!route::wire::isFinalStatus(status))
    return refuse(ctx, fmt::format("respond {}: a status is from 200 to 599", status));
  route::Decision &d = ctx->decision();
  d = {route::Decision::Kind::Respond, status, std::string(route::view(body)), "", 0,
       ctx->exchange->lastRule};
  return 0;
}

int route_redirect(RouteCtx *ctx, int64_t status, RouteStr location) {
  if (status < 300 || status > 399)
    return refuse(ctx, fmt::format("redirect {}: a redirect's status is from 300 to 399", status));
  if (!route::wire::isFieldValue(route::view(location)))
    return refuse(
        ctx, fmt::format("redirect to {}: a Location cannot hold CR, LF, NUL or another control "
                         "character but tab",
                         shown(route::view(location))));
  route::Decision &d = ctx->decision();
  d = {route::Decision::Kind::Redirect,    status, "",
       std::string(route::view(location)), 0,      ctx->exchange->lastRule};
  return 0;
}

void route_fault(RouteCtx *ctx, uint32_t file, uint32_t offset) {
  Exchange &x = *ctx->exchange;
  if (x.fault && !x.fault->where.valid())
    x.fault->where = {file, offset, offset};
}

void route_route(RouteCtx *ctx, uint32_t upstream) {
  route::Decision &d = ctx->decision();
  d = {route::Decision::Kind::Route, 0, "", "", upstream, ctx->exchange->lastRule};
}

void route_retry(RouteCtx *ctx) {
  route::Decision &d = ctx->decision();
  d = {route::Decision::Kind::Retry, 0, "", "", 0, ctx->exchange->lastRule};
}

void route_rule_hit(RouteCtx *ctx, uint32_t rule) {
  Exchange &x = *ctx->exchange;
  x.lastRule = rule;
  if (x.ruleHits)
    ++x.ruleHits[rule];
}

} // extern "C"
