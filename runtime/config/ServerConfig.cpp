#include "config/ServerConfig.h"

#include "exchange/WireSyntax.h"
#include "log/AccessFields.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>
#include <thread>

namespace turnout {

std::optional<ListenAddress> parseListenAddress(const std::string &text, std::string &error) {
  ListenAddress out;
  out.text = text;
  if (text.starts_with("unix:")) {
    out.kind = ListenAddress::Kind::Unix;
    out.path = text.substr(5);
    if (out.path.empty() || out.path.size() >= 108) {
      error = fmt::format("'{}': a unix socket path must have 1 to 107 bytes", text);
      return std::nullopt;
    }
    return out;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    error = fmt::format("'{}': expected HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH", text);
    return std::nullopt;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty())
    host = "0.0.0.0";
  unsigned char buffer[16];
  if (inet_pton(AF_INET, host.c_str(), buffer) != 1 &&
      inet_pton(AF_INET6, host.c_str(), buffer) != 1) {
    error = fmt::format("'{}': '{}' is not an IP address", text, host);
    return std::nullopt;
  }
  std::string port = text.substr(colon + 1);
  unsigned long value = 0;
  try {
    size_t used = 0;
    value = std::stoul(port, &used);
    if (used != port.size())
      value = 0;
  } catch (const std::exception &) {
    value = 0;
  }
  if (value == 0 || value > 65535) {
    error = fmt::format("'{}': the port must be a number from 1 to 65535", text);
    return std::nullopt;
  }
  out.host = host;
  out.port = static_cast<uint16_t>(value);
  return out;
}

std::optional<ServerConfig::Io> parseIo(const std::string &text, std::string &error) {
  if (text == "uring")
    return ServerConfig::Io::Uring;
  if (text == "epoll")
    return ServerConfig::Io::Epoll;
  error = fmt::format("must be uring or epoll, not '{}'", text);
  return std::nullopt;
}

std::optional<ListenAddress> parseMetricsAddress(const std::string &text, std::string &error) {
  std::optional<ListenAddress> address = parseListenAddress(text, error);
  if (address && address->kind != ListenAddress::Kind::Tcp) {
    error = fmt::format("'{}': the metrics listener is TCP (HOST:PORT)", text);
    return std::nullopt;
  }
  return address;
}

std::optional<ListenAddress> parseAdminHttpAddress(const std::string &text, std::string &error) {
  std::optional<ListenAddress> address = parseListenAddress(text, error);
  if (!address)
    return std::nullopt;
  unsigned char v4[4];
  bool loopback = address->kind == ListenAddress::Kind::Tcp &&
                  (address->host == "::1" ||
                   (inet_pton(AF_INET, address->host.c_str(), v4) == 1 && v4[0] == 127));
  if (!loopback) {
    error = fmt::format("'{}': the admin listener must be on a loopback address (127.0.0.1, ::1)",
                        text);
    return std::nullopt;
  }
  return address;
}

bool parseNetwork(const std::string &text, std::string &address, int &prefix) {
  size_t slash = text.find('/');
  address = text.substr(0, slash);
  unsigned char bytes[16];
  bool v6 = address.find(':') != std::string::npos;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1)
    return false;
  int most = v6 ? 128 : 32;
  prefix = most;
  if (slash == std::string::npos)
    return true;
  std::string_view digits = std::string_view(text).substr(slash + 1);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  return error == std::errc() && end == digits.data() + digits.size() && !digits.empty() &&
         prefix >= 0 && prefix <= most;
}

std::vector<ListenAddress> ServerConfig::listeners() const {
  if (!listen.empty())
    return listen;
  std::string unused;
  return {*parseListenAddress("127.0.0.1:6188", unused)};
}

