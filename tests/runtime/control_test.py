#!/usr/bin/env python3
"""The control plane of a running turnout, end to end: hot loads under load, bad policies,
rollback, SIGHUP, peers drained and enabled, state kept across swaps, 1,000 versions
without growing memory, the admin socket's protocol, the pid file.

Usage: control_test.py TURNOUT ROUTEC [unittest args]
"""
import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import Origin, Proxy, curl, rss_kb

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))


def answering(text, origin_port):
    """A policy that answers /v with `text` itself and sends the rest to the origin."""
    return f"""
upstream o {{ servers = ["127.0.0.1:{origin_port}"] }}
on request {{
    if req.path == "/v" {{ respond 200 "{text}\\n" }}
    route o
}}
"""


class Admin:
    """A client of the admin socket: one JSON object per line each way."""

    def __init__(self, path):
        self.socket = socket.socket(socket.AF_UNIX)
        self.socket.connect(path)
        self.file = self.socket.makefile("rw")

    def ask(self, request):
        if isinstance(request, dict) and request.get("command") == "load" and "path" in request:
            harness.require_loopback(request["path"])
        self.file.write((request if isinstance(request, str) else json.dumps(request)) + "\n")
        self.file.flush()
        return json.loads(self.file.readline())

    def close(self):
        self.file.close()
        self.socket.close()


