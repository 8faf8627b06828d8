#include "image/PolicyImage.h"

#include <nlohmann/json.hpp>

namespace route::image {

using nlohmann::json;

namespace {

json encodeUpstream(const Upstream &upstream) {
  const ast::UpstreamConfig &c = upstream.config;
  json servers = json::array();
  for (const ast::ServerSpec &s : c.servers)
    servers.push_back({s.host, s.port, s.weight});
  const ast::HealthCheckSpec &h = c.health;
  return {
      {"name", upstream.name},
      {"keyed", upstream.keyed},
      {"servers", servers},
      {"balance", static_cast<int>(c.balance)},
      {"timeouts",
       {c.connectTimeoutNs, c.readTimeoutNs, c.writeTimeoutNs, c.totalTimeoutNs, c.idleTimeoutNs}},
      {"retries", c.retries},
      {"max_connections", c.maxConnections},
      {"tls", c.tls},
      {"protocol", static_cast<int>(c.protocol)},
      {"sni", c.sni},
      {"verify", c.verify},
      {"ca", c.ca},
      {"client_cert", c.clientCert},
      {"client_key", c.clientKey},
      {"health",
       {static_cast<int>(h.kind), h.path, h.expectStatus, h.intervalNs, h.timeoutNs,
        h.unhealthyAfter, h.healthyAfter}},
      {"outlier",
       {c.outlier.enabled, c.outlier.failures, c.outlier.ejectionNs, c.outlier.maxEjectionNs,
        c.outlier.maxEjectedPercent, c.outlier.count5xx}}};
}

// An enumerator in [0, count), or a damaged image.
template <typename Enum> Enum enumerator(const json &value, int count) {
  int n = value.get<int>();
  if (n < 0 || n >= count)
    throw std::out_of_range("an enumerator out of range");
  return static_cast<Enum>(n);
}

Upstream decodeUpstream(const json &in) {
  Upstream upstream;
  upstream.name = in.at("name").get<std::string>();
  upstream.keyed = in.at("keyed").get<bool>();
  ast::UpstreamConfig &c = upstream.config;
  for (const json &s : in.at("servers")) {
    ast::ServerSpec server;
    server.host = s.at(0).get<std::string>();
    server.port = s.at(1).get<uint16_t>();
    server.weight = s.at(2).get<int64_t>();
    c.servers.push_back(std::move(server));
  }
  c.balance = enumerator<ast::BalanceKind>(in.at("balance"), ast::kBalanceNames.size());
  const json &t = in.at("timeouts");
  c.connectTimeoutNs = t.at(0).get<int64_t>();
  c.readTimeoutNs = t.at(1).get<int64_t>();
  c.writeTimeoutNs = t.at(2).get<int64_t>();
  c.totalTimeoutNs = t.at(3).get<int64_t>();
  c.idleTimeoutNs = t.at(4).get<int64_t>();
  c.retries = in.at("retries").get<int64_t>();
  c.maxConnections = in.at("max_connections").get<int64_t>();
  c.tls = in.at("tls").get<bool>();
  c.protocol =
      in.contains("protocol")
          ? enumerator<ast::UpstreamProtocol>(in.at("protocol"), ast::kProtocolNames.size())
          : ast::UpstreamProtocol::Http1;
  c.sni = in.at("sni").get<std::string>();
  c.verify = in.at("verify").get<bool>();
  c.ca = in.value("ca", "");
  c.clientCert = in.value("client_cert", "");
  c.clientKey = in.value("client_key", "");
  const json &h = in.at("health");
  c.health.kind = enumerator<ast::HealthCheckSpec::Kind>(h.at(0), 3);
  c.health.path = h.at(1).get<std::string>();
  c.health.expectStatus = h.at(2).get<int64_t>();
  c.health.intervalNs = h.at(3).get<int64_t>();
  c.health.timeoutNs = h.at(4).get<int64_t>();
  c.health.unhealthyAfter = h.at(5).get<int64_t>();
  c.health.healthyAfter = h.at(6).get<int64_t>();
  const json &o = in.at("outlier");
  c.outlier.enabled = o.at(0).get<bool>();
  c.outlier.failures = o.at(1).get<int64_t>();
  c.outlier.ejectionNs = o.at(2).get<int64_t>();
  c.outlier.maxEjectionNs = o.at(3).get<int64_t>();
  c.outlier.maxEjectedPercent = o.at(4).get<int64_t>();
  c.outlier.count5xx = o.at(5).get<bool>();
  return upstream;
}

} // namespace

std::vector<Upstream> upstreamsOf(const std::vector<const ast::UpstreamDecl *> &upstreams) {
  std::vector<Upstream> out;
  for (const ast::UpstreamDecl *decl : upstreams) {
    Upstream &upstream = out.emplace_back(Upstream{decl->name, decl->config, false});
    upstream.keyed = upstream.config.balanceKey != nullptr;
    upstream.config.balanceKey = nullptr;
  }
  return out;
}

std::string encode(const PolicyImage &image) {
  json phases = json::array();
  for (schema::Phase phase : image.phases)
    phases.push_back(static_cast<int>(phase));
  json upstreams = json::array();
  for (const Upstream &upstream : image.upstreams)
    upstreams.push_back(encodeUpstream(upstream));
  json tables = json::array();
  for (const Table &table : image.tables)
    tables.push_back({static_cast<int>(table.kind), table.texts, table.numbers});
  json rules = json::array();
  for (const Rule &rule : image.rules)
    rules.push_back({rule.range.file, rule.range.begin, rule.range.end, rule.action});
  std::vector<uint8_t> bytes = json::to_cbor(
      json{{"phases", phases}, {"upstreams", upstreams}, {"tables", tables}, {"rules", rules}});
  return std::string(bytes.begin(), bytes.end());
}

std::optional<PolicyImage> decode(std::string_view bytes, std::string &error) {
  try {
    json in = json::from_cbor(bytes.begin(), bytes.end());
    PolicyImage image;
    for (const json &phase : in.at("phases"))
      image.phases.push_back(enumerator<schema::Phase>(phase, schema::kPhaseCount));
    for (const json &upstream : in.at("upstreams"))
      image.upstreams.push_back(decodeUpstream(upstream));
    for (const json &t : in.at("tables")) {
      Table table;
      table.kind = enumerator<Table::Kind>(t.at(0), 5);
      table.texts = t.at(1).get<decltype(table.texts)>();
      table.numbers = t.at(2).get<decltype(table.numbers)>();
      image.tables.push_back(std::move(table));
    }
    for (const json &r : in.at("rules"))
      image.rules.push_back(
          {{r.at(0).get<FileId>(), r.at(1).get<uint32_t>(), r.at(2).get<uint32_t>()},
           r.at(3).get<std::string>()});
    return image;
  } catch (const std::exception &e) {
    error = std::string("a damaged policy image: ") + e.what();
    return std::nullopt;
  }
}

} // namespace route::image
