#!/usr/bin/env python3
"""End-to-end tests of the turnout proxy: real processes on loopback only.

Each test class starts its own origins (examples/origin.py) and its own turnout, drives
them with curl and raw sockets, and stops them. Usage: proxy_test.py TURNOUT ROUTEC [unittest args]
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import (PATTERN, Origin, Proxy, curl, free_port, pattern_sha256, raw, raw_in_turns, rss_kb, statuses,
                     wait_for_port)

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))


class LoadBalancing(unittest.TestCase):
    """The load_balancer example's shape against two local origins."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.a, cls.b = Origin(cls.dir), Origin(cls.dir)
        cls.proxy = Proxy(cls.dir, f"""
upstream backend {{
    servers = ["127.0.0.1:{cls.a.port}", "127.0.0.1:{cls.b.port}"]
    balance = round_robin
    read_timeout = 2s
    retries = 1
}}
on request {{
    if req.path == "/healthz" {{ respond 200 "ok\\n" }}
    if req.path starts_with "/old/" {{ redirect 301 "https://example.com/new/" }}
    route backend
}}
on upstream_request {{
    upstream.req.header["Host"] = "backend.example"
    delete upstream.req.header["cookie"]
}}
on response {{
    resp.header["x-served-by"] = "turnout"
}}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.a.stop()
        cls.b.stop()

    def test_requests_alternate_and_the_origin_sees_the_rewritten_host(self):
        ports = []
        for i in range(6):
            status, fields, body = curl(self.proxy.url(f"/alternate/{i}"), "-H", "cookie: secret=1")
            self.assertEqual(status, 200)
            self.assertEqual(fields["x-seen-host"], "backend.example")
            self.assertEqual(fields["x-served-by"], "turnout")
            self.assertIn(f"hello from origin {fields['x-origin-port']}".encode(), body)
            self.assertNotIn(b"secret=1", body)
            self.assertIn(b"x-forwarded-for: 127.0.0.1", body.lower())
            ports.append(int(fields["x-origin-port"]))
        self.assertEqual(set(ports), {self.a.port, self.b.port})
        self.assertTrue(all(ports[i] != ports[i + 1] for i in range(len(ports) - 1)), ports)

    def test_upstream_connections_are_reused(self):
        before = len(self.a.connections()) + len(self.b.connections())
        for i in range(20):  # 20 client connections, one after another
            self.assertEqual(curl(self.proxy.url(f"/reuse/{i}"))[0], 200)
        after = len(self.a.connections()) + len(self.b.connections())
        reqs = [r for r in self.a.requests() + self.b.requests() if "/reuse/" in r]
        self.assertEqual(len(reqs), 20)
        self.assertLessEqual(after - before, 2, "each origin should see at most one new connection")

    def test_sockets_go_through_the_io_the_config_chooses(self):
        # An io_uring instance shows among the process's descriptors (one per worker);
        # with `--io epoll` there is none. A kernel that refuses io_uring falls back to
        # epoll and says so on stderr.
        fds = os.listdir(f"/proc/{self.proxy.process.pid}/fd")
        rings = sum(os.readlink(f"/proc/{self.proxy.process.pid}/fd/{fd}") == "anon_inode:[io_uring]"
                    for fd in fds if os.path.exists(f"/proc/{self.proxy.process.pid}/fd/{fd}"))
        with open(self.proxy.stderr.name) as f:
            refused = "io_uring refused" in f.read()
        if harness.IO == "epoll" or refused:
            self.assertEqual(rings, 0)
        else:
            self.assertEqual(rings, 1)

    def test_local_answers_never_reach_an_origin(self):
        status, _, body = curl(self.proxy.url("/healthz"))
        self.assertEqual((status, body), (200, b"ok\n"))
        status, fields, _ = curl(self.proxy.url("/old/x"))
        self.assertEqual(status, 301)
        self.assertEqual(fields["location"], "https://example.com/new/")
        self.assertEqual(fields["x-served-by"], "turnout")
        self.assertFalse([r for r in self.a.requests() + self.b.requests() if "/healthz" in r or "/old/" in r])

    def test_streams_100_mb_down_with_flat_memory(self):
        n = 100 * 1000 * 1000
        before = rss_kb(self.proxy.process.pid)
        result = subprocess.run(f"curl -s {self.proxy.url(f'/bytes/{n}')} | sha256sum", shell=True,
                                capture_output=True, text=True)
        self.assertEqual(result.stdout.split()[0], pattern_sha256(n))
        result = subprocess.run(f"curl -s {self.proxy.url(f'/chunked/{n}')} | sha256sum", shell=True,
                                capture_output=True, text=True)
        self.assertEqual(result.stdout.split()[0], pattern_sha256(n))
        growth = rss_kb(self.proxy.process.pid) - before
        self.assertLess(growth, 16 * 1024, f"RSS grew by {growth} KiB")

    def test_streams_100_mb_up_with_flat_memory(self):
        n = 100 * 1000 * 1000
        path = os.path.join(self.dir, "upload.bin")
        with open(path, "wb") as f:
            remaining = n
            while remaining:
                piece = PATTERN[: min(remaining, len(PATTERN))]
                f.write(piece)
                remaining -= len(piece)
        before = rss_kb(self.proxy.process.pid)
        expected = f"{n} {pattern_sha256(n)}\n".encode()
        status, _, body = curl("-T", path, self.proxy.url("/upload"))  # Content-Length, Expect
        self.assertEqual((status, body), (200, expected))
        status, _, body = curl("-T", "-", self.proxy.url("/upload"), data=open(path, "rb").read())  # chunked
        self.assertEqual((status, body), (200, expected))
        growth = rss_kb(self.proxy.process.pid) - before
        self.assertLess(growth, 16 * 1024, f"RSS grew by {growth} KiB")
        os.unlink(path)

    def stalled_clients(self, path, n=64):
        """n clients that ask for `path` and do not read the answer."""
        clients = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", self.proxy.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(f"GET {path}?client={i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            clients.append(s)
            time.sleep(0.01)  # the origin's listen backlog is short
        time.sleep(1.0)
        return clients

    def test_memory_a_burst_took_goes_back(self):
        # Each stalled response holds a full read buffer.
        before = rss_kb(self.proxy.process.pid)
        clients = self.stalled_clients(f"/bytes/{16 << 20}")
        during = rss_kb(self.proxy.process.pid)
        for s in clients:
            s.close()
        time.sleep(3.0)  # released after a second unused, checked once a second
        after = rss_kb(self.proxy.process.pid)
        self.assertGreater(during - before, 3 * 1024, f"the burst took {during - before} KiB")
        # Most of it, the buffers; what stays is the code and bookkeeping the burst used.
        self.assertLess(after - before, (during - before) / 2, f"RSS {before} KiB before, {during} during, {after} after")

    def test_a_body_the_origin_cuts_short_ends_the_client_connection(self):
        result = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", self.proxy.url("/truncated/2000000")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 18, "curl: partial file")  # the length said more
        self.assertEqual(int(result.stdout), 1000000)
        self.assertEqual(curl(self.proxy.url("/then-another"))[0], 200)

    def test_chunked_responses_keep_their_trailers(self):
        out = subprocess.run(["curl", "-s", "--raw", self.proxy.url("/chunked/1000")], capture_output=True).stdout
        self.assertIn(b"x-checksum: " + pattern_sha256(1000).encode(), out)

    def test_head_has_no_body_but_its_length(self):
        out = raw(self.proxy.port, b"HEAD /bytes/1234 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"content-length: 1234", head.lower())
        self.assertEqual(body, b"")

    def test_pipelined_requests_answer_in_order(self):
        requests = b"".join(b"GET /pipe/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(3))
        out = raw(self.proxy.port, requests + b"GET /pipe/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(statuses(out), [200] * 4)
        self.assertEqual(re.findall(rb"GET (/pipe/\d)", out), [b"/pipe/0", b"/pipe/1", b"/pipe/2", b"/pipe/3"])

    def test_absolute_form_targets_work(self):
        out = raw(self.proxy.port, b"GET http://Example.COM:8080/abs?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n")
        self.assertEqual(statuses(out)[:1], [200])
        self.assertIn(b"GET /abs?q=1", out)

    def test_hop_by_hop_headers_are_removed(self):
        status, fields, body = curl(self.proxy.url("/hop"), "-H", "Connection: x-secret", "-H", "x-secret: 1",
                                    "-H", "Keep-Alive: timeout=5", "-H", "Proxy-Authorization: basic abc",
                                    "-H", "TE: trailers", "-H", "x-kept: yes")
        self.assertEqual(status, 200)
        lowered = body.lower()
        for gone in (b"x-secret", b"keep-alive:", b"proxy-authorization", b"\nte:"):
            self.assertNotIn(gone, lowered)
        self.assertIn(b"x-kept: yes", lowered)

    def test_smuggling_and_malformed_requests_get_4xx_and_reach_no_origin(self):
        cases = {
            "content-length with transfer-encoding":
                (400, b"POST /s1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            "transfer-encoding then content-length":
                (400, b"POST /s2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"),
            "conflicting content-lengths":
                (400, b"POST /s3 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            "bad chunk size": (400, b"POST /s4 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
            "obs-fold": (400, b"GET /s5 HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
            "bare CR": (400, b"GET /s6 HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"),
            "space in a header name": (400, b"GET /s7 HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"),
            "space before the colon": (400, b"GET /s8 HTTP/1.1\r\nHost : a\r\n\r\n"),
            "transfer-encoding not chunked": (400, b"POST /s9 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
            "chunked not last": (400, b"POST /s10 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
            "negative content-length": (400, b"POST /s11 HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
            "NUL in a value": (400, b"GET /s12 HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),
            "no Host": (400, b"GET /s13 HTTP/1.1\r\n\r\n"),
            "two Hosts": (400, b"GET /s14 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            "oversized request line": (414, b"GET /s15" + b"a" * 10000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"),
            "oversized headers": (431, b"GET /s16 HTTP/1.1\r\nHost: a\r\n" +
                                  b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(40)) + b"\r\n"),
            "CONNECT": (405, b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        }
        for name, (expected, data) in cases.items():
            with self.subTest(name):
                out = raw(self.proxy.port, data + b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
                self.assertEqual(statuses(out), [expected], out[:200])  # and the connection closed
        seen = [r for r in self.a.requests() + self.b.requests() if re.search(r" /s\d|/after", r)]
        self.assertEqual(seen, [])


class Failover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.live = Origin(cls.dir)
        cls.dead = free_port()
        cls.proxy = Proxy(cls.dir, f"""
upstream half {{
    servers = ["127.0.0.1:{cls.dead}", "127.0.0.1:{cls.live.port}"]
    retries = 1
}}
upstream none {{
    servers = ["127.0.0.1:{cls.dead}"]
    retries = 2
}}
upstream slow {{
    servers = ["127.0.0.1:{cls.live.port}"]
    read_timeout = 1s
}}
upstream bounded {{
    servers = ["127.0.0.1:{cls.live.port}"]
    read_timeout = 10s
    total_timeout = 1s
}}
upstream capped {{
    servers = ["127.0.0.1:{cls.live.port}"]
    max_connections = 1
}}
on request {{
    if req.path starts_with "/none" {{ route none }}
    if req.path starts_with "/slow" {{ route slow }}
    if req.path starts_with "/bounded" {{ route bounded }}
    if req.path starts_with "/capped" {{ route capped }}
    route half
}}
on error {{
    if req.path == "/none/custom" {{ respond 503 "custom: " + error.kind + "\\n" }}
}}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.live.stop()

    def test_one_origin_down_gives_no_client_visible_error(self):
        for i in range(20):
            status, fields, _ = curl(self.proxy.url(f"/half/{i}"))
            self.assertEqual(status, 200)
            self.assertEqual(int(fields["x-origin-port"]), self.live.port)

    def test_every_origin_down_gives_502(self):
        status, _, body = curl(self.proxy.url("/none/x"))
        self.assertEqual((status, body), (502, b"bad gateway\n"))
        self.proxy.stderr.flush()
        with open(self.proxy.stderr.name) as f:  # the error log names the failure
            self.assertRegex(f.read(), r"turnout warning: request \S+: upstream none attempt 1: connect_failed")

    def test_the_error_phase_replaces_the_answer(self):
        status, _, body = curl(self.proxy.url("/none/custom"))
        self.assertEqual((status, body), (503, b"custom: connect_failed\n"))

    def test_total_timeout_bounds_the_whole_exchange(self):
        started = time.time()
        status, _, _ = curl(self.proxy.url("/bounded/slow/3000"))
        self.assertEqual(status, 504)
        self.assertLess(time.time() - started, 2.5)

    def test_a_peer_at_max_connections_takes_no_more(self):
        slow = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                 self.proxy.url("/capped/slow/3000")], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # time enough, on a loaded machine, for it to be in flight
        status, _, body = curl(self.proxy.url("/capped/now"))
        self.assertEqual((status, body), (503, b"service unavailable\n"))
        self.assertEqual(slow.communicate()[0], "200")

    def test_a_read_timeout_gives_504(self):
        started = time.time()
        status, _, body = curl(self.proxy.url("/slow/3000"))
        self.assertEqual((status, body), (504, b"gateway timeout\n"))
        self.assertLess(time.time() - started, 2.5)


