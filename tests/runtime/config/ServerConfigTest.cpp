#include "config/ServerConfig.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace turnout {
namespace {

// A file of the running test's own: ctest runs these tests in parallel processes.
std::string write(const std::string &text) {
  std::string path = testing::TempDir() + "/server-config-" +
                     testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(ServerConfig, ReadsEveryKey) {
  std::string error;
  auto config = loadServerConfig(write(R"(
listen: ["127.0.0.1:8080", "[::1]:8081", "unix:/tmp/t.sock"]
threads: 4
policy: p.route
limits: {max_request_line: 4k, max_header_bytes: 16KiB, max_header_count: 50, max_body_bytes: 1m,
         max_requests_per_connection: 10, max_connections: 100, replay_buffer_bytes: 128k,
         max_connections_per_client: 7, min_body_rate: 2k}
timeouts: {header_read: 5s, keepalive_idle: 500ms, body_read: 1m, send: 1h, shutdown_grace: 5s,
           body_rate_after: 3s, lingering_time: 10s, lingering_timeout: 0s}
upstreams: {idle_per_peer: 8, pass_request_trailers: [grpc-timeout, X-Checksum]}
http2: {max_concurrent_streams: 50, initial_stream_window: 1m, max_frame_size: 32k,
        max_header_list_size: 16k, header_table_size: 8k, idle_timeout: 10s,
        max_requests_per_connection: 500, max_resets: 100, resets_per_second: 10,
        max_stream_errors: 20, stream_errors_per_second: 2}
admin: {socket: /run/t.sock, keep_versions: 3, http: "127.0.0.1:9901", token_file: /etc/t.token}
pid_file: /run/t.pid
upgrade_socket: /run/t-upgrade.sock
io: epoll
log: {level: warn, access: /tmp/access.log}
)"),
                                 error);
  ASSERT_TRUE(config) << error;
  ASSERT_EQ(config->listen.size(), 3u);
  EXPECT_EQ(config->listen[1].host, "::1");
  EXPECT_EQ(config->listen[2].kind, ListenAddress::Kind::Unix);
  EXPECT_EQ(config->threads, 4u);
  EXPECT_EQ(config->limits.maxRequestLine, 4096u);
  EXPECT_EQ(config->limits.maxHeaderBytes, 16384u);
  EXPECT_EQ(config->limits.maxBodyBytes, 1u << 20);
  EXPECT_EQ(config->timeouts.keepaliveIdle, Duration(500));
  EXPECT_EQ(config->timeouts.send, Duration(3'600'000));
  EXPECT_EQ(config->timeouts.shutdownGrace, Duration(5'000));
  EXPECT_EQ(config->upstreams.idlePerPeer, 8u);
  EXPECT_EQ(config->http2.maxConcurrentStreams, 50u);
  EXPECT_EQ(config->http2.initialStreamWindow, 1u << 20);
  EXPECT_EQ(config->http2.maxFrameSize, 32768u);
  EXPECT_EQ(config->http2.maxHeaderListSize, 16384u);
  EXPECT_EQ(config->http2.headerTableSize, 8192u);
  EXPECT_EQ(config->http2.idleTimeout, Duration(10'000));
  EXPECT_EQ(config->http2.maxRequestsPerConnection, 500u);
  EXPECT_EQ(config->http2.maxResets, 100u);
  EXPECT_EQ(config->http2.resetsPerSecond, 10u);
  EXPECT_EQ(config->http2.maxStreamErrors, 20u);
  EXPECT_EQ(config->http2.streamErrorsPerSecond, 2u);
  EXPECT_EQ(config->upstreams.passRequestTrailers,
            (std::vector<std::string>{"grpc-timeout", "X-Checksum"}));
  EXPECT_EQ(config->limits.maxConnectionsPerClient, 7u);
  EXPECT_EQ(config->limits.minBodyRate, 2048u);
  EXPECT_EQ(config->timeouts.bodyRateAfter, Duration(3'000));
  EXPECT_EQ(config->timeouts.lingeringTime, Duration(10'000));
  EXPECT_EQ(config->timeouts.lingeringTimeout, Duration(0));
  EXPECT_EQ(config->log.level, "warn");
  EXPECT_EQ(config->admin.socket, "/run/t.sock");
  EXPECT_EQ(config->admin.keepVersions, 3u);
  ASSERT_TRUE(config->admin.http);
  EXPECT_EQ(config->admin.http->port, 9901);
  EXPECT_EQ(config->admin.tokenFile, "/etc/t.token");
  EXPECT_EQ(config->pidFile, "/run/t.pid");
  EXPECT_EQ(config->upgradeSocket, "/run/t-upgrade.sock");
  EXPECT_EQ(config->io, ServerConfig::Io::Epoll);
}

TEST(ServerConfig, TrailerNamesAreFieldNames) {
  std::string error;
  std::string path = write("upstreams:\n  pass_request_trailers: [\"bad name\"]\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_NE(error.find("'upstreams.pass_request_trailers': 'bad name' is not a field name"),
            std::string::npos)
      << error;
}

TEST(ServerConfig, ErrorsNameTheKeyAndItsPlace) {
  std::string error;
  std::string path = write("threads: 2\nlimits:\n  max_body_bytes: lots\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_EQ(error,
            path +
                ":3:19: 'limits.max_body_bytes' must be a size such as 512, 8k or 1m, not 'lots'");
  path = write("listen: [\"127.0.0.1:99999\"]\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_NE(
      error.find(":1:10: 'listen': '127.0.0.1:99999': the port must be a number from 1 to 65535"),
      std::string::npos)
      << error;
  path = write("http2: {max_frame_size: 1k}\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_NE(error.find("'http2.max_frame_size' must be between 16k and 16777215 bytes"),
            std::string::npos)
      << error;
  path = write("log: {level: loud}\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_NE(error.find("'log.level' must be debug, info, warn or error"), std::string::npos)
      << error;
  path = write("admin: {http: \"10.0.0.1:9901\", token_file: t}\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_NE(
      error.find("'admin.http': '10.0.0.1:9901': the admin listener must be on a loopback address"),
      std::string::npos)
      << error;
  path = write("admin: {http: \"127.0.0.1:9901\"}\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_NE(error.find(":1:8: 'admin': an 'http' listener needs a 'token_file'"), std::string::npos)
      << error;
  path = write("io: poll\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_EQ(error, path + ":1:5: 'io' must be uring or epoll, not 'poll'");
  path = write("listen: [oops\n");
  EXPECT_FALSE(loadServerConfig(path, error));
  EXPECT_EQ(error.rfind(path + ":", 0), 0u) << error;
}

TEST(ServerConfig, ReadsTheObservabilityKeys) {
  std::string error;
  auto config = loadServerConfig(write(R"(
metrics: {listen: "0.0.0.0:9100"}
tracing: {enabled: false, sample_ratio: 0.25}
log: {level: debug, error: /var/log/turnout/error.log, syslog: true, access: stderr,
      access_format: json, access_fields: [time, status, trace_id]}
)"),
                                 error);
  ASSERT_TRUE(config) << error;
  ASSERT_TRUE(config->metrics.listen);
  EXPECT_EQ(config->metrics.listen->port, 9100);
  EXPECT_FALSE(config->tracing.enabled);
  EXPECT_EQ(config->tracing.sampleRatio, 0.25);
  EXPECT_EQ(config->log.error, "/var/log/turnout/error.log");
  EXPECT_TRUE(config->log.syslog);
  EXPECT_EQ(config->log.accessFormat, ServerConfig::Log::AccessFormat::Json);
  EXPECT_EQ(config->log.accessFields, (std::vector<std::string>{"time", "status", "trace_id"}));
  for (const auto &[text, message] : std::vector<std::pair<std::string, std::string>>{
           {"log: {access_format: xml}\n", "'log.access_format' must be text or json"},
           {"log: {access_fields: [time, colour]}\n",
            "'log.access_fields': 'colour' is not an access log field (time, request_id"},
           {"tracing: {sample_ratio: 2}\n", "'tracing.sample_ratio' is a number from 0 to 1"},
           {"metrics: {listen: \"unix:/tmp/m.sock\"}\n",
            "'metrics.listen': 'unix:/tmp/m.sock': the metrics listener is TCP"}}) {
    EXPECT_FALSE(loadServerConfig(write(text), error)) << text;
    EXPECT_NE(error.find(message), std::string::npos) << error;
  }
}

TEST(ServerConfig, DefaultsListenOnTheQuickStartPort) {
  ServerConfig config;
  ASSERT_EQ(config.listeners().size(), 1u);
  EXPECT_EQ(config.listeners()[0].text, "127.0.0.1:6188");
  EXPECT_EQ(config.io, ServerConfig::Io::Uring);
  std::string error;
  EXPECT_FALSE(parseListenAddress("localhost:80", error));
  EXPECT_TRUE(parseListenAddress(":80", error));
}

} // namespace
} // namespace turnout
