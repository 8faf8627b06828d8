#!/usr/bin/env python3
"""HTTP/2 towards clients end to end (issue 19): prior knowledge beside HTTP/1.1 on a
plain port, ALPN h2 over TLS, h2load and nghttp and curl through to an HTTP/1 origin,
and python3-h2 speaking raw frames: malformed requests (reset, never forwarded), rapid
reset, CONTINUATION and PING floods, the stream error budget, windows a client never
opens (memory stays bounded), large bodies both ways, GOAWAY on drain, after
max_requests_per_connection and after idle_timeout.

Usage: http2_test.py TURNOUT ROUTEC [unittest args]
"""
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import h2.config
import h2.connection
import h2.events
import h2.settings

import harness
from harness import Certificates, Origin, Proxy, curl

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))

POLICY = '''upstream origin {{ servers = ["127.0.0.1:{port}"] read_timeout = 30s }}
on request {{
    if req.path == "/local" {{ respond 200 "local " + req.version + " " + req.scheme + " " + req.host }}
    if req.path == "/cookie" {{ respond 200 req.header["cookie"] }}
    route origin
}}
'''

PROTOCOL_ERROR, ENHANCE_YOUR_CALM = 1, 11


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


class Connection(h2.connection.H2Connection):
    """python3-h2 closes its side on a GOAWAY; a server's GOAWAY still lets the streams it
    names finish (RFC 9113 6.8), which these tests watch."""

    def _receive_goaway_frame(self, frame):
        result = super()._receive_goaway_frame(frame)
        self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return result


class Client:
    """A raw HTTP/2 client over python3-h2, its checks relaxed so that it can send what a
    hostile client would."""

    def __init__(self, port, receive_buffer=None):
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(10)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=False,
                                           normalize_outbound_headers=False,
                                           validate_inbound_headers=False)
        self.conn = Connection(config=config)
        self.conn.initiate_connection()
        self.flush()
        self.events = []
        self.closed = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, extra=(), end=True, headers=None):
        stream = self.conn.get_next_available_stream_id()
        fields = headers if headers is not None else [
            (":method", "GET"), (":scheme", "http"), (":authority", "h2.test"), (":path", path)]
        self.conn.send_headers(stream, list(fields) + list(extra), end_stream=end)
        self.flush()
        return stream

    def pump(self, until, timeout=10):
        """Reads and answers frames until `until(events)` holds or the connection closes."""
        deadline = time.time() + timeout
        while not until(self.events) and not self.closed and time.time() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.closed = True
                break
            for event in self.conn.receive_data(data):
                self.events.append(event)
                if isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            try:
                self.flush()
            except OSError:
                pass
        return self.events

    def response(self, stream, timeout=10):
        """(status, headers, body) of `stream`, or the reset's error code as status < 0."""
        self.pump(lambda events: any(
            isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and e.stream_id == stream
            for e in events), timeout)
        status, headers, body = None, {}, b""
        for e in self.events:
            if getattr(e, "stream_id", None) != stream:
                continue
            if isinstance(e, h2.events.ResponseReceived):
                headers = dict(e.headers)
                status = int(headers[":status"])
            elif isinstance(e, h2.events.DataReceived):
                body += e.data
            elif isinstance(e, h2.events.StreamReset):
                status = -e.error_code
        return status, headers, body

    def terminated(self, timeout=10):
        self.pump(lambda events: any(isinstance(e, h2.events.ConnectionTerminated) for e in events), timeout)
        for e in self.events:
            if isinstance(e, h2.events.ConnectionTerminated):
                return e
        return None

    def close(self):
        self.sock.close()


class Http2(unittest.TestCase):
    config = ""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-h2-")
        cls.origin = Origin(cls.dir)
        cls.proxy = Proxy(cls.dir, POLICY.format(port=cls.origin.port), config=cls.config or "\n")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def url(self, path):
        return f"http://127.0.0.1:{self.proxy.port}{path}"

    def forwarded(self, marker):
        return [line for line in self.origin.requests() if marker in line]