unsigned ServerConfig::threadCount() const {
  if (threads)
    return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

struct ConfigError {
  std::string message;
};

class Reader {
public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node &node, const std::string &message) const {
    YAML::Mark mark = node.Mark();
    throw ConfigError{fmt::format("{}:{}:{}: {}", path_, mark.line + 1, mark.column + 1, message)};
  }

  // Calls the handler of each key of `map`; an unknown key is an error that lists the
  // known ones.
  void
  keys(const YAML::Node &map, const std::string &where,
       const std::map<std::string, std::function<void(const YAML::Node &, const std::string &)>>
           &handlers) {
    if (!map.IsMap())
      fail(map, fmt::format("'{}' must be a mapping of keys to values", where));
    for (const auto &item : map) {
      std::string key = item.first.as<std::string>();
      std::string name = where.empty() ? key : where + "." + key;
      auto handler = handlers.find(key);
      if (handler == handlers.end()) {
        std::string known;
        for (const auto &[k, unused] : handlers)
          known += (known.empty() ? "" : ", ") + k;
        fail(item.first, fmt::format("unknown key '{}' (known keys{}: {})", name,
                                     where.empty() ? "" : " in '" + where + "'", known));
      }
      handler->second(item.second, name);
    }
  }

  std::string string(const YAML::Node &node, const std::string &name) {
    if (!node.IsScalar())
      fail(node, fmt::format("'{}' must be a string", name));
    return node.as<std::string>();
  }

  uint64_t count(const YAML::Node &node, const std::string &name, uint64_t max = UINT64_MAX) {
    uint64_t value = number(node, name, false);
    if (value > max)
      fail(node, fmt::format("'{}' must be at most {}", name, max));
    return value;
  }

  // A byte size: 512, 8k, 32KiB, 1m, 1MiB, 1g.
  uint64_t size(const YAML::Node &node, const std::string &name) {
    return number(node, name, true);
  }

  bool flag(const YAML::Node &node, const std::string &name) {
    std::string on = string(node, name);
    if (on != "true" && on != "false")
      fail(node, fmt::format("'{}' is true or false, not '{}'", name, on));
    return on == "true";
  }

  // A duration: 500ms, 60s, 2m, 1h.
  Duration duration(const YAML::Node &node, const std::string &name) {
    std::string text = string(node, name);
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
      ++digits;
    std::string unit = text.substr(digits);
    static const std::map<std::string, int64_t> kUnits = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
    auto scale = kUnits.find(unit);
    if (digits == 0 || digits > 9 || scale == kUnits.end())
      fail(node, fmt::format("'{}' must be a duration such as 500ms, 60s, 2m or 1h, not '{}'", name,
                             text));
    return Duration(std::stoll(text.substr(0, digits)) * scale->second);
  }

private:
  uint64_t number(const YAML::Node &node, const std::string &name, bool sizes) {
    std::string text = string(node, name);
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
      ++digits;
    std::string unit = text.substr(digits);
    for (char &c : unit)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::map<std::string, uint64_t> kUnits = {
        {"", 1},          {"k", 1024},    {"kib", 1024},   {"m", 1 << 20},
        {"mib", 1 << 20}, {"g", 1 << 30}, {"gib", 1 << 30}};
    auto scale = kUnits.find(unit);
    if (digits == 0 || digits > 15 || scale == kUnits.end() || (!sizes && !unit.empty()))
      fail(node,
           sizes ? fmt::format("'{}' must be a size such as 512, 8k or 1m, not '{}'", name, text)
                 : fmt::format("'{}' must be a whole number, not '{}'", name, text));
    return std::stoull(text.substr(0, digits)) * scale->second;
  }

  std::string path_;
};

} // namespace

