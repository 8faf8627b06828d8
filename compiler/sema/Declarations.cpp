#include "CheckerImpl.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

namespace route::sema {

namespace {

Context constantContext(FileId file) {
  Context c;
  c.kind = Context::Kind::Constant;
  c.file = file;
  return c;
}

bool isHostname(std::string_view host) {
  if (host.empty() || host.size() > 253)
    return false;
  for (unsigned char c : host)
    if (!std::isalnum(c) && c != '-' && c != '.')
      return false;
  return host.front() != '-' && host.front() != '.';
}

// "host:port" or "[v6]:port"; returns an error message, or "" when it parses.
std::string parseServer(std::string_view text, ast::ServerSpec &out) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return "an IPv6 server is written \"[address]:port\"";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    unsigned char buffer[16];
    if (inet_pton(AF_INET6, std::string(host).c_str(), buffer) != 1)
      return fmt::format("'{}' is not a valid IPv6 address", host);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return "a server needs a port: \"host:port\"";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return "an IPv6 server is written \"[address]:port\"";
    if (!isHostname(host))
      return fmt::format("'{}' is not a valid host name or address", host);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return fmt::format("'{}' is not a port from 1 to 65535", port);
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  return "";
}

} // namespace

void Checker::checkDeclaration(ast::Decl &decl) {
  switch (decl.kind) {
  case ast::DeclKind::Import:
    break;
  case ast::DeclKind::Upstream:
    checkUpstream(ast::as<ast::UpstreamDecl>(decl));
    break;
  case ast::DeclKind::Acl:
    checkAcl(ast::as<ast::AclDecl>(decl));
    break;
  case ast::DeclKind::Map:
    checkMap(ast::as<ast::MapDecl>(decl));
    break;
  case ast::DeclKind::Const:
    checkConst(ast::as<ast::ConstDecl>(decl));
    break;
  case ast::DeclKind::Func:
    checkFunction(ast::as<ast::FuncDecl>(decl));
    break;
  case ast::DeclKind::Phase:
    checkPhase(ast::as<ast::PhaseDecl>(decl));
    break;
  case ast::DeclKind::Test:
    checkTest(ast::as<ast::TestDecl>(decl));
    break;
  }
}

// ------------------------------------------------------------------------ constant values

template <typename T>
std::optional<T> Checker::constant(ast::Expr &e, const Type *type, const char *what) {
  if (!expectType(e, type, what))
    return std::nullopt;
  ConstValue v = evaluate(e);
  if (auto *value = std::get_if<T>(&v.value))
    return *value;
  diags_.error("not-constant", e.range, fmt::format("{} must be a constant", what));
  return std::nullopt;
}