class PriorKnowledge(Http2):
    config = "http2:\n  max_requests_per_connection: 200000\n"

    def test_curl_speaks_http2_and_http1_on_the_same_port(self):
        status, _, body = curl("--http2-prior-knowledge", self.url("/local"))
        self.assertEqual((status, body), (200, b"local HTTP/2 http 127.0.0.1"))
        status, _, body = curl(self.url("/local"))
        self.assertEqual((status, body), (200, b"local HTTP/1.1 http 127.0.0.1"))
        status, headers, body = curl("--http2-prior-knowledge", self.url("/bytes/100000"))
        self.assertEqual((status, headers.get("x-origin-port"), len(body)), (200, str(self.origin.port), 100000))

    def test_nghttp_requests_reach_the_origin(self):
        result = subprocess.run(["nghttp", "-n", "-s", self.url("/bytes/5000"), self.url("/nghttp-marker")],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(self.forwarded("/nghttp-marker"))
        body = subprocess.run(["nghttp", self.url("/local")], capture_output=True, timeout=30).stdout
        self.assertEqual(body, b"local HTTP/2 http 127.0.0.1")

    def test_h2load_100000_requests_without_an_error(self):
        result = subprocess.run(["h2load", "-n", "100000", "-c", "10", "-m", "100", self.url("/local")],
                                capture_output=True, text=True, timeout=120)
        self.assertIn("100000 succeeded, 0 failed, 0 errored", result.stdout, result.stdout)
        result = subprocess.run(["h2load", "-n", "2000", "-c", "10", "-m", "10", self.url("/bytes/16384")],
                                capture_output=True, text=True, timeout=120)
        self.assertIn("2000 succeeded, 0 failed, 0 errored", result.stdout, result.stdout)
        self.assertIn("2000 2xx", result.stdout)

    def test_streams_reuse_pooled_upstream_connections(self):
        before = len(self.origin.connections())
        result = subprocess.run(["h2load", "-n", "500", "-c", "1", "-m", "4", self.url("/pooled")],
                                capture_output=True, text=True, timeout=60)
        self.assertIn("500 succeeded", result.stdout, result.stdout)
        self.assertLessEqual(len(self.origin.connections()) - before, 8)

    def test_cookie_crumbs_are_joined(self):
        c = Client(self.proxy.port)
        stream = c.request("/cookie", extra=[("cookie", "a=1"), ("cookie", "b=2")])
        self.assertEqual(c.response(stream), (200, c.response(stream)[1], b"a=1; b=2"))
        c.close()

    def test_a_body_goes_up_and_comes_down_whole(self):
        size = 30 * 1024 * 1024
        path = os.path.join(self.dir, "upload.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        status, _, body = curl("--http2-prior-knowledge", "--data-binary", f"@{path}", self.url("/upload"))
        self.assertEqual((status, body), (200, f"{size} {digest}\n".encode()))
        status, _, body = curl("--http2-prior-knowledge", self.url(f"/bytes/{size}"))
        self.assertEqual((status, len(body)), (200, size))
        self.assertEqual(hashlib.sha256(body).hexdigest(), harness.pattern_sha256(size))
        status, headers, body = curl("--http2-prior-knowledge", self.url("/chunked/200000"))
        self.assertEqual((status, len(body)), (200, 200000))

    def test_expect_100_continue(self):
        status, _, body = curl("--http2-prior-knowledge", "-H", "Expect: 100-continue", "--data-binary", "x" * 5000,
                               self.url("/upload"))
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"5000 "))