class StaleUpstreamConnections(unittest.TestCase):
    """An origin that closes kept-alive connections idle for 0.2 s, as servers with a short
    keep-alive timeout do: a pooled connection it closed is tried, found stale, and the
    request goes again on a fresh one, unseen by the client."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.origin = Origin(cls.dir, idle_close=0.2)
        cls.proxy = Proxy(cls.dir, f"""
upstream o {{ servers = ["127.0.0.1:{cls.origin.port}"] }}
on request {{ route o }}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def test_a_connection_the_origin_closed_is_replaced_unseen(self):
        for i in range(3):
            status, _, body = curl(self.proxy.url(f"/again/{i}"))
            self.assertEqual(status, 200, body)
            time.sleep(0.5)
        status, _, body = curl("-X", "POST", "--data-binary", "small body", self.proxy.url("/upload"))
        self.assertEqual(status, 200, body)
        self.assertIn(b"10", body)
        self.assertGreaterEqual(len(self.origin.connections()), 4)


class Tls(unittest.TestCase):
    """Upstreams over TLS, against an origin with a certificate made for the test."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cert, key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=origin.test", "-addext", "subjectAltName=DNS:origin.test"],
                       check=True, capture_output=True)
        cls.origin = Origin(cls.dir, tls=(cert, key))
        cls.proxy = Proxy(cls.dir, f"""