std::optional<int64_t> Checker::constInt(ast::Expr &e, const char *what, int64_t min, int64_t max) {
  std::optional<int64_t> value = constant<int64_t>(e, types().integer(), what);
  if (value && (*value < min || *value > max)) {
    diags_.error("out-of-range", e.range,
                 fmt::format("{} must be from {} to {}, not {}", what, min, max, *value));
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> Checker::constDuration(ast::Expr &e, const char *what) {
  std::optional<int64_t> value = constant<int64_t>(e, types().get(TypeKind::Duration), what);
  if (value && *value <= 0) {
    diags_.error("out-of-range", e.range, fmt::format("{} must be longer than 0s", what));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Checker::constString(ast::Expr &e, const char *what) {
  return constant<std::string>(e, types().string(), what);
}

std::optional<bool> Checker::constBool(ast::Expr &e, const char *what) {
  return constant<bool>(e, types().boolean(), what);
}

// ------------------------------------------------------------------------------ upstreams

void Checker::checkUpstream(ast::UpstreamDecl &decl) {
  ContextSwitch scope(*this, constantContext(decl.range.file));
  static const std::vector<std::string> settings = [] {
    std::vector<std::string> names;
    for (const schema::UpstreamSettingInfo &setting : schema::upstreamSettings())
      names.push_back(setting.name);
    return names;
  }();
  ast::UpstreamConfig &config = decl.config;
  std::map<std::string, const ast::UpstreamProperty *> seen;
  for (ast::UpstreamProperty &property : decl.properties) {
    auto [it, inserted] = seen.try_emplace(property.name, &property);
    if (!inserted) {
      diags_
          .error("duplicate", property.nameRange,
                 fmt::format("'{}' is set twice in upstream '{}'", property.name, decl.name))
          .withNote(it->second->nameRange, "first set here");
      continue;
    }
    ast::Expr &value = *property.value;
    const std::string &name = property.name;
    if (name == "servers") {
      checkServers(decl, value);
    } else if (name == "balance") {
      checkBalance(decl, value);
    } else if (name == "connect_timeout" || name == "read_timeout" || name == "write_timeout" ||
               name == "total_timeout" || name == "idle_timeout") {
      std::string what = "'" + name + "'";
      if (auto ns = constDuration(value, what.c_str())) {
        int64_t &slot = name == "connect_timeout" ? config.connectTimeoutNs
                        : name == "read_timeout"  ? config.readTimeoutNs
                        : name == "write_timeout" ? config.writeTimeoutNs
                        : name == "total_timeout" ? config.totalTimeoutNs
                                                  : config.idleTimeoutNs;
        slot = *ns;
      }
    } else if (name == "retries") {
      if (auto n = constInt(value, "'retries'", 0, 10))
        config.retries = *n;
    } else if (name == "max_connections") {
      if (auto n = constInt(value, "'max_connections'", 0, 1'000'000))
        config.maxConnections = *n;
    } else if (name == "tls") {
      if (auto b = constBool(value, "'tls'"))
        config.tls = *b;
    } else if (name == "protocol") {
      checkProtocol(decl, value);
    } else if (name == "verify") {
      if (auto b = constBool(value, "'verify'"))
        config.verify = *b;
    } else if (name == "sni") {
      if (auto s = constString(value, "'sni'")) {
        config.sni = *s;
        if (!isHostname(*s))
          diags_.error("bad-value", value.range, fmt::format("'{}' is not a host name", *s));
      }
    } else if (name == "ca" || name == "client_cert" || name == "client_key") {
      if (auto s = constString(value, ("'" + name + "'").c_str())) {
        (name == "ca"            ? config.ca
         : name == "client_cert" ? config.clientCert
                                 : config.clientKey) = *s;
        if (s->empty())
          diags_.error("bad-value", value.range, fmt::format("'{}' names no file", name));
      }
    } else if (name == "health") {
      checkHealth(decl, value);
    } else if (name == "outlier") {
      checkOutlier(decl, value);
    } else {
      auto &d = diags_.error("unknown-setting", property.nameRange,
                             fmt::format("unknown upstream setting '{}'", name));
      if (auto guess = suggest(name, settings))
        d.withHint(fmt::format("did you mean '{}'?", *guess));
      else
        d.withHint(fmt::format("settings are {} and {}",
                               fmt::join(settings.begin(), settings.end() - 1, ", "),
                               settings.back()));
    }
  }
  if (!seen.count("servers"))
    diags_
        .error("no-servers", decl.nameRange, fmt::format("upstream '{}' has no servers", decl.name))
        .withHint("add servers = [\"127.0.0.1:8080\", ...]");
  if (config.protocol == ast::UpstreamProtocol::H2 && !config.tls)
    diags_
        .error("h2-without-tls", seen["protocol"]->nameRange,
               "protocol = h2 is HTTP/2 over TLS, and this upstream does not set tls = true")
        .withHint("set tls = true, or use protocol = h2c for HTTP/2 in cleartext");
  if (config.protocol == ast::UpstreamProtocol::Auto && !config.tls)
    diags_
        .error(
            "h2-without-tls", seen["protocol"]->nameRange,
            "protocol = auto is chosen by ALPN over TLS, and this upstream does not set tls = true")
        .withHint("set tls = true, or name the protocol: http1 or h2c");
  if (config.protocol == ast::UpstreamProtocol::H2c && config.tls)
    diags_
        .error("h2c-with-tls", seen["protocol"]->nameRange,
               "protocol = h2c is HTTP/2 in cleartext, and this upstream sets tls = true")
        .withHint("use protocol = h2 for HTTP/2 over TLS");
  if (seen.count("sni") && !config.tls)
    diags_.warning("sni-without-tls", seen["sni"]->nameRange,
                   "'sni' has no effect unless tls = true");
  for (const char *file : {"ca", "client_cert", "client_key"})
    if (seen.count(file) && !config.tls)
      diags_.warning("tls-setting-without-tls", seen[file]->nameRange,
                     fmt::format("'{}' has no effect unless tls = true", file));
  if (seen.count("client_cert") != seen.count("client_key")) {
    const char *given = seen.count("client_cert") ? "client_cert" : "client_key";
    diags_.error("client-cert-without-key", seen[given]->nameRange,
                 "'client_cert' and 'client_key' go together");
  }
}

void Checker::checkProtocol(ast::UpstreamDecl &decl, ast::Expr &value) {
  if (value.kind == ast::ExprKind::Name) {
    const std::string &name = ast::as<ast::NameExpr>(value).name;
    for (size_t i = 0; i < ast::kProtocolNames.size(); ++i)
      if (name == ast::kProtocolNames[i]) {
        decl.config.protocol = static_cast<ast::UpstreamProtocol>(i);
        return;
      }
  }
  diags_.error("bad-value", value.range, "'protocol' is http1, h2, h2c or auto");
}

void Checker::checkServers(ast::UpstreamDecl &decl, ast::Expr &value) {
  if (value.kind != ast::ExprKind::List) {
    diags_.error("type-mismatch", value.range,
                 "'servers' must be a list such as [\"10.0.0.1:80\" weight 2, \"10.0.0.2:80\"]");
    return;
  }
  auto &list = ast::as<ast::ListExpr>(value);
  if (list.elements.empty()) {
    diags_.error("no-servers", value.range, "'servers' must list at least one server");
    return;
  }
  value.type = types().list(types().string());
  for (ast::ListElement &element : list.elements) {
    ast::ServerSpec server;
    server.range = element.value->range;
    auto text = constString(*element.value, "a server");
    if (element.weight) {
      if (auto weight = constInt(*element.weight, "a server weight", 1, 10'000))
        server.weight = *weight;
    }
    if (!text)
      continue;
    if (std::string problem = parseServer(*text, server); !problem.empty()) {
      diags_.error("bad-server", element.value->range, problem);
      continue;
    }
    for (const ast::ServerSpec &other : decl.config.servers) {
      if (other.host == server.host && other.port == server.port) {
        diags_
            .warning("duplicate-server", server.range,
                     fmt::format("server \"{}\" is listed twice", *text))
            .withNote(other.range, "first listed here")
            .withHint("give one entry a weight instead");
        break;
      }
    }
    decl.config.servers.push_back(server);
  }
}

void Checker::checkBalance(ast::UpstreamDecl &decl, ast::Expr &value) {
  static const char *hint = "balance is round_robin, random, least_conn, hash(key) or ketama(key)";
  if (value.kind == ast::ExprKind::Name) {
    const std::string &name = ast::as<ast::NameExpr>(value).name;
    if (name == "round_robin")
      decl.config.balance = ast::BalanceKind::RoundRobin;
    else if (name == "random")
      decl.config.balance = ast::BalanceKind::Random;
    else if (name == "least_conn")
      decl.config.balance = ast::BalanceKind::LeastConn;
    else {
      auto &d = diags_.error("bad-balance", value.range,
                             fmt::format("unknown balancing policy '{}'", name));
      if (auto guess = suggest(name, {ast::kBalanceNames.begin(), ast::kBalanceNames.end()}))
        d.withHint(fmt::format("did you mean '{}'?", *guess));
      else
        d.withHint(hint);
    }
    return;
  }
  if (value.kind == ast::ExprKind::Call) {
    auto &call = ast::as<ast::CallExpr>(value);
    if (call.callee == "hash" || call.callee == "ketama") {
      if (call.args.size() != 1 || !call.args[0].name.empty() || call.args[0].percent) {
        diags_.error(
            "bad-balance", value.range,
            fmt::format("{}(...) takes one key, such as {}(client.ip)", call.callee, call.callee));
        return;
      }
      // The key is computed per request, when the request phase routes.
      Context keyContext;
      keyContext.kind = Context::Kind::Phase;
      keyContext.phase = schema::Phase::Request;
      keyContext.file = decl.range.file;
      ContextSwitch scope(*this, keyContext);
      const Type *key = checkExpr(*call.args[0].value);
      if (!key->isError() && key->kind() != TypeKind::String && key->kind() != TypeKind::Int &&
          key->kind() != TypeKind::Ip)
        diags_.error(
            "type-mismatch", call.args[0].value->range,
            fmt::format("a balancing key must be a string, an int or an ip, not {}", key->str()));
      decl.config.balance =
          call.callee == "hash" ? ast::BalanceKind::Hash : ast::BalanceKind::Ketama;
      decl.config.balanceKey = call.args[0].value.get();
      return;
    }
  }
  diags_.error("bad-balance", value.range, "not a balancing policy").withHint(hint);
}

void Checker::checkHealth(ast::UpstreamDecl &decl, ast::Expr &value) {
  if (value.kind != ast::ExprKind::Call || (ast::as<ast::CallExpr>(value).callee != "http" &&
                                            ast::as<ast::CallExpr>(value).callee != "tcp")) {
    diags_.error(
        "bad-health", value.range,
        "health is http(path = \"/healthz\", interval = 5s, ...) or tcp(interval = 5s, ...)");
    return;
  }
  auto &call = ast::as<ast::CallExpr>(value);
  ast::HealthCheckSpec &health = decl.config.health;
  bool http = call.callee == "http";
  health.kind = http ? ast::HealthCheckSpec::Kind::Http : ast::HealthCheckSpec::Kind::Tcp;
  std::vector<std::string> known = {"interval", "timeout", "unhealthy_after", "healthy_after"};
  if (http) {
    known.push_back("path");
    known.push_back("expect_status");
  }
  std::set<std::string> seen;
  for (ast::CallArgument &arg : call.args) {
    if (arg.name.empty()) {
      diags_.error("bad-health", arg.value->range,
                   "health check settings are named: interval = 5s");
      continue;
    }
    if (!seen.insert(arg.name).second) {
      diags_.error("duplicate", arg.nameRange, fmt::format("'{}' is set twice", arg.name));
      continue;
    }
    ast::Expr &v = *arg.value;
    if (arg.percent) {
      diags_.error("bad-health", v.range, "a health check setting is not a percentage");
      continue;
    }
    if (arg.name == "path" && http) {
      if (auto path = constString(v, "a health check path")) {
        if (path->empty() || path->front() != '/')
          diags_.error("bad-value", v.range, "a health check path starts with '/'");
        health.path = *path;
      }
    } else if (arg.name == "interval") {
      if (auto ns = constDuration(v, "a health check interval"))
        health.intervalNs = *ns;
    } else if (arg.name == "timeout") {
      if (auto ns = constDuration(v, "a health check timeout"))
        health.timeoutNs = *ns;
    } else if (arg.name == "unhealthy_after") {
      if (auto n = constInt(v, "'unhealthy_after'", 1, 100))
        health.unhealthyAfter = *n;
    } else if (arg.name == "healthy_after") {
      if (auto n = constInt(v, "'healthy_after'", 1, 100))
        health.healthyAfter = *n;
    } else if (arg.name == "expect_status" && http) {
      if (auto n = constInt(v, "'expect_status'", 100, 599))
        health.expectStatus = *n;
    } else {
      auto &d =
          diags_.error("bad-health", arg.nameRange,
                       fmt::format("{} health checks have no setting '{}'", call.callee, arg.name));
      if (auto guess = suggest(arg.name, known))
        d.withHint(fmt::format("did you mean '{}'?", *guess));
    }
  }
}

void Checker::checkOutlier(ast::UpstreamDecl &decl, ast::Expr &value) {
  const char *usage = "outlier is consecutive(failures = 5, ejection = 30s, max_ejected = 10%, "
                      "max_ejection = 300s, count_5xx = false)";
  if (value.kind != ast::ExprKind::Call || ast::as<ast::CallExpr>(value).callee != "consecutive") {
    diags_.error("bad-outlier", value.range, usage);
    return;
  }
  auto &call = ast::as<ast::CallExpr>(value);
  ast::OutlierSpec &outlier = decl.config.outlier;
  outlier.enabled = true;
  const std::vector<std::string> known = {"failures", "ejection", "max_ejected", "max_ejection",
                                          "count_5xx"};
  std::set<std::string> seen;
  for (ast::CallArgument &arg : call.args) {
    if (arg.name.empty()) {
      diags_.error("bad-outlier", arg.value->range, "outlier settings are named: failures = 5")
          .withHint(usage);
      continue;
    }
    if (!seen.insert(arg.name).second) {
      diags_.error("duplicate", arg.nameRange, fmt::format("'{}' is set twice", arg.name));
      continue;
    }
    ast::Expr &v = *arg.value;
    if (arg.percent != (arg.name == "max_ejected") &&
        std::count(known.begin(), known.end(), arg.name)) {
      diags_.error("bad-outlier", v.range,
                   arg.percent ? fmt::format("'{}' is not a percentage", arg.name)
                               : std::string("'max_ejected' is a percentage of the peers: 50%"));
      continue;
    }
    if (arg.name == "failures") {
      if (auto n = constInt(v, "'failures'", 1, 1000))
        outlier.failures = *n;
    } else if (arg.name == "ejection") {
      if (auto ns = constDuration(v, "an ejection time"))
        outlier.ejectionNs = *ns;
    } else if (arg.name == "max_ejection") {
      if (auto ns = constDuration(v, "the longest ejection"))
        outlier.maxEjectionNs = *ns;
    } else if (arg.name == "max_ejected") {
      if (auto n = constInt(v, "'max_ejected'", 0, 100))
        outlier.maxEjectedPercent = *n;
    } else if (arg.name == "count_5xx") {
      if (auto b = constBool(v, "'count_5xx'"))
        outlier.count5xx = *b;
    } else {
      auto &d = diags_.error("bad-outlier", arg.nameRange,
                             fmt::format("outlier detection has no setting '{}'", arg.name));
      if (auto guess = suggest(arg.name, known))
        d.withHint(fmt::format("did you mean '{}'?", *guess));
      else
        d.withHint(usage);
    }
  }
  if (outlier.maxEjectionNs < outlier.ejectionNs)
    diags_.error("bad-outlier", value.range,
                 "'max_ejection' is shorter than 'ejection': ejections double up to it");
}

// ---------------------------------------------------------------------- acls, maps, consts

void Checker::checkAcl(ast::AclDecl &decl) {
  if (checked_.count(&decl))
    return;
  if (checking_.count(&decl)) {
    diags_.error("cycle", decl.nameRange, fmt::format("acl '{}' includes itself", decl.name));
    return;
  }
  checking_.insert(&decl);
  ContextSwitch scope(*this, constantContext(decl.range.file));
  for (ast::ExprPtr &entry : decl.entries) {
    const Type *t = checkExpr(*entry);
    if (t->isError())
      continue;
    if (t->kind() == TypeKind::Acl && entry->kind == ast::ExprKind::Name) {
      auto &other = ast::as<ast::AclDecl>(*ast::as<ast::NameExpr>(*entry).decl);
      decl.networks.insert(decl.networks.end(), other.networks.begin(), other.networks.end());
      continue;
    }
    if (t->kind() != TypeKind::Ip && t->kind() != TypeKind::Cidr) {
      diags_.error(
          "type-mismatch", entry->range,
          fmt::format("acl entries are addresses, networks or other acls, not {}", t->str()));
      continue;
    }
    ConstValue v = evaluate(*entry);
    auto *ip = std::get_if<ast::IpValue>(&v.value);
    if (!ip) {
      diags_.error("not-constant", entry->range, "acl entries must be constants");
      continue;
    }
    ast::IpValue network = *ip;
    if (network.prefix < 0)
      network.prefix = network.v6 ? 128 : 32;
    decl.networks.push_back(network);
  }
  checking_.erase(&decl);
  checked_.insert(&decl);
}

void Checker::checkMap(ast::MapDecl &decl) {
  if (checked_.count(&decl))
    return;
  checked_.insert(&decl);
  ContextSwitch scope(*this, constantContext(decl.range.file));
  if (decl.entries.empty()) {
    diags_.error("empty-map", decl.nameRange, fmt::format("map '{}' has no entries", decl.name));
    return;
  }
  const ast::MapEntry *defaultEntry = nullptr;
  std::vector<std::pair<ConstValue, const ast::MapEntry *>> keys;
  for (ast::MapEntry &entry : decl.entries) {
    if (!entry.key) {
      if (defaultEntry)
        diags_.error("duplicate", entry.range, "a map has at most one default")
            .withNote(defaultEntry->range, "first default here");
      defaultEntry = &entry;
    } else {
      const Type *k = checkExpr(*entry.key);
      if (!k->isError()) {
        if (k->kind() != TypeKind::String && k->kind() != TypeKind::Int) {
          diags_.error("type-mismatch", entry.key->range,
                       fmt::format("map keys are strings or ints, not {}", k->str()));
        } else if (decl.keyType && decl.keyType != k) {
          diags_.error("type-mismatch", entry.key->range,
                       fmt::format("keys of map '{}' are {}; this one is {}", decl.name,
                                   decl.keyType->str(), k->str()));
        } else {
          decl.keyType = k;
          ConstValue key = evaluate(*entry.key);
          if (!key.known()) {
            diags_.error("not-constant", entry.key->range, "map keys must be constants");
          } else {
            for (const auto &[other, otherEntry] : keys) {
              if (other.value == key.value) {
                diags_.error("duplicate", entry.key->range, "duplicate map key")
                    .withNote(otherEntry->range, "first given here");
                break;
              }
            }
            keys.emplace_back(key, &entry);
          }
        }
      }
    }
    const Type *v = checkExpr(*entry.value);
    if (v->isError())
      continue;
    if (v->kind() == TypeKind::List || v->kind() == TypeKind::Map || v->kind() == TypeKind::Acl) {
      diags_.error("type-mismatch", entry.value->range,
                   fmt::format("map values are strings, ints, bools, durations, addresses or "
                               "upstreams, not {}",
                               v->str()));
      continue;
    }
    if (!isConstant(*entry.value)) {
      diags_.error("not-constant", entry.value->range, "map values must be constants");
      continue;
    }
    if (decl.valueType && decl.valueType != v)
      diags_.error("type-mismatch", entry.value->range,
                   fmt::format("values of map '{}' are {}; this one is {}", decl.name,
                               decl.valueType->str(), v->str()));
    else
      decl.valueType = v;
  }
  if (!decl.keyType)
    decl.keyType = types().error();
  if (!decl.valueType)
    decl.valueType = types().error();
  if (decl.valueType->kind() == TypeKind::Upstream && !defaultEntry)
    diags_
        .error("no-default", decl.nameRange,
               fmt::format("map '{}' gives upstreams, so it needs a default entry", decl.name))
        .withHint("add `default => some_upstream`: every lookup must name an upstream");
}

void Checker::checkConst(ast::ConstDecl &decl) {
  if (checked_.count(&decl))
    return;
  if (checking_.count(&decl)) {
    diags_.error("cycle", decl.nameRange, fmt::format("const '{}' depends on itself", decl.name));
    decl.type = types().error();
    return;
  }
  checking_.insert(&decl);
  ContextSwitch scope(*this, constantContext(decl.range.file));
  const Type *t = checkExpr(*decl.value);
  if (!t->isError() && !isConstant(*decl.value))
    diags_
        .error("not-constant", decl.value->range,
               "a const must be computable when the policy is checked")
        .withHint("use `let` inside a phase for values that depend on the request");
  else if (!t->isError() && t->kind() == TypeKind::String && !evaluate(*decl.value).known() &&
           constants_.hitSizeLimit())
    diags_.error("out-of-range", decl.value->range,
                 fmt::format("const '{}' is longer than {} bytes", decl.name,
                             ConstantEvaluator::kMaxString));
  if (decl.declaredType) {
    const Type *declared = resolveType(*decl.declaredType);
    if (!declared->isError() && !t->isError() && declared != t)
      diags_.error("type-mismatch", decl.value->range,
                   fmt::format("const '{}' is declared {} but its value is {}", decl.name,
                               declared->str(), t->str()));
    t = declared;
  }
  decl.type = t;
  checking_.erase(&decl);
  checked_.insert(&decl);
}

// ------------------------------------------------------------ functions, phases and tests

void Checker::checkFunction(ast::FuncDecl &decl) {
  Context c;
  c.kind = Context::Kind::Function;
  c.function = &decl;
  c.file = decl.range.file;
  ContextSwitch scope(*this, c);
  scopes_.emplace_back();
  for (ast::LocalBinding &param : decl.params) {
    scopes_.back().push_back(&param);
    allLocals_.push_back(&param);
  }
  checkBlock(decl.body);
  if (!alwaysEnds(decl.body))
    diags_
        .error("missing-return", decl.nameRange,
               fmt::format("function '{}' can reach its end without returning a value", decl.name))
        .withHint("end every path with `return ...`");
}

void Checker::checkPhase(ast::PhaseDecl &decl) {
  if (!decl.phase)
    return;
  Context c;
  c.kind = Context::Kind::Phase;
  c.phase = *decl.phase;
  c.file = decl.range.file;
  ContextSwitch scope(*this, c);
  checkBlock(decl.body);
}

void Checker::checkTest(ast::TestDecl &decl) {
  Context c;
  c.kind = Context::Kind::Test;
  c.file = decl.range.file;
  ContextSwitch scope(*this, c);
  const ast::TestStep *request = nullptr;
  const ast::TestStep *tls = nullptr;
  bool https = false;
  bool reportedOrder = false;
  for (ast::TestStep &step : decl.steps) {
    switch (step.kind) {
    case ast::TestStepKind::Request: {
      if (request) {
        diags_.error("duplicate", step.range, "a test sends one request")
            .withNote(request->range, "the request is given here")
            .withHint("write another test block for another request");
        break;
      }
      request = &step;
      bool token = !step.word.empty();
      for (unsigned char ch : step.word)
        token &= std::isupper(ch) || ch == '-' || ch == '_';
      if (!token)
        diags_
            .error("bad-method", step.wordRange,
                   fmt::format("'{}' is not a request method", step.word))
            .withHint("methods are written in capitals: GET, POST, ...");
      if (auto url = constString(*step.first, "a test request URL")) {
        auto scheme = url->find("://");
        std::string prefix = scheme == std::string::npos ? "" : url->substr(0, scheme);
        if ((prefix != "http" && prefix != "https") || url->size() <= scheme + 3)
          diags_.error("bad-url", step.first->range,
                       "a test request URL is absolute: \"http://host/path?query\"");
        https = prefix == "https";
      }
      if (step.second) {
        const Type *t = checkExpr(*step.second);
        if (!t->isError() && (t->kind() != TypeKind::Ip || !isConstant(*step.second)))
          diags_.error("type-mismatch", step.second->range,
                       "a test request comes `from` a constant address such as 203.0.113.9");
      }
      break;
    }
    case ast::TestStepKind::Header:
    case ast::TestStepKind::OriginHeader:
      constString(*step.first, "a header name");
      checkHeaderName(*step.first);
      constString(*step.second, "a header value");
      break;
    case ast::TestStepKind::Tls: {
      std::string variable = "tls." + step.word;
      const schema::VariableInfo *info = schema::findVariable(variable);
      if (!info) {
        std::string fields;
        for (const schema::VariableInfo &v : schema::variables())
          if (std::string_view(v.name).starts_with("tls."))
            fields += fmt::format("{}{}", fields.empty() ? "" : ", ", v.name + 4);
        diags_
            .error("unknown-variable", step.wordRange,
                   fmt::format("'{}' is not a fact of a TLS connection", variable))
            .withHint(fmt::format("a test sets one of: {}", fields));
      } else if (info->type == schema::FieldType::Bool) {
        constBool(*step.first, "a TLS fact");
      } else {
        constString(*step.first, "a TLS fact");
      }
      for (const ast::TestStep &other : decl.steps) {
        if (&other == &step)
          break;
        if (other.kind == ast::TestStepKind::Tls && other.word == step.word) {
          diags_.error("duplicate", step.range, fmt::format("'{}' is given twice", variable))
              .withNote(other.range, "it is given here");
          break;
        }
      }
      tls = &step;
      break;
    }
    case ast::TestStepKind::Origin:
      constInt(*step.first, "the origin's status", 100, 599);
      if (step.second)
        constString(*step.second, "the origin's body");
      break;
    case ast::TestStepKind::ExpectStatus:
      constInt(*step.first, "an expected status", 100, 599);
      break;
    case ast::TestStepKind::ExpectRoute: {
      ast::Decl *target = lookupGlobal(step.word, step.wordRange, true);
      if (target && target->kind == ast::DeclKind::Upstream) {
        step.upstream = target;
        target->used = true;
      } else if (!globals_.count(step.word) || target) {
        reportUnknownUpstream(step.word, step.wordRange);
      }
      break;
    }
    case ast::TestStepKind::ExpectRedirect:
      constString(*step.first, "an expected redirect location");
      break;
    case ast::TestStepKind::ExpectBody:
      constString(*step.first, "an expected body");
      break;
    case ast::TestStepKind::ExpectCondition:
      expectType(*step.first, types().boolean(), "an expectation");
      break;
    }
    bool requestFollows =
        std::any_of(decl.steps.begin(), decl.steps.end(),
                    [](const ast::TestStep &s) { return s.kind == ast::TestStepKind::Request; });
    if (step.kind != ast::TestStepKind::Request && !request && requestFollows && !reportedOrder) {
      diags_.error("test-order", step.range, "a test starts with its request")
          .withHint("move the request line to the top of the test");
      reportedOrder = true;
    }
  }
  if (!request)
    diags_
        .error("no-request", decl.nameRange, fmt::format("test \"{}\" sends no request", decl.name))
        .withHint("add: request GET \"http://example.com/\"");
  else if (tls && !https)
    diags_.error("tls-without-https", tls->range, "only an https:// request has a TLS connection")
        .withNote(request->range, "the request is given here")
        .withHint("write the request's URL with https://");
}

} // namespace route::sema