class Malformed(Http2):
    def test_each_malformed_request_is_reset_and_never_forwarded(self):
        base = [(":method", "GET"), (":scheme", "http"), (":authority", "h2.test")]
        cases = {
            "no-path": base,
            "repeated-method": base + [(":path", "/m-repeated"), (":method", "POST")],
            "pseudo-after-regular": [(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
                                     (":authority", "h2.test"), (":path", "/m-after")],
            "unknown-pseudo": base + [(":path", "/m-unknown"), (":bogus", "1")],
            "uppercase": base + [(":path", "/m-upper"), ("X-Upper", "1")],
            "connection": base + [(":path", "/m-connection"), ("connection", "keep-alive")],
            "transfer-encoding": base + [(":path", "/m-te"), ("transfer-encoding", "chunked")],
            "te-gzip": base + [(":path", "/m-tegzip"), ("te", "gzip")],
            "value-newline": base + [(":path", "/m-newline"), ("x-a", "1\r\nx-b: 2")],
            "name-space": base + [(":path", "/m-space"), ("x a", "1")],
        }
        for name, headers in cases.items():
            with self.subTest(name):
                c = Client(self.proxy.port)
                stream = c.request(None, headers=headers)
                status, _, _ = c.response(stream)
                self.assertEqual(status, -PROTOCOL_ERROR, name)
                c.close()
        # content-length that disagrees with the DATA sent
        c = Client(self.proxy.port)
        stream = c.request(None, headers=[(":method", "POST"), (":scheme", "http"), (":authority", "h2.test"),
                                          (":path", "/m-length/upload"), ("content-length", "10")], end=False)
        c.conn.send_data(stream, b"12345678901234567890", end_stream=True)
        c.flush()
        self.assertEqual(c.response(stream)[0], -PROTOCOL_ERROR)
        c.close()
        time.sleep(0.3)
        self.assertEqual([line for line in self.origin.requests() if "/m-" in line], [])
        # The proxy still answers.
        self.assertEqual(curl("--http2-prior-knowledge", self.url("/local"))[0], 200)

    def test_requests_the_proxy_refuses_get_their_status(self):
        c = Client(self.proxy.port)
        big = c.request("/big", extra=[("x-big", "a" * 40000)])
        connect = c.request(None, headers=[(":method", "CONNECT"), (":authority", "h2.test:443")])
        host = c.request("/host", extra=[("host", "other.test")])
        self.assertEqual(c.response(big)[0], 431)
        self.assertEqual(c.response(connect)[0], 405)
        self.assertEqual(c.response(host)[0], 400)
        c.close()


class Floods(Http2):
    config = "http2:\n  max_stream_errors: 5\n  stream_errors_per_second: 0\n"

    def test_rapid_reset_ends_in_goaway(self):
        c = Client(self.proxy.port)
        c.pump(lambda events: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events), 5)
        try:
            for _ in range(1200):
                stream = c.request("/local")
                c.conn.reset_stream(stream)
            c.flush()
        except OSError:
            pass
        self.assertIsNotNone(c.terminated())
        c.close()
        self.assertEqual(curl("--http2-prior-knowledge", self.url("/local"))[0], 200)

    def test_continuation_flood_ends_the_connection(self):
        c = Client(self.proxy.port)
        encoder = c.conn.encoder
        block = encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "h2.test"),
                                (":path", "/flood")])
        flood = frame(1, 0, 1, block) + b"".join(frame(9, 0, 1) for _ in range(100))
        try:
            c.sock.sendall(flood)
        except OSError:
            pass
        terminated = c.terminated()
        self.assertTrue(terminated is not None or c.closed)
        c.close()

    def test_ping_flood_from_a_client_that_does_not_read_ends_the_connection(self):
        c = Client(self.proxy.port, receive_buffer=4096)
        ping = frame(6, 0, 0, b"\0" * 8)
        closed = False
        deadline = time.time() + 30
        try:
            while time.time() < deadline:
                c.sock.sendall(ping * 4096)
        except OSError:
            closed = True
        self.assertTrue(closed)
        c.close()

    def test_stream_errors_past_the_budget_end_in_goaway(self):
        c = Client(self.proxy.port)
        for _ in range(8):
            try:
                c.request(None, headers=[(":method", "GET"), (":scheme", "http"), (":authority", "h2.test"),
                                         (":path", "/e"), ("X-Upper", "1")])
            except OSError:
                break
        terminated = c.terminated()
        self.assertIsNotNone(terminated)
        self.assertEqual(terminated.error_code, ENHANCE_YOUR_CALM)
        c.close()


class SlowReaders(Http2):
    def test_windows_a_client_never_opens_bound_memory(self):
        base = harness.rss_kb(self.proxy.process.pid)
        clients = []
        for _ in range(10):
            c = Client(self.proxy.port)
            c.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
            for _ in range(100):
                c.request("/bytes/4000000")
            clients.append(c)
        time.sleep(3)
        # Each stream holds at most a read's worth; the origin and the kernel hold the rest.
        grown = harness.rss_kb(self.proxy.process.pid) - base
        print(f"\n1,000 streams of a client that does not read: RSS grew by {grown} KiB", file=sys.stderr)
        self.assertLess(grown, 200 * 1024)
        for c in clients:
            c.close()
        self.assertEqual(curl("--http2-prior-knowledge", self.url("/local"))[0], 200)