upstream trusting {{
    servers = ["127.0.0.1:{cls.origin.port}"]
    tls = true
    sni = "origin.test"
    verify = false
}}
upstream verifying {{
    servers = ["127.0.0.1:{cls.origin.port}"]
    tls = true
    sni = "origin.test"
}}
on request {{
    if req.path starts_with "/verify" {{ route verifying }}
    route trusting
}}
on upstream_request {{
    upstream.req.header["Host"] = "origin.test"
}}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def test_requests_go_over_tls_and_reuse_the_connection(self):
        for i in range(5):
            status, fields, body = curl(self.proxy.url(f"/tls/{i}"))
            self.assertEqual(status, 200)
            self.assertEqual(fields["x-seen-host"], "origin.test")
        self.assertEqual(len(self.origin.connections()), 1)

    def test_a_large_upload_goes_whole_over_tls(self):
        # Past the replay buffer the body streams; bytes the TLS server sends first (its
        # session tickets) are no early answer.
        for i in range(3):
            status, _, body = curl("-X", "POST", "-H", "Expect:", "--data-binary", "@-", self.proxy.url(f"/upload/{i}"),
                                   data=PATTERN * 16)
            self.assertEqual(status, 200, body)
            self.assertIn(pattern_sha256(len(PATTERN) * 16).encode(), body)

    def test_an_untrusted_certificate_is_refused_when_verifying(self):
        status, _, body = curl(self.proxy.url("/verify"))
        self.assertEqual((status, body), (502, b"bad gateway\n"))
        self.assertFalse([r for r in self.origin.requests() if "/verify" in r])