class Load:
    """Clients on keep-alive connections asking for /v in a loop until stopped; every
    answer's body is counted, every failure kept."""

    def __init__(self, port, clients=4, requests_per_connection=50):
        self.port = port
        self.requests_per_connection = requests_per_connection
        self.bodies = {}
        self.failures = []
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client) for _ in range(clients)]
        for thread in self.threads:
            thread.start()

    def client(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        requests = 0
        while self.running:
            try:
                connection.request("GET", "/v")
                response = connection.getresponse()
                body = response.read().decode()
                with self.lock:
                    if response.status != 200:
                        self.failures.append(f"status {response.status}")
                    self.bodies[body] = self.bodies.get(body, 0) + 1
                requests += 1
                if requests % self.requests_per_connection == 0:  # new connections too
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            except Exception as e:  # a reset, a refused connection, a timeout
                with self.lock:
                    self.failures.append(repr(e))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.close()

    def stop(self):
        self.running = False
        for thread in self.threads:
            thread.join()
        return sum(self.bodies.values())


def routec(*args):
    if args[0] == "load":
        harness.require_loopback(args[-1])
    return subprocess.run([harness.ROUTEC, *args], capture_output=True, text=True, timeout=60)


class HotLoads(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.origin = Origin(cls.dir)
        cls.socket = os.path.join(cls.dir, "admin.sock")
        cls.pid_file = os.path.join(cls.dir, "turnout.pid")
        cls.one = os.path.join(cls.dir, "one.route")
        cls.two = os.path.join(cls.dir, "two.route")
        with open(cls.one, "w") as f:
            f.write(answering("one", cls.origin.port))
        with open(cls.two, "w") as f:
            f.write(answering("two", cls.origin.port))
        # Under AddressSanitizer, freed memory waits in a quarantine (256 MB by default)
        # before reuse: a small one lets the memory test measure the proxy, not the tool (with
        # 16 MB this test once read 8.7 MB of growth under ASan, over its 8 MB bound).
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4")
        cls.proxy = Proxy(cls.dir, open(cls.one).read(),
                          extra=["--admin", cls.socket, "--pid-file", cls.pid_file], threads=2, env=env)
        cls.admin = Admin(cls.socket)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.proxy.stop()
        cls.origin.stop()

    def load(self, path):
        return self.admin.ask({"command": "load", "path": path})

    def active(self):
        return self.admin.ask({"command": "versions"})["active"]

    def test_50_hot_loads_under_load_fail_no_request(self):
        load = Load(self.proxy.port)
        try:
            for i in range(50):
                answer = self.load(self.two if i % 2 == 0 else self.one)
                self.assertTrue(answer["ok"], answer)
                time.sleep(0.02)
        finally:
            served = load.stop()
        self.assertEqual(load.failures, [])
        self.assertEqual(set(load.bodies), {"one\n", "two\n"})
        self.assertGreater(served, 200)
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"one\n")

    def test_a_bad_policy_mid_load_changes_nothing(self):
        before = self.active()
        bad = os.path.join(self.dir, "bad.route")
        with open(bad, "w") as f:
            f.write('on request {\n    respond 200 "x" +\n}\n')
        load = Load(self.proxy.port)
        try:
            answer = self.load(bad)
            result = routec("load", "--admin", self.socket, bad)  # refused before it is sent
        finally:
            load.stop()
        self.assertFalse(answer["ok"])
        self.assertIn(f"{bad}:3:1: error", answer["diagnostics"])
        self.assertIn(before, answer["error"])
        self.assertEqual(result.returncode, 1)
        self.assertIn("bad.route:3:1: error", result.stderr)
        self.assertEqual(load.failures, [])
        self.assertEqual(self.active(), before)
        self.assertEqual(len(load.bodies), 1)

    def test_routec_loads_lists_and_rolls_back(self):
        self.assertEqual(self.load(self.one)["ok"], True)
        first = self.active()
        result = routec("load", "--admin", self.socket, self.two)
        self.assertEqual(result.returncode, 0, result.stderr)
        second = self.active()
        self.assertNotEqual(first, second)
        self.assertIn(f"active: {second} {self.two}", result.stdout)
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"two\n")
        listed = routec("versions", "--admin", self.socket)
        self.assertIn(f"* {second}", listed.stdout)
        self.assertIn(f"  {first}", listed.stdout)
        back = routec("rollback", "--admin", self.socket)
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual(self.active(), first)
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"one\n")
        self.assertEqual(routec("rollback", "--admin", self.socket, second).returncode, 0)
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"two\n")
        self.assertEqual(routec("rollback", "--admin", self.socket, "0000").returncode, 1)
        self.assertEqual(self.load(self.one)["ok"], True)

    def test_sighup_reloads_the_active_file(self):
        path = os.path.join(self.dir, "edited.route")
        with open(path, "w") as f:
            f.write(answering("before", self.origin.port))
        self.assertTrue(self.load(path)["ok"])
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"before\n")
        with open(path, "w") as f:
            f.write(answering("after", self.origin.port))
        with open(self.pid_file) as f:
            os.kill(int(f.read()), signal.SIGHUP)
        deadline = time.time() + 10
        while curl(self.proxy.url("/v"))[2] != b"after\n" and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"after\n")
        self.assertTrue(self.load(self.one)["ok"])

    def test_1000_versions_leave_memory_where_it_was(self):
        base = open(self.one).read()
        paths = [os.path.join(self.dir, f"n{i}.route") for i in range(2)]
        before = None
        for i in range(1000):
            with open(paths[i % 2], "w") as f:
                f.write(base + f"// version {i}\n")  # a new id each time
            answer = self.load(paths[i % 2])
            self.assertTrue(answer["ok"], answer)
            if i % 100 == 0:
                self.assertEqual(curl(self.proxy.url("/v"))[2], b"one\n")
            if i == 49:
                before = rss_kb(self.proxy.process.pid)
        after = rss_kb(self.proxy.process.pid)
        self.assertLess(after - before, 8 * 1024, f"RSS {before} kB after 50 versions, {after} kB after 1,000")
        kept = self.admin.ask({"command": "versions"})["versions"]
        self.assertLessEqual(len(kept), 8)
        self.assertTrue(self.load(self.one)["ok"])

    def test_the_protocol_refuses_what_it_does_not_know(self):
        self.assertEqual(self.admin.ask("not json"), {"ok": False, "error": "not JSON"})
        self.assertIn("unknown command", self.admin.ask({"command": "launch"})["error"])
        self.assertIn("a \"command\"", self.admin.ask([1, 2])["error"])
        self.assertIn("needs a \"path\"", self.admin.ask({"command": "load"})["error"])
        stats = self.admin.ask({"command": "stats"})
        self.assertEqual(stats["workers"], 2)
        self.assertGreater(stats["requests"], 0)
        self.assertEqual(stats["pid"], self.proxy.process.pid)

    def test_the_admin_socket_is_the_owners_alone_and_the_pid_file_names_the_process(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.socket).st_mode), 0o600)
        with open(self.pid_file) as f:
            self.assertEqual(int(f.read()), self.proxy.process.pid)