class Goaway(Http2):
    config = "http2:\n  max_requests_per_connection: 3\n  idle_timeout: 1s\n"

    def test_max_requests_per_connection(self):
        c = Client(self.proxy.port)
        c.pump(lambda events: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events), 5)
        streams = [c.request("/local") for _ in range(5)]
        answered = [c.response(s)[0] for s in streams[:3]]
        self.assertEqual(answered, [200, 200, 200])
        terminated = c.terminated()
        self.assertEqual(terminated.last_stream_id, streams[2])
        c.close()

    def test_idle_connection_gets_goaway(self):
        c = Client(self.proxy.port)
        started = time.time()
        terminated = c.terminated(timeout=5)
        self.assertIsNotNone(terminated)
        self.assertEqual(terminated.error_code, 0)
        self.assertGreater(time.time() - started, 0.8)
        c.close()


UPSTREAM_POLICY = '''upstream origin {{ servers = ["127.0.0.1:{port}"] protocol = {protocol} {extra} }}
on request {{ route origin }}
on response {{ resp.header["x-upstream-protocol"] = upstream.protocol }}
'''


class H2Origin(harness.ScriptOrigin):
    """tests/runtime/h2_origin.py on a free port."""

    def __init__(self, directory, *options):
        super().__init__(directory, "h2_origin.py", *options)

    def connections(self):
        return len([line for line in self.lines() if line.startswith("connect ")])

    def requests(self):
        return [line for line in self.lines() if line.startswith("request ")]