class HealthChecks(unittest.TestCase):
    """Active health checks take out a peer that answers requests but fails its check."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.good, cls.sick = Origin(cls.dir), Origin(cls.dir, unhealthy=True)
        cls.proxy = Proxy(cls.dir, f"""
upstream checked {{
    servers = ["127.0.0.1:{cls.good.port}", "127.0.0.1:{cls.sick.port}"]
    health = http(path = "/healthz", interval = 100ms, unhealthy_after = 1, healthy_after = 1)
}}
on request {{ route checked }}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.good.stop()
        cls.sick.stop()

    def test_a_peer_failing_its_check_gets_no_requests(self):
        time.sleep(1.0)  # ten intervals: the first check alone suffices
        ports = {int(curl(self.proxy.url(f"/h/{i}"))[1]["x-origin-port"]) for i in range(10)}
        self.assertEqual(ports, {self.good.port})
        self.assertTrue([line for line in self.sick.requests() if "/healthz" in line])
        self.assertFalse([line for line in self.sick.requests() if "/h/" in line])


class GracefulShutdown(unittest.TestCase):
    def start(self, threads=1):
        directory = tempfile.mkdtemp(prefix="turnout-test-")
        origin = Origin(directory)
        self.addCleanup(origin.stop)
        return origin, Proxy(directory, f"""
upstream o {{ servers = ["127.0.0.1:{origin.port}"] }}
on request {{ route o }}
""", threads=threads)

    def test_sigterm_under_load_lets_every_request_in_flight_complete(self):
        origin, proxy = self.start(threads=2)
        results = []

        def request(i):
            status, _, _ = curl(proxy.url(f"/slow/1000/{i}"))
            results.append(status)

        threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # all eight are with the origin now
        proxy.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join()
        self.assertEqual(proxy.process.wait(timeout=15), 0)
        proxy.stderr.close()
        self.assertEqual(results, [200] * 8)
        self.assertEqual(len([r for r in origin.requests() if "/slow/1000/" in r]), 8)

    def test_sigterm_lets_requests_in_flight_finish_and_closes_idle_connections(self):
        origin, proxy = self.start()
        idle = socket.create_connection(("127.0.0.1", proxy.port))
        idle.sendall(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        idle.settimeout(5)
        self.assertIn(b"200 OK", idle.recv(65536))
        slow = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", proxy.url("/slow/2500")],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # in flight by now, even on a loaded machine
        started = time.time()
        proxy.process.send_signal(signal.SIGTERM)
        self.assertEqual(idle.recv(65536), b"")  # the idle keep-alive connection is closed
        idle.close()
        time.sleep(0.2)
        with self.assertRaises(OSError):  # no new connections
            socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
        self.assertEqual(slow.communicate(timeout=10)[0], "200")  # the request in flight finished
        self.assertEqual(proxy.process.wait(timeout=10), 0)
        self.assertLess(time.time() - started, 8)
        proxy.stderr.close()


class PolicyValuesOnTheWire(unittest.TestCase):
    """A value a policy writes that cannot go on the wire (CR or LF in a header value or a
    redirect, a space in a path, a status outside 200-599) is a run-time error of the rule:
    the client gets 500, nothing of it is sent either way, and the log names the rule."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.origin = harness.RawOrigin(lambda request, n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        cls.proxy = Proxy(cls.dir, f"""
upstream o {{ servers = ["127.0.0.1:{cls.origin.port}"] }}
on request {{
    if req.path == "/next" {{
        redirect 302 req.arg["next"]
    }}
    if req.path == "/method" {{
        req.method = req.arg["m"]
    }}
    route o
}}
on upstream_request {{
    upstream.req.path = url_decode(req.path)
    upstream.req.header["x-tag"] = req.arg["tag"]
}}
on response {{
    resp.header["x-echo"] = req.arg["v"]
    resp.status = parse_int(req.arg["s"], resp.status)
}}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def exchange(self, target):
        before = self.origin.requests
        out = raw(self.proxy.port, f"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n".encode(), read_all=False)
        return out, self.origin.requests - before

    def log(self):
        with open(self.proxy.stderr.name) as f:
            return f.read()

    def test_a_redirect_to_a_value_with_crlf_is_a_500_and_splits_nothing(self):
        out, sent = self.exchange("/next?next=http://a/%0d%0aSet-Cookie:%20evil=1")
        self.assertTrue(out.startswith(b"HTTP/1.1 500 "), out)
        self.assertNotIn(b"evil", out)
        self.assertNotIn(b"location", out.lower())
        self.assertEqual(sent, 0)
        self.assertRegex(self.log(), r"policy-\d+\.route:5:9: run-time error in the request phase: redirect to "
                                     r'"http://a/\\x0d\\x0aSet-Cookie: evil=1"')

    def test_a_decoded_path_cannot_smuggle_a_second_request_upstream(self):
        out, sent = self.exchange("/x%20HTTP/1.1%0d%0aHost:%20b%0d%0a%0d%0aGET%20/y")
        self.assertTrue(out.startswith(b"HTTP/1.1 500 "), out)
        self.assertEqual(sent, 0)
        self.assertRegex(self.log(), r"route:13:5: run-time error in the upstream_request phase: upstream.req.path")
        self.assertEqual(self.exchange("/fine")[0].split(b"\r\n")[0], b"HTTP/1.1 200 OK")  # the next one goes

    def test_header_values_and_names_with_control_bytes_are_refused_both_ways(self):
        out, sent = self.exchange("/a?tag=x%0d%0aInjected:%201")
        self.assertTrue(out.startswith(b"HTTP/1.1 500 "), out)
        self.assertEqual(sent, 0)
        out, sent = self.exchange("/a?v=x%0aSet-Cookie:%20a=b")
        self.assertTrue(out.startswith(b"HTTP/1.1 500 "), out)
        self.assertNotIn(b"set-cookie", out.lower())
        self.assertNotIn(b"x-echo", out.lower())
        self.assertEqual(sent, 1)  # the response phase faulted: the origin had answered
        self.assertEqual(self.exchange("/a?v=tab%09ok")[0].split(b"\r\n")[0], b"HTTP/1.1 200 OK")

    def test_a_method_that_is_not_a_token_is_refused(self):
        out, sent = self.exchange("/method?m=GET%20/admin")
        self.assertTrue(out.startswith(b"HTTP/1.1 500 "), out)
        self.assertEqual(sent, 0)

    def test_a_status_outside_200_to_599_is_refused(self):
        for status in ("1000", "101", "0", "-1"):
            with self.subTest(status):
                out, _ = self.exchange(f"/a?s={status}")
                self.assertTrue(out.startswith(b"HTTP/1.1 500 "), out)
        self.assertTrue(self.exchange("/a?s=418")[0].startswith(b"HTTP/1.1 418 "))


class BrokenUpstreams(unittest.TestCase):
    """Upstreams that answer what they should not: the client gets a 502 (through the
    error phase), and neither the worker nor the next client's connection pays for it."""

    def serve(self, answer, policy_extra=""):
        directory = tempfile.mkdtemp(prefix="turnout-test-")
        origin = harness.RawOrigin(answer)
        self.addCleanup(origin.stop)
        proxy = Proxy(directory, f"""
upstream o {{
    servers = ["127.0.0.1:{origin.port}"]
    retries = 0
}}
on request {{ route o }}
{policy_extra}
""")
        self.addCleanup(proxy.stop)
        return origin, proxy

    def test_a_101_nobody_asked_for_is_a_502_and_the_worker_goes_on(self):
        def answer(request, n):
            if b"/switch" in request:
                return b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello"
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        origin, proxy = self.serve(answer, 'on error { if error.kind == "bad_response" { respond 502 "switched\\n" } }')
        out = raw(proxy.port, b"GET /switch HTTP/1.1\r\nHost: a\r\n\r\n", read_all=False)
        self.assertTrue(out.startswith(b"HTTP/1.1 502 "), out)
        self.assertTrue(out.endswith(b"switched\n"), out)
        # The one worker is free: the next request on a new connection is answered at once.
        started = time.time()
        self.assertEqual(curl(proxy.url("/next"))[::2], (200, b"ok"))
        self.assertLess(time.time() - started, 5)
        cpu = sum(int(v) for v in open(f"/proc/{proxy.process.pid}/stat").read().split(")")[1].split()[11:13])
        time.sleep(1)
        cpu_later = sum(int(v) for v in open(f"/proc/{proxy.process.pid}/stat").read().split(")")[1].split()[11:13])
        self.assertLess(cpu_later - cpu, 20)  # clock ticks in a second: not spinning

    def test_bytes_an_idle_upstream_connection_sends_reach_no_one(self):
        # After each answer the origin sends more on the same connection, a moment later:
        # a body on HEAD, a body on 204, bytes past Content-Length. None of it may become
        # the answer to the next request on that connection.
        def answer(request, n):
            if request.startswith(b"HEAD"):
                return [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", 0.2, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"]
            if b"/204" in request:
                return [b"HTTP/1.1 204 No Content\r\n\r\n", 0.2, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"]
            if b"/extra" in request:
                return [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0.2, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"]
            return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"
        origin, proxy = self.serve(answer)
        for first in (["-I", proxy.url("/head")], [proxy.url("/204")], [proxy.url("/extra")]):
            with self.subTest(first[-1]):
                curl(*first)
                time.sleep(0.5)  # the stray bytes have come while the connection was idle
                for _ in range(3):
                    self.assertEqual(curl(proxy.url("/next"))[::2], (200, b"fresh"))
        self.assertGreaterEqual(len(origin.received), 3)  # each tainted connection was dropped

    def test_a_post_is_not_sent_again_on_its_own_after_a_reused_connection_failed(self):
        # Every second request on the origin's connections is read and left unanswered, the
        # connection closed: the proxy met a pooled connection that died under the request.
        origin, proxy = self.serve(lambda request, n: (None, False) if n % 2 else b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.assertEqual(curl(proxy.url("/a"))[0], 200)
        self.assertEqual(curl("-X", "POST", "--data-binary", "pay once", proxy.url("/pay"))[0], 502)
        self.assertEqual(sum(r.count(b"POST /pay") for r in origin.received), 1)
        self.assertEqual(curl(proxy.url("/b"))[0], 200)
        self.assertEqual(curl(proxy.url("/c"))[0], 200)  # a GET goes again, on a fresh connection
        self.assertEqual(sum(r.count(b"GET /c") for r in origin.received), 2)

    def test_request_trailers_go_upstream_only_by_name(self):
        origin, proxy = self.serve(lambda request, n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                                   'on upstream_request { delete upstream.req.header["x-secret"] }')
        raw(proxy.port, b"POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        b"2\r\nhi\r\n0\r\nX-Secret: smuggled\r\nX-Checksum: 1\r\n\r\n")
        sent = b"".join(origin.received)
        self.assertIn(b"\r\n0\r\n\r\n", sent)
        self.assertNotIn(b"smuggled", sent)
        self.assertNotIn(b"X-Checksum", sent)

    def test_an_upstream_that_answers_before_reading_the_body_is_heard(self):
        # The answer goes out after the head, and the origin reads no more: the proxy stops
        # sending at the answer, and the client gets it (not a 502 when the origin closes).
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        self.addCleanup(listener.close)

        def serve():
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                with connection:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += connection.recv(65536)
                    connection.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large")
                    time.sleep(3)
        threading.Thread(target=serve, daemon=True).start()
        directory = tempfile.mkdtemp(prefix="turnout-test-")
        proxy = Proxy(directory, f"""
upstream o {{ servers = ["127.0.0.1:{listener.getsockname()[1]}"] }}
on request {{ route o }}
""")
        self.addCleanup(proxy.stop)
        # The proxy closes the client's connection with the upload unread after the answer,
        # lingering (reading and dropping what still comes) so that the close does not reset
        # the connection before curl has read the 413.
        for _ in range(3):
            status, _, body = curl("-X", "POST", "-H", "Expect:", "--data-binary", "@-", proxy.url("/upload"),
                                   data=b"x" * (32 << 20))
            self.assertEqual((status, body), (413, b"too large"))

    def test_the_status_sent_frames_the_response_not_the_upstreams(self):
        origin, proxy = self.serve(
            lambda request, n: b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
            'on response { if req.path == "/304" { resp.status = 304 } }')
        out = raw_in_turns(proxy.port, [b"GET /304 HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"], timeout=1)
        first, _, rest = out.partition(b"\r\n\r\n")
        self.assertTrue(first.startswith(b"HTTP/1.1 304 "), out)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), out)  # no stranded body between
        self.assertTrue(rest.endswith(b"\r\n\r\nhello world"), out)
        self.assertEqual(len(origin.received), 2)  # the body not relayed was not pooled

    def test_a_head_the_policy_sends_upstream_as_get_gets_no_body(self):
        origin, proxy = self.serve(
            lambda request, n: b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
            'on upstream_request { upstream.req.method = "GET" }')
        out = raw_in_turns(proxy.port, [b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"], timeout=1)
        head, _, rest = out.partition(b"\r\n\r\n")
        self.assertIn(b"content-length: 11", head.lower())
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertTrue(origin.received[0].startswith(b"GET / "))

    def test_a_get_the_policy_sends_upstream_as_head_gets_an_empty_body(self):
        origin, proxy = self.serve(
            lambda request, n: b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n" + (b"" if request.startswith(b"HEAD") else b"hello world"),
            'on upstream_request { if req.path == "/h" { upstream.req.method = "HEAD" } }')
        out = raw_in_turns(proxy.port, [b"GET /h HTTP/1.1\r\nHost: a\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"], timeout=1)
        head, _, rest = out.partition(b"\r\n\r\n")
        self.assertIn(b"content-length: 0", head.lower())
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertTrue(rest.endswith(b"hello world"), out)


class StoppingAStuckWorker(unittest.TestCase):
    """SIGTERM ends the process within shutdown_grace and a second, whatever a worker does:
    here one is stuck in a write to an access log that nobody reads (a FIFO)."""

    def test_sigterm_ends_a_process_whose_worker_is_stuck(self):
        directory = tempfile.mkdtemp(prefix="turnout-test-")
        fifo = os.path.join(directory, "access.fifo")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # there, and never read
        self.addCleanup(os.close, reader)
        policy = os.path.join(directory, "p.route")
        with open(policy, "w") as f:
            f.write('on request { respond 200 "' + "x" * 100 + '" }\n')
        config = os.path.join(directory, "turnout.yaml")
        port = free_port()
        with open(config, "w") as f:
            f.write(f"listen: ['127.0.0.1:{port}']\nthreads: 1\npolicy: {policy}\n"
                    f"timeouts:\n  shutdown_grace: 1s\nlog:\n  access: {fifo}\n")
        process = harness.start([harness.TURNOUT, "--config", config], stderr=subprocess.DEVNULL)
        wait_for_port(port, process)
        stuck = False
        for _ in range(5000):  # until the pipe is full and the worker blocks writing to it
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.settimeout(0.5)
                    s.sendall(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    if not s.recv(100):
                        continue
            except socket.timeout:
                stuck = True
                break
        self.assertTrue(stuck, "the worker never blocked")
        started = time.time()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.fail("turnout outlived SIGTERM with a stuck worker")
        self.assertLess(time.time() - started, 4)


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.origin = Origin(cls.dir)
        cls.proxy = Proxy(cls.dir, f"""
upstream o {{ servers = ["127.0.0.1:{cls.origin.port}"] }}
on request {{ route o }}
""", config="""
limits:
  max_requests_per_connection: 3
  max_body_bytes: 1k
timeouts:
  header_read: 1s
  keepalive_idle: 2s
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def test_slowloris_gets_408_after_the_header_timeout(self):
        started = time.time()
        out = raw(self.proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\n", timeout=5)
        self.assertEqual(statuses(out), [408])
        self.assertLess(time.time() - started, 3)

    def test_an_idle_connection_is_served_then_closed_at_the_keepalive_timeout(self):
        # Idle for 1.5 s (past the first second, when the wait gives its buffer back), a
        # connection still takes a request; idle for keepalive_idle (2 s), it is closed.
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.settimeout(5)
            s.sendall(b"GET /idle HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(statuses(s.recv(65536)), [200])
            time.sleep(1.5)
            s.sendall(b"GET /idle HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(statuses(s.recv(65536)), [200])
            answered = time.time()
            self.assertEqual(s.recv(65536), b"")
            self.assertGreater(time.time() - answered, 1.5)
            self.assertLess(time.time() - answered, 3.5)

    def test_requests_per_connection_are_capped(self):
        requests = b"GET /cap HTTP/1.1\r\nHost: a\r\n\r\n" * 5
        out = raw(self.proxy.port, requests)
        self.assertEqual(statuses(out), [200, 200, 200])
        self.assertEqual(out.lower().count(b"connection: close"), 1)

    def test_bodies_over_the_limit_get_413(self):
        status, _, _ = curl("-X", "POST", "--data-binary", "x" * 2000, self.proxy.url("/upload"))
        self.assertEqual(status, 413)
        out = raw(self.proxy.port, b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"800\r\n" + b"y" * 2048 + b"\r\n0\r\n\r\n")
        self.assertEqual(statuses(out), [413])
        self.assertFalse([r for r in self.origin.requests() if "/upload" in r])

    def test_the_access_log_has_a_line_per_request(self):
        curl(self.proxy.url("/logged"))
        time.sleep(1.5)  # the log is flushed every second
        with open(self.proxy.access_log) as f:
            self.assertIn('"GET /logged HTTP/1.1" 200', f.read())

    def test_the_access_log_escapes_what_a_client_sent(self):
        raw(self.proxy.port, b'GET /quote"d\xff"\\forged HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
        time.sleep(1.5)
        with open(self.proxy.access_log, "rb") as f:
            lines = [line for line in f.read().split(b"\n") if b"/quote" in line]
        self.assertEqual(len(lines), 1)
        self.assertIn(b'"GET /quote\\x22d\\xFF\\x22\\x5Cforged HTTP/1.1" ', lines[0])
        for line in lines:  # one field between two quotes, whatever the target held
            self.assertEqual(line.count(b'"'), 2, line)
            self.assertTrue(all(32 <= b < 127 for b in line), line)


class SlowAndManyClients(unittest.TestCase):
    """header_read bounds a whole head however its bytes trickle; a body has a floor on its
    rate; one address holds at most max_connections_per_client connections."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.origin = Origin(cls.dir)
        cls.admin = os.path.join(cls.dir, "admin.sock")
        cls.proxy = Proxy(cls.dir, f"""
upstream o {{ servers = ["127.0.0.1:{cls.origin.port}"] }}
on request {{ route o }}
""", config=f"""
limits:
  max_connections_per_client: 5
  min_body_rate: 1k
  max_header_bytes: 8k
timeouts:
  header_read: 1s
  body_rate_after: 1s
admin:
  socket: {cls.admin}
""")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def trickle(self, head, data, pause):
        """Sends `head`, then `data` a byte every `pause` seconds; returns what came back
        and how long it took."""
        started = time.time()
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.settimeout(pause)
            s.sendall(head)
            out = b""
            for byte in data:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    break
                try:
                    piece = s.recv(65536)
                    out += piece
                    if not piece or out:
                        break
                except socket.timeout:
                    pass
                if time.time() - started > 10:
                    break
            return out, time.time() - started

    def test_a_head_that_trickles_gets_408_within_header_read(self):
        out, took = self.trickle(b"GET / HTTP/1.1\r\nHost: a\r\n", b"X-Slow: " + b"a" * 200, 0.2)
        self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out)
        self.assertLess(took, 2.5)

    def test_a_body_slower_than_min_body_rate_gets_408(self):
        out, took = self.trickle(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n", b"x" * 200, 0.1)
        self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out)
        self.assertLess(took, 4)
        self.assertEqual([r for r in self.origin.requests() if "/upload" in r], [])

    def test_chunk_extensions_count_against_the_header_limit(self):
        body = b"1;" + b"e" * 9000 + b"\r\nx\r\n0\r\n\r\n"
        out = raw(self.proxy.port, b"POST /ext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)
        self.assertEqual([r for r in self.origin.requests() if "/ext" in r], [])

    def test_one_address_holds_at_most_max_connections_per_client(self):
        held = [socket.create_connection(("127.0.0.1", self.proxy.port)) for _ in range(5)]
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", self.proxy.port)) as extra:
                extra.settimeout(2)
                extra.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                try:
                    self.assertEqual(extra.recv(100), b"")  # closed at once, unanswered
                except ConnectionResetError:
                    pass
            # Another address on this machine is another client.
            with socket.create_connection(("127.0.0.1", self.proxy.port), source_address=("127.0.0.2", 0)) as other:
                other.settimeout(5)
                other.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                self.assertTrue(other.recv(100).startswith(b"HTTP/1.1 200 "))
            stats = json.loads(subprocess.run([harness.ROUTEC, "stats", "--admin", self.admin, "--json"],
                                              capture_output=True, text=True).stdout)
            self.assertGreaterEqual(stats["connections_refused"], 1)
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        self.assertEqual(curl(self.proxy.url("/"))[0], 200)  # the address is welcome again


class Examples(unittest.TestCase):
    """The policies of examples/ served by turnout and driven through curl (the answers
    they give themselves). Their peers name a real deployment's addresses: each is served
    as a copy whose peers off loopback are closed loopback ports."""

    def serve(self, name):
        directory = tempfile.mkdtemp(prefix="turnout-test-")
        policy = harness.loopback_copy(os.path.join(harness.ROOT, "examples", name), directory)
        port = free_port()
        process = harness.start([harness.TURNOUT, "run", policy, "--listen", f"127.0.0.1:{port}", "--threads", "1"],
                                stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (process.terminate(), process.wait()))
        wait_for_port(port, process)
        return f"http://127.0.0.1:{port}"

    def test_a_policy_with_peers_off_loopback_is_never_started(self):
        for name in ("api_gateway.route", "maintenance.route", "canary.route", "load_balancer.route"):
            policy = os.path.join(harness.ROOT, "examples", name)
            with self.subTest(name):
                with self.assertRaisesRegex(RuntimeError, "names peers off loopback"):
                    harness.start([harness.TURNOUT, "run", policy, "--listen", f"127.0.0.1:{free_port()}"])
        with tempfile.TemporaryDirectory() as directory:
            config = os.path.join(directory, "turnout.yaml")
            with open(config, "w") as f:
                f.write(f"policy: {os.path.join(harness.ROOT, 'examples', 'maintenance.route')}\n")
            with self.assertRaisesRegex(RuntimeError, r"site 192\.168\.10\.20:8080"):
                harness.start([harness.TURNOUT, "--config", config])
            named = os.path.join(directory, "named.route")
            with open(named, "w") as f:
                f.write('upstream far { servers = ["origin.example.com:80", "[::1]:8080"] }\non request { route far }\n')
            self.assertEqual(harness.off_loopback(named), ["far origin.example.com:80"])

    def test_the_loopback_copy_keeps_the_policy_and_moves_its_peers(self):
        with tempfile.TemporaryDirectory() as directory:
            original = os.path.join(harness.ROOT, "examples", "api_gateway.route")
            copy = harness.loopback_copy(original, directory)
            self.assertEqual(harness.off_loopback(copy), [])
            self.assertEqual([upstream for upstream, _, _ in harness.peers(copy)],
                             [upstream for upstream, _, _ in harness.peers(original)])
            self.assertTrue(all(host == "127.0.0.1" for _, _, host in harness.peers(copy)))
            self.assertIn('"10.0.1.10:8080"', open(original).read())

    def test_every_example_serves(self):
        for name in sorted(os.listdir(os.path.join(harness.ROOT, "examples"))):
            if name.endswith(".route"):
                with self.subTest(name):
                    self.serve(name)

    def test_quickstart_answers_its_health_check(self):
        self.assertEqual(curl(self.serve("quickstart.route") + "/healthz")[::2], (200, b"ok\n"))

    def test_redirects(self):
        url = self.serve("redirects.route")
        status, fields, _ = curl(url + "/pricing", "-H", "Host: www.example.com")
        self.assertEqual((status, fields["location"]), (308, "https://www.example.com/pricing"))

    def test_api_gateway_refuses_unknown_keys(self):
        url = self.serve("api_gateway.route")
        status, _, body = curl(url + "/api/v1/orders/7", "-H", "Host: api.example.com", "-H", "x-api-key: nope")
        self.assertEqual((status, body), (401, b"missing or unknown API key\n"))


class Configuration(unittest.TestCase):
    def run_turnout(self, *args):
        return subprocess.run([harness.TURNOUT, *args], capture_output=True, text=True, timeout=30)

    def test_unknown_keys_and_bad_values_name_the_key_and_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("policy: examples/quickstart.route\nlimits:\n  max_header_bytez: 8k\n")
            f.flush()
            result = self.run_turnout("--config", f.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn(f"{f.name}:3:3: unknown key 'limits.max_header_bytez'", result.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("policy: examples/quickstart.route\ntimeouts:\n  header_read: soon\n")
            f.flush()
            result = self.run_turnout("--config", f.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn(f"{f.name}:3:16: 'timeouts.header_read' must be a duration", result.stderr)

    def test_a_bad_policy_never_serves(self):
        with tempfile.NamedTemporaryFile("w", suffix=".route") as f:
            f.write("on request { route nowhere }\n")
            f.flush()
            result = self.run_turnout("run", f.name, "--listen", f"127.0.0.1:{free_port()}")
            self.assertEqual(result.returncode, 1)
            self.assertRegex(result.stderr, r"\.route:1:20: error: unknown upstream 'nowhere'")

    def test_a_busy_port_is_reported(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            result = self.run_turnout("run", os.path.join(harness.ROOT, "examples/quickstart.route"), "--listen",
                                      f"127.0.0.1:{port}")
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"cannot listen on 127.0.0.1:{port}", result.stderr)

    def test_unix_and_ipv6_listeners(self):
        directory = tempfile.mkdtemp(prefix="turnout-test-")
        socket_path = os.path.join(directory, "t.sock")
        port = free_port()
        process = subprocess.Popen([harness.TURNOUT, "run", os.path.join(harness.ROOT, "examples/quickstart.route"), "--listen",
                                    f"unix:{socket_path}", "--listen", f"[::1]:{port}", "--threads", "2"],
                                   stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 10
            while not os.path.exists(socket_path) and time.time() < deadline:
                time.sleep(0.05)
            status, _, body = curl("--unix-socket", socket_path, "http://x/healthz")
            self.assertEqual((status, body), (200, b"ok\n"))
            status, _, body = curl(f"http://[::1]:{port}/healthz")
            self.assertEqual((status, body), (200, b"ok\n"))
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    unittest.main(verbosity=2)