class Peers(unittest.TestCase):
    """Drains, health verdicts and pooled connections, across swaps."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.a, cls.b = Origin(cls.dir), Origin(cls.dir)
        cls.sick = Origin(cls.dir, unhealthy=True)
        cls.socket = os.path.join(cls.dir, "admin.sock")
        cls.pid_file = os.path.join(cls.dir, "turnout.pid")
        cls.proxy = Proxy(cls.dir, cls.policy("first"), extra=["--admin", cls.socket, "--pid-file", cls.pid_file])
        cls.admin = Admin(cls.socket)

    @classmethod
    def policy(cls, tag):
        return f"""
upstream pair {{ servers = ["127.0.0.1:{cls.a.port}", "127.0.0.1:{cls.b.port}"] }}
upstream checked {{
    servers = ["127.0.0.1:{cls.a.port}", "127.0.0.1:{cls.sick.port}"]
    health = http(path = "/healthz", interval = 200ms, unhealthy_after = 1)
}}
on request {{
    if req.path starts_with "/checked" {{ route checked }}
    route pair
}}
on response {{ resp.header["x-version"] = "{tag}" }}
"""

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.proxy.stop()
        for origin in (cls.a, cls.b, cls.sick):
            origin.stop()

    def swap(self, tag):
        path = os.path.join(self.dir, f"{tag}.route")
        with open(path, "w") as f:
            f.write(self.policy(tag))
        answer = self.admin.ask({"command": "load", "path": path})
        self.assertTrue(answer["ok"], answer)

    def ports(self, path, n):
        seen = []
        for _ in range(n):
            status, fields, _ = curl(self.proxy.url(path))
            self.assertEqual(status, 200)
            seen.append(int(fields["x-origin-port"]))
        return seen

    def test_a_drained_peer_gets_no_requests_until_enabled_even_across_a_swap(self):
        address = f"127.0.0.1:{self.b.port}"
        result = routec("drain", "--admin", self.socket, "pair", address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(set(self.ports("/drain", 6)), {self.a.port})
        self.swap("drained")  # the same upstream definition: the drain stays
        self.assertEqual(set(self.ports("/drain", 6)), {self.a.port})
        peers = routec("peers", "--admin", self.socket)
        self.assertIn(f"{address}", peers.stdout)
        self.assertIn("drained", peers.stdout)
        self.assertEqual(routec("enable", "--admin", self.socket, "pair", address).returncode, 0)
        self.assertEqual(set(self.ports("/drain", 6)), {self.a.port, self.b.port})
        self.assertEqual(routec("drain", "--admin", self.socket, "pair", "10.9.9.9:1").returncode, 1)

    def test_health_verdicts_and_pooled_connections_survive_a_swap(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            report = self.admin.ask({"command": "peers"})
            checked = [u for u in report["upstreams"] if u["name"] == "checked"][0]
            if not checked["peers"][1]["healthy"]:
                break
            time.sleep(0.1)
        self.assertFalse(checked["peers"][1]["healthy"])
        self.ports("/pooled/warm", 4)  # b is only in `pair`: no health checks connect to it
        connections = len(self.b.connections())
        self.swap("second")
        # Right after the swap: the sick peer is still out (no new check has run yet, and a
        # fresh state would have let it in), and the pooled connection to b is reused.
        self.assertEqual(set(self.ports("/checked/now", 6)), {self.a.port})
        self.assertEqual(set(self.ports("/pooled/now", 4)), {self.a.port, self.b.port})
        self.assertEqual(len(self.b.connections()), connections)
        self.assertEqual(curl(self.proxy.url("/checked/x"))[1]["x-version"], "second")
        self.assertFalse([r for r in self.sick.requests() if "/checked/now" in r])
        # One prober all along: a second one, with a fresh verdict, would say so again.
        time.sleep(0.6)
        with open(self.proxy.stderr.name) as f:
            self.assertEqual(f.read().count(f"peer 127.0.0.1:{self.sick.port} is out"), 1)


class AdminOverHttp(unittest.TestCase):
    """The same protocol over HTTP on loopback, for requests bearing the token."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        cls.token = "t0ken-for-the-admin-listener"
        cls.token_file = os.path.join(cls.dir, "token")
        with open(cls.token_file, "w") as f:
            f.write(cls.token + "\n")
        os.chmod(cls.token_file, 0o600)
        cls.admin_port = harness.free_port()
        cls.proxy = Proxy(cls.dir, answering("one", 9), extra=["--admin-http", f"127.0.0.1:{cls.admin_port}",
                                                               "--admin-token-file", cls.token_file])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def admin(self, *args, token=None):
        status, _, body = curl("-H", f"Authorization: Bearer {token or self.token}", *args)
        return status, json.loads(body) if body else None

    def test_requests_without_the_token_get_401(self):
        url = f"http://127.0.0.1:{self.admin_port}/v1/stats"
        status, fields, _ = curl(url)
        self.assertEqual(status, 401)
        self.assertEqual(fields["www-authenticate"], "Bearer")
        self.assertEqual(self.admin(url, token="t0ken-for-the-admin-listenes")[0], 401)

    def test_loads_and_reports_with_the_token(self):
        path = os.path.join(self.dir, "two.route")
        with open(path, "w") as f:
            f.write(answering("two", 9))
        status, answer = self.admin("-X", "POST", "--data-binary", json.dumps({"command": "load", "path": path}),
                                    f"http://127.0.0.1:{self.admin_port}/v1/admin")
        self.assertEqual(status, 200)
        self.assertTrue(answer["ok"], answer)
        self.assertEqual(curl(self.proxy.url("/v"))[2], b"two\n")
        status, versions = self.admin(f"http://127.0.0.1:{self.admin_port}/v1/versions")
        self.assertEqual(versions["active"], answer["version"]["id"])
        self.assertEqual(self.admin(f"http://127.0.0.1:{self.admin_port}/v1/nothing")[0], 404)

    def test_a_token_file_others_can_read_is_refused(self):
        shared = os.path.join(self.dir, "shared-token")
        with open(shared, "w") as f:
            f.write(self.token + "\n")
        os.chmod(shared, 0o644)
        result = subprocess.run([harness.TURNOUT, "run", self.proxy.policy, "--listen", f"127.0.0.1:{harness.free_port()}",
                                 "--admin-http", f"127.0.0.1:{harness.free_port()}", "--admin-token-file", shared],
                                capture_output=True, text=True, timeout=30)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("is readable by others (mode 0644)", result.stderr)

    def test_idle_and_slow_sessions_cannot_hold_the_listener(self):
        # 16 sessions at most, each with 10 s for its whole request: a crowd that trickles
        # bytes is closed, and the owner gets through once it is.
        crowd = []
        for _ in range(26):
            s = socket.create_connection(("127.0.0.1", self.admin_port))
            s.sendall(b"GET /v1/stats HTTP/1.1\r\n")
            crowd.append(s)
            time.sleep(0.02)  # within the listener's backlog: each is accepted as it comes
        try:
            closed = 0
            for s in crowd:
                s.settimeout(2)
                try:
                    closed += s.recv(10) == b""
                except (socket.timeout, ConnectionResetError):
                    pass
            self.assertGreaterEqual(closed, 26 - 16)  # over the cap: closed unanswered
            started = time.time()
            for s in crowd:
                s.settimeout(15)
                try:
                    while s.recv(100):
                        pass
                except (socket.timeout, ConnectionResetError):
                    pass
            self.assertLess(time.time() - started, 12)  # the deadline ended the slow ones
            self.assertEqual(self.admin(f"http://127.0.0.1:{self.admin_port}/v1/stats")[0], 200)
        finally:
            for s in crowd:
                s.close()

    def test_a_load_refuses_what_is_not_a_regular_file_or_too_large(self):
        fifo = os.path.join(self.dir, "fifo.route")
        os.mkfifo(fifo)
        huge = os.path.join(self.dir, "huge.route")
        with open(huge, "wb") as f:
            f.truncate(65 * 1024 * 1024)
        for path, why in ((fifo, "not a regular file"), (huge, "larger than 64 MiB"), (self.dir, "not a regular file")):
            with self.subTest(path):
                started = time.time()
                status, answer = self.admin("-X", "POST", "--data-binary", json.dumps({"command": "load", "path": path}),
                                            f"http://127.0.0.1:{self.admin_port}/v1/admin")
                self.assertFalse(answer["ok"])
                self.assertIn(why, json.dumps(answer))
                self.assertLess(time.time() - started, 5)

    def test_only_loopback_addresses_are_accepted(self):
        result = subprocess.run([harness.TURNOUT, "run", self.proxy.policy, "--admin-http", "0.0.0.0:9901",
                                 "--admin-token-file", self.token_file], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("must be on a loopback address", result.stderr)


class Artifacts(unittest.TestCase):
    """routec build: the same bytes every time, served by turnout as they are (without
    compiling), hot-loaded like a source, refused when built for another machine."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-test-")
        os.mkdir(os.path.join(cls.dir, "common"))
        with open(os.path.join(cls.dir, "common", "acls.route"), "w") as f:
            f.write("acl office { 10.0.0.0/8, 127.0.0.0/8 }\n")
        cls.policy = os.path.join(cls.dir, "site.route")
        with open(cls.policy, "w") as f:
            f.write('import "common/acls.route"\n'
                    'on request {\n'
                    '    if client.ip in office and req.path ~ r"^/v/(?P<n>[0-9]+)$" { respond 200 "built " + match.n }\n'
                    '    respond 404 "none"\n}\n')
        cls.artifact = os.path.join(cls.dir, "site.art")
        cls.built = routec("build", cls.policy, "-o", cls.artifact)

    def test_building_twice_gives_the_same_bytes(self):
        self.assertEqual(self.built.returncode, 0, self.built.stderr)
        again = os.path.join(self.dir, "again.art")
        self.assertEqual(routec("build", self.policy, "-o", again).returncode, 0)
        with open(self.artifact, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_turnout_serves_an_artifact_and_hot_loads_one(self):
        version = self.built.stdout.split("version ")[1].split(",")[0]
        proxy = Proxy(self.dir, "on request { respond 200 \"source\" }\n",
                      extra=["--admin", os.path.join(self.dir, "admin.sock")])
        try:
            admin = Admin(os.path.join(self.dir, "admin.sock"))
            answer = admin.ask({"command": "load", "path": self.artifact})
            admin.close()
            self.assertTrue(answer["ok"], answer)
            loaded = routec("load", "--admin", os.path.join(self.dir, "admin.sock"), self.artifact)
            self.assertEqual(loaded.returncode, 0, loaded.stderr)
            self.assertIn(f"active: {version}", loaded.stdout)
            self.assertEqual(answer["version"]["id"], version)
            self.assertEqual(answer["version"]["backend"], "artifact")
            self.assertEqual(curl(proxy.url("/v/42"))[2], b"built 42")
            self.assertEqual(curl(proxy.url("/x"))[0], 404)
        finally:
            proxy.stop()
        port = harness.free_port()
        log = open(os.path.join(self.dir, "direct.stderr"), "w")
        direct = harness.start([harness.TURNOUT, "run", self.artifact, "--listen", f"127.0.0.1:{port}",
                                "--threads", "1"], stderr=log)
        try:
            harness.wait_for_port(port, direct)
            self.assertEqual(curl(f"http://127.0.0.1:{port}/v/7")[2], b"built 7")
        finally:
            direct.send_signal(signal.SIGTERM)
            self.assertEqual(direct.wait(timeout=10), 0)
            log.close()
        with open(log.name) as f:
            self.assertIn(f"(artifact), version {version}", f.read())

    def test_an_artifact_loads_without_its_sources_being_parsed(self):
        # The code links with the tables and upstreams of the artifact's policy image: the
        # sources inside are for routec and error positions, and are not parsed again.
        with open(self.artifact, "rb") as f:
            data = f.read()
        self.assertEqual(data.count(b"respond 404"), 1)
        unparsable = os.path.join(self.dir, "unparsable.art")
        with open(unparsable, "wb") as f:
            f.write(data.replace(b"respond 404", b"respond {{{"))
        self.assertEqual(routec("check", unparsable).returncode, 1)
        port = harness.free_port()
        proxy = harness.start([harness.TURNOUT, "run", unparsable, "--listen", f"127.0.0.1:{port}",
                               "--threads", "1"], stderr=subprocess.DEVNULL)
        try:
            harness.wait_for_port(port, proxy)
            self.assertEqual(curl(f"http://127.0.0.1:{port}/v/9")[2], b"built 9")
            self.assertEqual(curl(f"http://127.0.0.1:{port}/x")[0], 404)
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)

    def test_an_artifact_for_another_machine_or_damaged_is_refused(self):
        with open(self.artifact, "rb") as f:
            data = f.read()
        at = data.index(b"x86_64") if b"x86_64" in data else data.index(b"-linux")
        other = os.path.join(self.dir, "other.art")
        with open(other, "wb") as f:
            f.write(data[:at] + b"riscv6" + data[at + 6:])
        result = subprocess.run([harness.TURNOUT, "run", other], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not for this machine", result.stderr)
        self.assertIn("build it here with routec build", result.stderr)
        damaged = os.path.join(self.dir, "damaged.art")
        with open(damaged, "wb") as f:
            f.write(data[: len(data) // 2])
        result = subprocess.run([harness.TURNOUT, "run", damaged], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("a truncated or damaged artifact", result.stderr)

    def test_a_policy_with_errors_builds_nothing(self):
        bad = os.path.join(self.dir, "bad.route")
        with open(bad, "w") as f:
            f.write("on request { route nowhere }\n")
        out = os.path.join(self.dir, "bad.art")
        result = routec("build", bad, "-o", out)
        self.assertEqual(result.returncode, 1)
        self.assertIn("bad.route:1:", result.stderr)
        self.assertFalse(os.path.exists(out))


class BinaryUpgrade(unittest.TestCase):
    """SIGQUIT hands the listening sockets to a new `turnout --upgrade` (SCM_RIGHTS); the
    old process drains and exits. Under load: no refused connection, no failed request."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="turnout-test-")
        self.upgrade_socket = os.path.join(self.dir, "upgrade.sock")
        self.pid_file = os.path.join(self.dir, "turnout.pid")
        self.unix_socket = os.path.join(self.dir, "proxy.sock")
        self.old = Proxy(self.dir, 'on request { respond 200 "old\\n" }\n', threads=2,
                         extra=["--upgrade-socket", self.upgrade_socket, "--pid-file", self.pid_file,
                                "--listen", f"unix:{self.unix_socket}"])
        self.new = None

    def tearDown(self):
        self.old.stop()
        if self.new:
            self.new.send_signal(signal.SIGTERM)
            self.assertEqual(self.new.wait(timeout=10), 0)

    @unittest.skipUnless(os.getuid() == 0, "needs root, to wait on the socket as another user")
    def test_the_listeners_go_to_no_other_user(self):
        # Another user's process waits on the upgrade socket: the old process keeps its
        # listeners, and serves on.
        os.chmod(self.dir, 0o777)
        waiter = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                                   "import socket, sys\n"
                                   "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)\n"
                                   "c, _ = s.accept(); c.settimeout(5); print(len(c.recv(100)))\n",
                                   self.upgrade_socket], stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 10
            while not os.path.exists(self.upgrade_socket) and time.time() < deadline:
                time.sleep(0.01)
            self.old.process.send_signal(signal.SIGQUIT)
            self.assertEqual(waiter.communicate(timeout=10)[0].strip(), "0")  # nothing came
        finally:
            waiter.kill()
            waiter.wait()
        self.assertIsNone(self.old.process.poll())
        self.assertEqual(curl(self.old.url("/"))[2], b"old\n")
        with open(self.old.stderr.name) as f:
            self.assertIn("is not this user's; its listeners stay here", f.read())

    def hand_over(self, load, policy, *extra, stderr):
        """Starts a new turnout on `policy` with --upgrade while `load` runs, sends the old one
        SIGQUIT, waits for it to drain and exit, then stops the load."""
        try:
            time.sleep(0.3)
            self.new = harness.start([harness.TURNOUT, "run", policy, "--listen", f"127.0.0.1:{self.old.port}",
                                      "--listen", f"unix:{self.unix_socket}", "--upgrade",
                                      "--upgrade-socket", self.upgrade_socket, *extra], stderr=stderr)
            deadline = time.time() + 10
            while not os.path.exists(self.upgrade_socket) and time.time() < deadline:
                time.sleep(0.01)
            self.old.process.send_signal(signal.SIGQUIT)
            self.assertEqual(self.old.process.wait(timeout=15), 0)
            time.sleep(0.5)
        finally:
            load.stop()

    def test_sigquit_without_a_new_process_keeps_serving(self):
        self.old.process.send_signal(signal.SIGQUIT)
        time.sleep(0.3)
        self.assertIsNone(self.old.process.poll())
        self.assertEqual(curl(self.old.url("/"))[2], b"old\n")
        with open(self.old.stderr.name) as f:
            self.assertIn("still serving", f.read())

    def test_an_upgrade_under_load_refuses_no_connection_and_fails_no_request(self):
        policy = os.path.join(self.dir, "new.route")
        with open(policy, "w") as f:
            f.write('on request { respond 200 "new\\n" }\n')
        load = Load(self.old.port, requests_per_connection=1)  # a new connection per request
        log = open(os.path.join(self.dir, "new.stderr"), "w")
        self.hand_over(load, policy, "--threads", "3", "--pid-file", self.pid_file, stderr=log)
        self.assertEqual(load.failures, [])
        self.assertEqual(set(load.bodies), {"old\n", "new\n"})
        self.assertEqual(curl(self.old.url("/"))[2], b"new\n")
        self.assertEqual(curl("--unix-socket", self.unix_socket, "http://a/")[2], b"new\n")
        with open(self.pid_file) as f:
            self.assertEqual(int(f.read()), self.new.pid)
        with open(os.path.join(self.dir, "new.stderr")) as f:
            log = f.read()
        self.assertIn("took over 3 listening sockets", log)  # two TCP (a worker each), one Unix
        self.assertNotIn("not in this configuration", log)

    def test_an_upgrade_under_keep_alive_load_resets_no_connection(self):
        # Clients that keep their connections: each is answered with Connection: close once
        # the old process drains, and goes on with the new one; none meets a reset.
        policy = os.path.join(self.dir, "new.route")
        with open(policy, "w") as f:
            f.write('on request { respond 200 "new\\n" }\n')
        load = Load(self.old.port, clients=8, requests_per_connection=1_000_000)
        self.hand_over(load, policy, stderr=subprocess.DEVNULL)
        self.assertEqual(load.failures, [])
        self.assertEqual(set(load.bodies), {"old\n", "new\n"})

if __name__ == "__main__":
    unittest.main(verbosity=2)