class Upstream(unittest.TestCase):
    """HTTP/2 towards origins: h2c and h2 (TLS, ALPN), multiplexed, with GOAWAY."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="turnout-h2-up-")
        self.stopping = []

    def tearDown(self):
        for thing in reversed(self.stopping):
            thing.stop()

    def start(self, origin_options=(), protocol="h2c", extra="", config="\n"):
        origin = H2Origin(self.dir, *origin_options)
        self.stopping.append(origin)
        proxy = Proxy(self.dir, UPSTREAM_POLICY.format(port=origin.port, protocol=protocol, extra=extra),
                      config=config)
        self.stopping.append(proxy)
        return origin, proxy

    def h2load(self, proxy, n, c, m, path="/bytes/1000"):
        result = subprocess.run(["h2load", "-n", str(n), "-c", str(c), "-m", str(m),
                                 f"http://127.0.0.1:{proxy.port}{path}"], capture_output=True, text=True, timeout=120)
        self.assertIn(f"{n} succeeded, 0 failed, 0 errored", result.stdout, result.stdout)

    def test_requests_share_a_handful_of_connections(self):
        origin, proxy = self.start()
        status, headers, body = curl(f"http://127.0.0.1:{proxy.port}/anything", "-H", "Cookie: a=1; b=2")
        self.assertEqual((status, headers.get("x-origin"), headers.get("x-upstream-protocol")), (200, "h2", "HTTP/2"))
        self.assertIn(b":authority: 127.0.0.1", body)
        self.assertIn(b"cookie: a=1; b=2", body)  # sent as crumbs, joined by python3-h2
        self.h2load(proxy, 1000, 50, 2)
        print(f"\n1,000 requests over 50 client connections: {origin.connections()} upstream connections",
              file=sys.stderr)
        self.assertLessEqual(origin.connections(), 5)
        self.assertEqual(len(origin.requests()), 1001)

    def test_the_origins_stream_limit_is_respected(self):
        origin, proxy = self.start(["--max-streams", "5"])
        self.h2load(proxy, 1000, 10, 5)  # 50 at once; python3-h2 breaks a connection past 5
        opened = [int(line.split("open=")[1]) for line in origin.requests()]
        self.assertLessEqual(max(opened), 5)
        self.assertGreater(origin.connections(), 1)  # more than one was needed

    def test_an_origin_goaway_loses_no_request(self):
        origin, proxy = self.start(["--goaway-after", "50"])
        self.h2load(proxy, 3000, 10, 10)
        self.assertGreater(origin.connections(), 10)
        # POSTs too: a stream the origin refused (above its GOAWAY's last) goes again
        # whatever its method; one it took is never sent twice.
        body = os.path.join(self.dir, "post.bin")
        with open(body, "wb") as f:
            f.write(b"p" * 300)
        result = subprocess.run(["h2load", "-n", "2000", "-c", "10", "-m", "10", "-d", body,
                                 f"http://127.0.0.1:{proxy.port}/upload"], capture_output=True, text=True, timeout=120)
        self.assertIn("2000 succeeded, 0 failed, 0 errored", result.stdout, result.stdout)
        posts = [line for line in origin.requests() if " POST /upload " in line]
        self.assertEqual(len(posts), 2000)

    def test_bodies_and_trailers_both_ways(self):
        origin, proxy = self.start()
        size = 100 * 1024 * 1024
        path = os.path.join(self.dir, "upload.bin")
        with open(path, "wb") as f:
            for _ in range(100):
                f.write(os.urandom(1024 * 1024))
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        base = harness.rss_kb(proxy.process.pid)
        for client in (["--http1.1"], ["--http2-prior-knowledge"]):
            status, _, body = curl(*client, "--data-binary", f"@{path}", f"http://127.0.0.1:{proxy.port}/upload")
            self.assertEqual((status, body), (200, f"{size} {digest}\n".encode()), client)
            result = subprocess.run(["curl", "-s", *client, f"http://127.0.0.1:{proxy.port}/bytes/{size}"],
                                    capture_output=True, timeout=120)
            self.assertEqual(hashlib.sha256(result.stdout).hexdigest(), harness.pattern_sha256(size), client)
            status, _, body = curl(*client, f"http://127.0.0.1:{proxy.port}/trailers", "--raw")
            self.assertIn(b"x-checksum: done", body) if client == ["--http1.1"] else self.assertEqual(status, 200)
        grown = harness.rss_kb(proxy.process.pid) - base
        print(f"\n100 MB up and down, HTTP/1.1 and HTTP/2 clients to an h2c origin: RSS grew by {grown} KiB",
              file=sys.stderr)
        self.assertLess(grown, 64 * 1024)

    def test_h2_over_tls_and_auto(self):
        certs = Certificates(self.dir)
        cert, key = certs.leaf("origin", ["origin.test"])
        tls = f"tls = true sni = \"origin.test\" ca = \"{certs.ca}\""
        origin, proxy = self.start(["--tls", cert, key], protocol="h2", extra=tls)
        status, headers, _ = curl(f"http://127.0.0.1:{proxy.port}/anything")
        self.assertEqual((status, headers.get("x-origin"), headers.get("x-upstream-protocol")), (200, "h2", "HTTP/2"))
        auto = Proxy(self.dir, UPSTREAM_POLICY.format(port=origin.port, protocol="auto", extra=tls), config="\n")
        self.stopping.append(auto)
        status, headers, _ = curl(f"http://127.0.0.1:{auto.port}/anything")
        self.assertEqual((status, headers.get("x-upstream-protocol")), (200, "HTTP/2"))
        # An HTTP/1.1 origin (no ALPN): auto speaks HTTP/1.1 to it; h2 refuses it.
        plain = Origin(self.dir, tls=(cert, key))
        self.stopping.append(plain)
        for protocol, expected in (("auto", 200), ("h2", 502)):
            proxy = Proxy(self.dir, UPSTREAM_POLICY.format(port=plain.port, protocol=protocol, extra=tls), config="\n")
            self.stopping.append(proxy)
            status, headers, _ = curl(f"http://127.0.0.1:{proxy.port}/anything")
            self.assertEqual(status, expected, protocol)
            if expected == 200:
                self.assertEqual(headers.get("x-upstream-protocol"), "HTTP/1.1")


class Drain(unittest.TestCase):
    def test_shutdown_sends_goaway_and_lets_streams_finish(self):
        directory = tempfile.mkdtemp(prefix="turnout-h2-drain-")
        origin = Origin(directory)
        proxy = Proxy(directory, POLICY.format(port=origin.port))
        try:
            c = Client(proxy.port)
            stream = c.request("/slow/1500")
            time.sleep(0.3)
            proxy.process.send_signal(signal.SIGTERM)
            status, _, _ = c.response(stream)
            self.assertEqual(status, 200)
            self.assertIsNotNone(c.terminated())
            self.assertEqual(proxy.process.wait(timeout=10), 0)
            c.close()
        finally:
            proxy.process.kill()
            origin.stop()


class HotLoadsAndUpgrade(unittest.TestCase):
    def test_no_stream_fails_across_hot_loads_and_a_binary_upgrade(self):
        """h2load runs while the policy is loaded again five times and the binary is
        upgraded: the old process's GOAWAY lets every stream it took finish, and the
        clients' streams all succeed (h2load opens no new connection after a GOAWAY, so
        its run ends there)."""
        directory = tempfile.mkdtemp(prefix="turnout-h2-upgrade-")
        origin = Origin(directory)
        port = harness.free_port()
        policy = os.path.join(directory, "policy.route")
        with open(policy, "w") as f:
            f.write(POLICY.format(port=origin.port))
        upgrade = os.path.join(directory, "upgrade.sock")
        config = os.path.join(directory, "turnout.yaml")
        with open(config, "w") as f:
            f.write(f"listen: ['127.0.0.1:{port}']\nthreads: 1\npolicy: {policy}\nupgrade_socket: {upgrade}\n"
                    "http2: {max_requests_per_connection: 100000000}\n")
        logs = [open(os.path.join(directory, f"{name}.stderr"), "w") for name in ("old", "new")]
        old = harness.start([harness.TURNOUT, "--config", config], stderr=logs[0])
        new = None
        try:
            harness.wait_for_port(port, old)
            load = subprocess.Popen(["h2load", "-D", "6", "-c", "10", "-m", "10", f"http://127.0.0.1:{port}/bytes/2000"],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            for _ in range(5):
                old.send_signal(signal.SIGHUP)
                time.sleep(0.2)
            new = harness.upgrade([harness.TURNOUT, "--config", config], old, upgrade, logs[1])
            self.assertEqual(old.wait(timeout=15), 0)
            out, _ = load.communicate(timeout=30)
            started = int(re.search(r"(\d+) started", out).group(1))
            succeeded = int(re.search(r"(\d+) succeeded", out).group(1))
            failed = int(re.search(r"(\d+) failed", out).group(1))
            self.assertGreater(started, 1000, out)
            self.assertIn(f"{started} done", out)
            self.assertIn(f"{succeeded} 2xx, 0 3xx, 0 4xx, 0 5xx", out)
            # Every stream the proxies took succeeded. h2load counts as failed the requests
            # it could not submit once the old process's GOAWAY had come (nghttp2 opens no
            # stream after one, and h2load does not reconnect): those it reports as
            # "Process Request Failure", and they never reached a proxy.
            refused = [int(n) for n in re.findall(r"Process Request Failure:(\d+)", out)]
            self.assertLessEqual(failed, max(refused, default=0), out)
            # The new process serves HTTP/2.
            self.assertEqual(curl("--http2-prior-knowledge", f"http://127.0.0.1:{port}/local")[::2],
                             (200, b"local HTTP/2 http 127.0.0.1"))
        finally:
            if old.poll() is None:
                old.kill()
            if new:
                new.send_signal(signal.SIGTERM)
                self.assertEqual(new.wait(timeout=10), 0)
            origin.stop()
            for log in logs:
                log.close()


class OverTls(unittest.TestCase):
    def test_alpn_h2_and_http1(self):
        directory = tempfile.mkdtemp(prefix="turnout-h2-tls-")
        certs = Certificates(directory)
        cert, key = certs.leaf("site", ["site.test"])
        policy = os.path.join(directory, "policy.route")
        with open(policy, "w") as f:
            f.write('on request { respond 200 req.version + " " + tls.alpn + " " + req.scheme }\n')
        port = harness.free_port()
        stderr = open(os.path.join(directory, "turnout.stderr"), "w")
        proxy = harness.start([harness.TURNOUT, "run", policy, "--listen-tls", f"127.0.0.1:{port}",
                               "--cert", cert, "--key", key, "--threads", "1"], stderr=stderr)
        try:
            harness.wait_for_port(port, proxy)
            common = ["--cacert", certs.ca, "--resolve", f"site.test:{port}:127.0.0.1", f"https://site.test:{port}/"]
            self.assertEqual(curl("--http2", *common)[::2], (200, b"HTTP/2 h2 https"))
            self.assertEqual(curl("--http1.1", *common)[::2], (200, b"HTTP/1.1 http/1.1 https"))
            result = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "20", f"https://127.0.0.1:{port}/"],
                                    capture_output=True, text=True, timeout=60)
            self.assertIn("2000 succeeded, 0 failed, 0 errored", result.stdout, result.stdout)
            self.assertIn("TLS Protocol: TLSv1.3", result.stdout)
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()


if __name__ == "__main__":
    unittest.main()