namespace {

// A `tls` block of a listener.
TlsSettings tlsSettings(Reader &r, const YAML::Node &node, const std::string &where) {
  TlsSettings tls;
  auto list = [&](const YAML::Node &n, const std::string &k) {
    if (!n.IsSequence())
      r.fail(n, fmt::format("'{}' must be a list", k));
    std::vector<std::string> items;
    for (const YAML::Node &item : n)
      items.push_back(r.string(item, k));
    return items;
  };
  r.keys(
      node, where,
      {{"certificates",
        [&](auto &n, auto &k) {
          if (!n.IsSequence() || n.size() == 0)
            r.fail(n, fmt::format("'{}' must be a list of {{cert, key}} entries", k));
          for (const YAML::Node &entry : n) {
            TlsSettings::Certificate certificate;
            r.keys(entry, k,
                   {{"cert", [&](auto &v, auto &vk) { certificate.cert = r.string(v, vk); }},
                    {"key", [&](auto &v, auto &vk) { certificate.key = r.string(v, vk); }},
                    {"ocsp", [&](auto &v, auto &vk) { certificate.ocsp = r.string(v, vk); }}});
            if (certificate.cert.empty() || certificate.key.empty())
              r.fail(entry, fmt::format("'{}': each entry needs a 'cert' and a 'key'", k));
            tls.certificates.push_back(certificate);
          }
        }},
       {"protocols",
        [&](auto &n, auto &k) {
          tls.protocols = list(n, k);
          for (const std::string &protocol : tls.protocols)
            if (protocol != "TLSv1.2" && protocol != "TLSv1.3")
              r.fail(n, fmt::format("'{}': TLSv1.2 and TLSv1.3 only, not '{}'", k, protocol));
          if (tls.protocols.empty())
            r.fail(n, fmt::format("'{}' names no protocol", k));
        }},
       {"ciphers", [&](auto &n, auto &k) { tls.ciphers = r.string(n, k); }},
       {"alpn",
        [&](auto &n, auto &k) {
          tls.alpn = list(n, k);
          for (const std::string &protocol : tls.alpn)
            if (protocol != "http/1.1" && protocol != "h2")
              r.fail(n, fmt::format("'{}': turnout speaks h2 and http/1.1, not '{}'", k, protocol));
        }},
       {"client_ca", [&](auto &n, auto &k) { tls.clientCa = r.string(n, k); }},
       {"client_auth",
        [&](auto &n, auto &k) {
          std::string mode = r.string(n, k);
          if (mode == "none")
            tls.clientAuth = TlsSettings::ClientAuth::None;
          else if (mode == "optional")
            tls.clientAuth = TlsSettings::ClientAuth::Optional;
          else if (mode == "require")
            tls.clientAuth = TlsSettings::ClientAuth::Require;
          else
            r.fail(n, fmt::format("'{}' is none, optional or require, not '{}'", k, mode));
        }},
       {"session_tickets", [&](auto &n, auto &k) { tls.sessionTickets = r.flag(n, k); }},
       {"ticket_key_file", [&](auto &n, auto &k) { tls.ticketKeyFile = r.string(n, k); }},
       {"handshake_timeout", [&](auto &n, auto &k) { tls.handshakeTimeout = r.duration(n, k); }}});
  if (tls.certificates.empty())
    r.fail(node, fmt::format("'{}' needs 'certificates'", where));
  if (tls.clientAuth != TlsSettings::ClientAuth::None && tls.clientCa.empty())
    r.fail(node, fmt::format("'{}': client_auth needs a 'client_ca'", where));
  return tls;
}

// A `listen` entry: an address, or a map with the address and its settings.
ListenAddress listener(Reader &r, const YAML::Node &item, const std::string &where) {
  std::string why;
  if (item.IsScalar()) {
    auto address = parseListenAddress(r.string(item, where), why);
    if (!address)
      r.fail(item, fmt::format("'{}': {}", where, why));
    return *address;
  }
  std::optional<ListenAddress> address;
  std::optional<TlsSettings> tls;
  bool proxyProtocol = false;
  std::vector<std::string> proxyFrom;
  r.keys(item, where,
         {{"address",
           [&](auto &n, auto &k) {
             address = parseListenAddress(r.string(n, k), why);
             if (!address)
               r.fail(n, fmt::format("'{}': {}", k, why));
           }},
          {"tls", [&](auto &n, auto &k) { tls = tlsSettings(r, n, k); }},
          {"proxy_protocol", [&](auto &n, auto &k) { proxyProtocol = r.flag(n, k); }},
          {"proxy_protocol_from", [&](auto &n, auto &k) {
             if (!n.IsSequence())
               r.fail(n, fmt::format("'{}' must be a list of networks", k));
             for (const YAML::Node &entry : n) {
               std::string network = r.string(entry, k), ip;
               int prefix = 0;
               if (!parseNetwork(network, ip, prefix))
                 r.fail(entry,
                        fmt::format("'{}': '{}' is not a network such as 10.0.0.0/8", k, network));
               proxyFrom.push_back(network);
             }
           }}});
  if (!address)
    r.fail(item, fmt::format("'{}': a listener needs an 'address'", where));
  if (tls && address->kind != ListenAddress::Kind::Tcp)
    r.fail(item, fmt::format("'{}': TLS listens on TCP addresses only", where));
  if (!proxyFrom.empty() && !proxyProtocol)
    r.fail(item, fmt::format("'{}': proxy_protocol_from without proxy_protocol: true", where));
  if (proxyProtocol && address->kind != ListenAddress::Kind::Tcp)
    r.fail(item, fmt::format("'{}': the PROXY protocol is for TCP listeners", where));
  address->tls = std::move(tls);
  address->proxyProtocol = proxyProtocol;
  address->proxyProtocolFrom = std::move(proxyFrom);
  return *address;
}

} // namespace

std::optional<ServerConfig> loadServerConfig(const std::string &path, std::string &error) {
  ServerConfig config;
  Reader r(path);
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull())
      return config;
    r.keys(
        root, "",
        {{"listen",
          [&](const YAML::Node &node, const std::string &name) {
            if (!node.IsSequence())
              r.fail(node, fmt::format("'{}' must be a list of addresses", name));
            for (const YAML::Node &item : node)
              config.listen.push_back(listener(r, item, name));
          }},
         {"threads",
          [&](const YAML::Node &node, const std::string &name) {
            config.threads = static_cast<unsigned>(r.count(node, name, 1024));
          }},
         {"policy", [&](const YAML::Node &node,
                        const std::string &name) { config.policy = r.string(node, name); }},
         {"limits",
          [&](const YAML::Node &node, const std::string &name) {
            auto &l = config.limits;
            r.keys(
                node, name,
                {{"max_request_line", [&](auto &n, auto &k) { l.maxRequestLine = r.size(n, k); }},
                 {"max_header_bytes", [&](auto &n, auto &k) { l.maxHeaderBytes = r.size(n, k); }},
                 {"max_header_count",
                  [&](auto &n, auto &k) { l.maxHeaderCount = r.count(n, k, 10000); }},
                 {"max_body_bytes", [&](auto &n, auto &k) { l.maxBodyBytes = r.size(n, k); }},
                 {"max_requests_per_connection",
                  [&](auto &n, auto &k) { l.maxRequestsPerConnection = r.count(n, k); }},
                 {"max_connections", [&](auto &n, auto &k) { l.maxConnections = r.count(n, k); }},
                 {"max_connections_per_client",
                  [&](auto &n, auto &k) { l.maxConnectionsPerClient = r.count(n, k); }},
                 {"min_body_rate", [&](auto &n, auto &k) { l.minBodyRate = r.size(n, k); }},
                 {"replay_buffer_bytes",
                  [&](auto &n, auto &k) { l.replayBufferBytes = r.size(n, k); }}});
          }},
         {"timeouts",
          [&](const YAML::Node &node, const std::string &name) {
            auto &t = config.timeouts;
            r.keys(
                node, name,
                {{"header_read", [&](auto &n, auto &k) { t.headerRead = r.duration(n, k); }},
                 {"keepalive_idle", [&](auto &n, auto &k) { t.keepaliveIdle = r.duration(n, k); }},
                 {"body_read", [&](auto &n, auto &k) { t.bodyRead = r.duration(n, k); }},
                 {"body_rate_after", [&](auto &n, auto &k) { t.bodyRateAfter = r.duration(n, k); }},
                 {"send", [&](auto &n, auto &k) { t.send = r.duration(n, k); }},
                 {"shutdown_grace", [&](auto &n, auto &k) { t.shutdownGrace = r.duration(n, k); }},
                 {"lingering_time", [&](auto &n, auto &k) { t.lingeringTime = r.duration(n, k); }},
                 {"lingering_timeout",
                  [&](auto &n, auto &k) { t.lingeringTimeout = r.duration(n, k); }},
                 {"tunnel_idle_timeout",
                  [&](auto &n, auto &k) { t.tunnelIdleTimeout = r.duration(n, k); }}});
          }},
         {"upgrades",
          [&](const YAML::Node &node, const std::string &name) {
            if (!node.IsSequence())
              r.fail(node, fmt::format("'{}' must be a list of protocol names", name));
            config.upgrades.clear();
            for (const YAML::Node &item : node) {
              std::string protocol = r.string(item, name);
              for (char &c : protocol)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              if (!route::wire::isToken(protocol))
                r.fail(item, fmt::format("'{}': '{}' is not a protocol name", name, protocol));
              if (protocol == "h2c")
                r.fail(item, fmt::format("'{}': h2c is never honoured (HTTP/2 is taken with prior "
                                         "knowledge or ALPN)",
                                         name));
              config.upgrades.push_back(protocol);
            }
          }},
         {"http2",
          [&](const YAML::Node &node, const std::string &name) {
            auto &h = config.http2;
            // RFC 9113 6.5.2's bounds: a window below 2^31, a frame of 16 KiB to 16 MiB.
            auto window = [&](auto &n, auto &k) {
              uint64_t bytes = r.size(n, k);
              if (bytes == 0 || bytes > 0x7fffffff)
                r.fail(n, fmt::format("'{}' must be between 1 and 2147483647 bytes", k));
              return static_cast<uint32_t>(bytes);
            };
            r.keys(
                node, name,
                {{"max_concurrent_streams",
                  [&](auto &n, auto &k) {
                    h.maxConcurrentStreams = static_cast<uint32_t>(r.count(n, k, 65536));
                  }},
                 {"initial_stream_window",
                  [&](auto &n, auto &k) { h.initialStreamWindow = window(n, k); }},
                 {"max_frame_size",
                  [&](auto &n, auto &k) {
                    h.maxFrameSize = static_cast<uint32_t>(r.size(n, k));
                    if (h.maxFrameSize < 16384 || h.maxFrameSize > 16777215)
                      r.fail(n, fmt::format("'{}' must be between 16k and 16777215 bytes", k));
                  }},
                 {"max_header_list_size",
                  [&](auto &n, auto &k) { h.maxHeaderListSize = window(n, k); }},
                 {"header_table_size", [&](auto &n, auto &k) { h.headerTableSize = window(n, k); }},
                 {"idle_timeout", [&](auto &n, auto &k) { h.idleTimeout = r.duration(n, k); }},
                 {"max_requests_per_connection",
                  [&](auto &n, auto &k) { h.maxRequestsPerConnection = r.count(n, k); }},
                 {"max_resets", [&](auto &n, auto &k) { h.maxResets = r.count(n, k); }},
                 {"resets_per_second",
                  [&](auto &n, auto &k) { h.resetsPerSecond = r.count(n, k); }},
                 {"max_stream_errors",
                  [&](auto &n, auto &k) { h.maxStreamErrors = r.count(n, k); }},
                 {"stream_errors_per_second",
                  [&](auto &n, auto &k) { h.streamErrorsPerSecond = r.count(n, k); }}});
          }},
         {"upstreams",
          [&](const YAML::Node &node, const std::string &name) {
            r.keys(
                node, name,
                {{"idle_per_peer",
                  [&](auto &n, auto &k) { config.upstreams.idlePerPeer = r.count(n, k, 100000); }},
                 {"pass_request_trailers", [&](auto &n, auto &k) {
                    if (!n.IsSequence())
                      r.fail(n, fmt::format("'{}' must be a list of field names", k));
                    for (const YAML::Node &item : n) {
                      std::string field = r.string(item, k);
                      if (!route::wire::isToken(field))
                        r.fail(item, fmt::format("'{}': '{}' is not a field name", k, field));
                      config.upstreams.passRequestTrailers.push_back(field);
                    }
                  }}});
          }},
         {"admin",
          [&](const YAML::Node &node, const std::string &name) {
            r.keys(node, name,
                   {{"socket", [&](auto &n, auto &k) { config.admin.socket = r.string(n, k); }},
                    {"keep_versions",
                     [&](auto &n, auto &k) { config.admin.keepVersions = r.count(n, k, 1000); }},
                    {"http",
                     [&](auto &n, auto &k) {
                       std::string why;
                       config.admin.http = parseAdminHttpAddress(r.string(n, k), why);
                       if (!config.admin.http)
                         r.fail(n, fmt::format("'{}': {}", k, why));
                     }},
                    {"token_file",
                     [&](auto &n, auto &k) { config.admin.tokenFile = r.string(n, k); }}});
            if (config.admin.http && config.admin.tokenFile.empty())
              r.fail(node, fmt::format("'{}': an 'http' listener needs a 'token_file'", name));
          }},
         {"tracing",
          [&](const YAML::Node &node, const std::string &name) {
            r.keys(node, name,
                   {{"enabled", [&](auto &n, auto &k) { config.tracing.enabled = r.flag(n, k); }},
                    {"sample_ratio", [&](auto &n, auto &k) {
                       std::string text = r.string(n, k);
                       char *end = nullptr;
                       double ratio = std::strtod(text.c_str(), &end);
                       if (text.empty() || *end != '\0' || !(ratio >= 0 && ratio <= 1))
                         r.fail(n, fmt::format("'{}' is a number from 0 to 1", k));
                       config.tracing.sampleRatio = ratio;
                     }}});
          }},
         {"metrics",
          [&](const YAML::Node &node, const std::string &name) {
            r.keys(node, name, {{"listen", [&](auto &n, auto &k) {
                                   std::string why;
                                   config.metrics.listen = parseMetricsAddress(r.string(n, k), why);
                                   if (!config.metrics.listen)
                                     r.fail(n, fmt::format("'{}': {}", k, why));
                                 }}});
          }},
         {"io",
          [&](const YAML::Node &node, const std::string &name) {
            std::string error;
            if (auto io = parseIo(r.string(node, name), error))
              config.io = *io;
            else
              r.fail(node, fmt::format("'{}' {}", name, error));
          }},
         {"pid_file", [&](const YAML::Node &node,
                          const std::string &name) { config.pidFile = r.string(node, name); }},
         {"upgrade_socket",
          [&](const YAML::Node &node, const std::string &name) {
            config.upgradeSocket = r.string(node, name);
          }},
         {"log", [&](const YAML::Node &node, const std::string &name) {
            r.keys(node, name,
                   {{"level",
                     [&](auto &n, auto &k) {
                       config.log.level = r.string(n, k);
                       if (config.log.level != "debug" && config.log.level != "info" &&
                           config.log.level != "warn" && config.log.level != "error")
                         r.fail(n, fmt::format("'{}' must be debug, info, warn or error", k));
                     }},
                    {"error", [&](auto &n, auto &k) { config.log.error = r.string(n, k); }},
                    {"syslog", [&](auto &n, auto &k) { config.log.syslog = r.flag(n, k); }},
                    {"access", [&](auto &n, auto &k) { config.log.access = r.string(n, k); }},
                    {"access_format",
                     [&](auto &n, auto &k) {
                       std::string format = r.string(n, k);
                       if (format == "text")
                         config.log.accessFormat = ServerConfig::Log::AccessFormat::Text;
                       else if (format == "json")
                         config.log.accessFormat = ServerConfig::Log::AccessFormat::Json;
                       else
                         r.fail(n, fmt::format("'{}' must be text or json", k));
                     }},
                    {"access_fields", [&](auto &n, auto &k) {
                       if (!n.IsSequence())
                         r.fail(n, fmt::format("'{}' is a list of field names", k));
                       for (const YAML::Node &item : n) {
                         std::string field = r.string(item, k);
                         if (!log::accessField(field))
                           r.fail(item, fmt::format("'{}': '{}' is not an access log field ({})", k,
                                                    field, log::accessFieldNames()));
                         config.log.accessFields.push_back(field);
                       }
                     }}});
          }}});
  } catch (const ConfigError &e) {
    error = e.message;
    return std::nullopt;
  } catch (const YAML::BadFile &) {
    error = fmt::format("{}: cannot read the file", path);
    return std::nullopt;
  } catch (const YAML::Exception &e) {
    error = fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
    return std::nullopt;
  }
  return config;
}

} // namespace turnout
