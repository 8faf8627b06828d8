#!/usr/bin/env python3
"""Observability end to end (issue 21): Prometheus metrics (checked by Debian's promtool and
parsed with python3-prometheus-client), per-rule hit counters and `routec stats --rules` /
`routec top`, JSON access logs with the log phase's fields and SIGUSR1 reopens, passive
health (outlier detection) on an origin killed under load, and W3C trace context.

Usage: observability_test.py TURNOUT ROUTEC [unittest args]
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import harness
from harness import Origin, Proxy, admin, curl

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


def scrape(port, path="/metrics", token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("content-type"), response.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} of every sample of an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(parsed, name, **labels):
    return parsed.get((name, frozenset(labels.items())), 0)


def settled(port, before, count, name, **labels):
    """A scrape in which `name{labels}` has moved by `count` since `before`: a request is
    counted as it ends, just after its client has the response."""
    deadline = time.time() + 5
    while True:
        after = samples(scrape(port)[1])
        if value(after, name, **labels) - value(before, name, **labels) >= count or time.time() > deadline:
            return after


def routec(*args):
    return subprocess.run([harness.ROUTEC, *args], capture_output=True, text=True, timeout=30)


class Metrics(unittest.TestCase):
    """GET /metrics on the metrics listener (no token) and the admin HTTP listener (behind
    its token): valid exposition, and counters, histograms and rule hits that move by
    exactly the requests sent."""

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="turnout-metrics-")
        cls.origin = Origin(cls.directory)
        cls.metrics_port = harness.free_port()
        cls.admin_port = harness.free_port()
        token = os.path.join(cls.directory, "token")
        with open(token, "w") as f:
            f.write("s3cret-token-of-32-bytes-or-so\n")
        os.chmod(token, 0o600)
        cls.admin = os.path.join(cls.directory, "admin.sock")
        cls.dead = f"127.0.0.1:{harness.free_port()}"
        policy = f'''upstream web {{ servers = ["127.0.0.1:{cls.origin.port}"] }}
upstream dead {{ servers = ["{cls.dead}"] retries = 0 }}
on request {{
    if req.path == "/local" {{
        respond 200 "local\\n"
    }}
    if req.path == "/never" {{ respond 410 "gone\\n" }}
    if req.path == "/dead" {{ route dead }}
    route web
}}
on response {{ resp.header["x-tag"] = "1" }}
'''
        cls.proxy = Proxy(cls.directory, policy, threads=2,
                          extra=["--metrics", f"127.0.0.1:{cls.metrics_port}", "--admin", cls.admin,
                                 "--admin-http", f"127.0.0.1:{cls.admin_port}",
                                 "--admin-token-file", token])
        harness.wait_for_port(cls.metrics_port, cls.proxy.process)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def test_promtool_accepts_a_scrape(self):
        curl(self.proxy.url("/"))
        curl(self.proxy.url("/dead"))
        content_type, text = scrape(self.metrics_port)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                                text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for family in ("turnout_requests_total", "turnout_request_duration_seconds",
                       "turnout_upstream_first_byte_seconds", "turnout_upstream_connects_total",
                       "turnout_upstream_connect_failures_total", "turnout_connections_open",
                       "turnout_tls_handshakes_total", "turnout_http2_streams_total",
                       "turnout_policy_info", "turnout_policy_loads_total",
                       "turnout_policy_load_duration_seconds", "turnout_rule_hits_total",
                       "turnout_upstream_peer_up", "process_cpu_seconds_total",
                       "process_resident_memory_bytes", "process_open_fds",
                       "process_start_time_seconds"):
            self.assertIn(f"# TYPE {family} ", text)

    def test_counters_move_by_exactly_the_requests_sent(self):
        policy_file = self.proxy.policy
        before = samples(scrape(self.metrics_port)[1])
        for _ in range(7):
            self.assertEqual(curl(self.proxy.url("/a"))[0], 200)
        for _ in range(3):
            self.assertEqual(curl(self.proxy.url("/local"))[0], 200)
        for _ in range(2):
            self.assertEqual(curl(self.proxy.url("/dead"))[0], 502)
        listener = f"127.0.0.1:{self.proxy.port}"
        after = settled(self.metrics_port, before, 12, "turnout_rule_hits_total", file=policy_file,
                        line="11", action="set")
        after = settled(self.metrics_port, before, 2, "turnout_requests_total", listener=listener,
                        protocol="http1", upstream="dead", status_class="5xx")

        def moved(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        common = {"listener": listener, "protocol": "http1"}
        self.assertEqual(moved("turnout_requests_total", upstream="web", status_class="2xx", **common), 7)
        self.assertEqual(moved("turnout_requests_total", upstream="", status_class="2xx", **common), 3)
        self.assertEqual(moved("turnout_requests_total", upstream="dead", status_class="5xx", **common), 2)
        self.assertEqual(moved("turnout_request_duration_seconds_count", upstream="web"), 7)
        self.assertEqual(moved("turnout_request_duration_seconds_bucket", upstream="web", le="+Inf"), 7)
        self.assertEqual(moved("turnout_upstream_first_byte_seconds_count", upstream="web"), 7)
        self.assertEqual(moved("turnout_upstream_connect_failures_total", upstream="dead", peer=self.dead), 2)
        self.assertEqual(moved("turnout_upstream_failures_total", upstream="dead", peer=self.dead), 2)
        origin_peer = f"127.0.0.1:{self.origin.port}"
        self.assertEqual(moved("turnout_upstream_connects_total", upstream="web", peer=origin_peer) +
                         moved("turnout_upstream_reuses_total", upstream="web", peer=origin_peer), 7)
        # Rules: by file, line and action.
        self.assertEqual(moved("turnout_rule_hits_total", file=policy_file, line="4", action="if"), 3)
        self.assertEqual(moved("turnout_rule_hits_total", file=policy_file, line="5", action="respond"), 3)
        self.assertEqual(moved("turnout_rule_hits_total", file=policy_file, line="8", action="if"), 2)
        self.assertEqual(moved("turnout_rule_hits_total", file=policy_file, line="8", action="route"), 2)
        self.assertEqual(moved("turnout_rule_hits_total", file=policy_file, line="9", action="route"), 7)
        self.assertEqual(moved("turnout_rule_hits_total", file=policy_file, line="11", action="set"), 12)
        self.assertIn(("turnout_rule_hits_total",
                       frozenset({"file": policy_file, "line": "7", "action": "respond"}.items())), after)
        self.assertEqual(value(after, "turnout_rule_hits_total", file=policy_file, line="7", action="respond"), 0)
        info = [dict(k[1]) for k in after if k[0] == "turnout_policy_info"]
        self.assertEqual(len(info), 1)
        self.assertEqual(info[0]["path"], policy_file)
        self.assertEqual(info[0]["backend"], "jit")

    def test_http2_streams_and_connections_are_counted(self):
        before = samples(scrape(self.metrics_port)[1])
        status, _, _ = curl("--http2-prior-knowledge", self.proxy.url("/h2"))
        self.assertEqual(status, 200)
        after = settled(self.metrics_port, before, 1, "turnout_requests_total",
                        listener=f"127.0.0.1:{self.proxy.port}", protocol="http2", upstream="web",
                        status_class="2xx")

        def moved(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertEqual(moved("turnout_http2_streams_total", side="downstream"), 1)
        self.assertEqual(moved("turnout_connections_opened_total", side="downstream", protocol="http2"), 1)
        self.assertEqual(moved("turnout_requests_total", listener=f"127.0.0.1:{self.proxy.port}",
                               protocol="http2", upstream="web", status_class="2xx"), 1)

    def test_a_request_refused_before_the_policy_is_counted(self):
        labels = {"listener": f"127.0.0.1:{self.proxy.port}", "protocol": "http1", "upstream": "",
                  "status_class": "4xx"}
        before = samples(scrape(self.metrics_port)[1])
        answer = harness.raw(self.proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                              b"Content-Length: 2\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)
        after = settled(self.metrics_port, before, 1, "turnout_requests_total", **labels)
        self.assertEqual(value(after, "turnout_requests_total", **labels) -
                         value(before, "turnout_requests_total", **labels), 1)

    def test_a_load_is_counted_and_a_version_keeps_its_rule_counts(self):
        curl(self.proxy.url("/local"))
        before = samples(scrape(self.metrics_port)[1])
        hits = value(before, "turnout_rule_hits_total", file=self.proxy.policy, line="5", action="respond")
        self.assertGreater(hits, 0)
        answer = admin(self.admin, {"command": "load", "path": self.proxy.policy})  # the same version
        self.assertTrue(answer["ok"], answer)
        after = samples(scrape(self.metrics_port)[1])
        self.assertEqual(value(after, "turnout_policy_loads_total", result="ok") -
                         value(before, "turnout_policy_loads_total", result="ok"), 1)
        self.assertEqual(value(after, "turnout_policy_load_duration_seconds_count") -
                         value(before, "turnout_policy_load_duration_seconds_count"), 1)
        self.assertEqual(value(after, "turnout_rule_hits_total", file=self.proxy.policy, line="5",
                               action="respond"), hits)

    def test_the_grafana_dashboard_reads_metrics_turnout_exposes(self):
        with open(os.path.join(harness.ROOT, "examples", "grafana", "turnout.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(exprs), 10)
        families = {family.name for family in text_string_to_metric_families(scrape(self.metrics_port)[1])}
        used = set(re.findall(r"\b((?:turnout|process)_[a-z0-9_]+)", " ".join(exprs)))
        self.assertTrue(used)
        for name in used:
            base = re.sub(r"_(bucket|sum|count|total)$", "", name)
            self.assertIn(base, families, name)

    def test_the_admin_listener_serves_metrics_behind_its_token(self):
        with self.assertRaises(urllib.error.HTTPError) as refused:
            scrape(self.admin_port)
        self.assertEqual(refused.exception.code, 401)
        _, text = scrape(self.admin_port, token="s3cret-token-of-32-bytes-or-so")
        self.assertIn("turnout_requests_total", text)

    def test_the_metrics_listener_serves_nothing_else(self):
        with self.assertRaises(urllib.error.HTTPError) as missing:
            scrape(self.metrics_port, "/v1/stats")
        self.assertEqual(missing.exception.code, 404)


class RuleStats(unittest.TestCase):
    """routec stats --rules: the source with hits in the margin, and the rules that never
    fired; routec top: requests per second by upstream and the busiest rules."""

    def test_the_margin_counts_hits_and_lists_the_rules_that_never_fired(self):
        directory = tempfile.mkdtemp(prefix="turnout-rules-")
        sock = os.path.join(directory, "admin.sock")
        proxy = Proxy(directory, '''on request {
    if req.path == "/a" {
        respond 200 "a\\n"
    }
    if req.path == "/b" {
        respond 200 "b\\n"
    }
    respond 404 "no\\n"
}
''', extra=["--admin", sock])
        try:
            for _ in range(4):
                curl(proxy.url("/a"))
            curl(proxy.url("/zzz"))
            result = routec("stats", "--rules", "--admin", sock)
            self.assertEqual(result.returncode, 0, result.stderr)
            margin = {int(m.group(2)): int(m.group(1)) for m in
                      re.finditer(r"^\s+(\d+) \|\s+(\d+)  ", result.stdout, re.M)}
            self.assertEqual(margin, {2: 4, 3: 4, 5: 0, 6: 0, 8: 1})
            self.assertIn("never fired since the version was loaded: 2 of 5 rules", result.stdout)
            self.assertIn(f"{proxy.policy}:5:8: if: if req.path == \"/b\" {{", result.stdout)
            self.assertIn(f"{proxy.policy}:6:9: respond: respond 200", result.stdout)
            as_json = json.loads(routec("stats", "--rules", "--json", "--admin", sock).stdout)
            self.assertEqual([(r["line"], r["action"]) for r in as_json["never_fired"]],
                             [(5, "if"), (6, "respond")])
            self.assertEqual(sum(r["hits"] for r in as_json["rules"]), 9)

            stop = threading.Event()

            def load():
                while not stop.is_set():
                    curl(proxy.url("/a"))

            thread = threading.Thread(target=load)
            thread.start()
            try:
                top = routec("top", "-n", "2", "--admin", sock)
            finally:
                stop.set()
                thread.join()
            self.assertEqual(top.returncode, 0, top.stderr)
            self.assertEqual(top.stdout.count("turnout top: version"), 2)
            self.assertRegex(top.stdout, r"\(none\)\s+\d+\.\d\s+0\.0\s+[1-9]\d*\.\d")
            self.assertIn(f"{proxy.policy}:3 respond", top.stdout)
        finally:
            proxy.stop()


class ArtifactRules(unittest.TestCase):
    """An artifact (routec build) carries its rule table: its hits are placed in the
    sources it was built from."""

    def test_an_artifact_counts_its_rules(self):
        directory = tempfile.mkdtemp(prefix="turnout-artifact-")
        source = os.path.join(directory, "p.route")
        with open(source, "w") as f:
            f.write('on request {\n    if req.path == "/a" {\n        respond 200 "a\\n"\n    }\n'
                    '    respond 404 "no\\n"\n}\n')
        artifact = os.path.join(directory, "p.rtart")
        built = routec("build", source, "-o", artifact)
        self.assertEqual(built.returncode, 0, built.stderr)
        port, metrics = harness.free_port(), harness.free_port()
        process = harness.start([harness.TURNOUT, "run", artifact, "--listen", f"127.0.0.1:{port}",
                                 "--threads", "1", "--metrics", f"127.0.0.1:{metrics}"],
                                stderr=subprocess.DEVNULL)
        try:
            harness.wait_for_port(metrics, process)
            for path in ("/a", "/a", "/b"):
                curl(f"http://127.0.0.1:{port}{path}")
            parsed = samples(scrape(metrics)[1])
            self.assertEqual(value(parsed, "turnout_rule_hits_total", file=source, line="2", action="if"), 2)
            self.assertEqual(value(parsed, "turnout_rule_hits_total", file=source, line="3", action="respond"), 2)
            self.assertEqual(value(parsed, "turnout_rule_hits_total", file=source, line="5", action="respond"), 1)
            info = [dict(k[1]) for k in parsed if k[0] == "turnout_policy_info"]
            self.assertEqual(info[0]["backend"], "artifact")
        finally:
            process.send_signal(signal.SIGTERM)
            self.assertEqual(process.wait(timeout=10), 0)


class AccessLogs(unittest.TestCase):
    """JSON lines with the configured fields and the log phase's; a line per request under
    load through 10 SIGUSR1 reopens, the file renamed before each."""

    def test_json_lines_carry_the_fields_asked_for_and_the_log_phase_fields(self):
        directory = tempfile.mkdtemp(prefix="turnout-jsonlog-")
        origin = Origin(directory)
        proxy = Proxy(directory, f'''upstream web {{ servers = ["127.0.0.1:{origin.port}"] }}
on request {{ route web }}
on log {{
    log.field["tenant"] = req.header["x-tenant"]
    log.field["status"] = "the policy's"
    log.field["quote"] = "a \\"b\\" \\\\ c"
}}
''', config="  access_format: json\n  access_fields: [request_id, method, path, query, status, upstream, "
                 "peer, attempts, bytes_in, bytes_out, duration_ms, rule, policy_version, trace_id, "
                 "error, time]\n")
        try:
            curl(proxy.url("/hello?x=1"), "-H", "x-tenant: acme", "-d", "12345")
            raw = harness.raw(proxy.port, b'GET /quote"d\xff HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
            self.assertTrue(raw.startswith(b"HTTP/1.1 "), raw)
            time.sleep(1.5)  # written every second
            with open(proxy.access_log, "rb") as f:
                lines = f.read().splitlines()
            self.assertEqual(len(lines), 2, lines)
            first = json.loads(lines[0])
            self.assertEqual(list(first)[:16], ["request_id", "method", "path", "query", "status", "upstream",
                                                "peer", "attempts", "bytes_in", "bytes_out", "duration_ms",
                                                "rule", "policy_version", "trace_id", "error", "time"])
            self.assertEqual(first["path"], "/hello")
            self.assertEqual(first["query"], "x=1")
            self.assertEqual(first["status"], 200)
            self.assertEqual(first["upstream"], "web")
            self.assertEqual(first["peer"], f"127.0.0.1:{origin.port}")
            self.assertEqual(first["attempts"], 1)
            self.assertEqual(first["bytes_in"], 5)
            self.assertGreater(first["bytes_out"], 0)
            self.assertEqual(first["rule"], f"{proxy.policy}:2")
            self.assertRegex(first["trace_id"], r"^[0-9a-f]{32}$")
            self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIsNone(first["error"])
            self.assertEqual(first["tenant"], "acme")
            self.assertEqual(first["log.status"], "the policy's")
            self.assertEqual(first["quote"], 'a "b" \\ c')
            second = json.loads(lines[1])
            self.assertEqual(second["path"], '/quote"d\ufffd')
        finally:
            proxy.stop()
            origin.stop()

    def test_no_line_is_lost_across_ten_reopens_under_load(self):
        directory = tempfile.mkdtemp(prefix="turnout-reopen-")
        error_log = os.path.join(directory, "error.log")
        proxy = Proxy(directory, 'on request { respond 200 "ok\\n" }\n',
                      config=f"  access_format: json\n  error: {error_log}\n")
        sent = [0]
        stop = threading.Event()
        lock = threading.Lock()

        def load():
            while not stop.is_set():
                status, _, _ = curl(proxy.url("/n"))
                self.assertEqual(status, 200)
                with lock:
                    sent[0] += 1

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(10):
                time.sleep(0.3)
                os.rename(proxy.access_log, f"{proxy.access_log}.{i}")
                os.rename(error_log, f"{error_log}.{i}")
                proxy.process.send_signal(signal.SIGUSR1)
        finally:
            stop.set()
            for t in threads:
                t.join()
        proxy.stop()  # the last lines are written as it stops
        total = 0
        for name in [f"{proxy.access_log}.{i}" for i in range(10)] + [proxy.access_log]:
            with open(name) as f:
                for line in f:
                    self.assertEqual(json.loads(line)["path"], "/n")
                    total += 1
        self.assertEqual(total, sent[0])
        self.assertGreater(sent[0], 50)
        # The error log is reopened too: its first file has the start, the last the last reopen.
        with open(f"{error_log}.0") as f:
            self.assertIn("listening on", f.read())
        with open(error_log) as f:
            self.assertIn("SIGUSR1: log files reopened", f.read())


class PassiveHealth(unittest.TestCase):
    """An origin killed under load is ejected after `failures` failures in a row, clients
    see no failure (the retry goes to the other peer: a refused connect always may, a
    request the killed origin was answering because the error phase asks), and it comes
    back after its ejection."""

    def test_a_killed_origin_is_ejected_and_comes_back(self):
        directory = tempfile.mkdtemp(prefix="turnout-outlier-")
        steady = Origin(directory)
        flaky = Origin(directory)
        sock = os.path.join(directory, "admin.sock")
        metrics = harness.free_port()
        proxy = Proxy(directory, f'''upstream web {{
    servers = ["127.0.0.1:{steady.port}", "127.0.0.1:{flaky.port}"]
    retries = 1
    connect_timeout = 1s
    outlier = consecutive(failures = 3, ejection = 2s, max_ejected = 50%)
}}
on request {{ route web }}
on error {{ retry }}
''', threads=2, extra=["--admin", sock, "--metrics", f"127.0.0.1:{metrics}"])
        failures, served = [], []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                status, fields, _ = curl(proxy.url("/x"))
                if status != 200:
                    failures.append(status)
                else:
                    served.append(int(fields["x-origin-port"]))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        restarted = None
        try:
            time.sleep(0.5)
            flaky.stop()
            deadline = time.time() + 5
            peer = None
            while time.time() < deadline:
                peers = admin(sock, {"command": "peers"})["upstreams"][0]["peers"]
                peer = next(p for p in peers if p["address"] == f"127.0.0.1:{flaky.port}")
                if peer["ejected"]:
                    break
                time.sleep(0.05)
            self.assertTrue(peer["ejected"], peer)
            self.assertEqual(peer["ejections"], 1)
            # A load that leaves the upstream as it was keeps the ejection.
            self.assertTrue(admin(sock, {"command": "load", "path": proxy.policy})["ok"])
            peers = admin(sock, {"command": "peers"})["upstreams"][0]["peers"]
            self.assertTrue(next(p for p in peers if p["address"] == f"127.0.0.1:{flaky.port}")["ejected"])
            text = scrape(metrics)[1]
            parsed = samples(text)
            self.assertEqual(value(parsed, "turnout_upstream_peer_ejected", upstream="web",
                                   peer=f"127.0.0.1:{flaky.port}"), 1)
            # Its failures (refused connects; resets of the connections pooled to it) stop
            # while it is out.
            failed = value(parsed, "turnout_upstream_failures_total", upstream="web",
                           peer=f"127.0.0.1:{flaky.port}")
            self.assertGreaterEqual(failed, 3)
            time.sleep(1)
            parsed = samples(scrape(metrics)[1])
            self.assertEqual(value(parsed, "turnout_upstream_failures_total", upstream="web",
                                   peer=f"127.0.0.1:{flaky.port}"), failed)
            # Back on its port: once the ejection is over, it serves again.
            restarted = harness.start([sys.executable, harness.ORIGIN, str(flaky.port)])
            harness.wait_for_port(flaky.port, restarted)
            served.clear()
            deadline = time.time() + 6
            while time.time() < deadline and flaky.port not in served:
                time.sleep(0.1)
            self.assertIn(flaky.port, served)
        finally:
            stop.set()
            for t in threads:
                t.join()
            proxy.stop()
            steady.stop()
            if restarted:
                restarted.kill()
                restarted.wait()
        self.assertEqual(failures, [])
        with open(proxy.stderr.name) as f:
            self.assertIn(f"peer 127.0.0.1:{flaky.port} ejected for 2.0 s after 3 failures in a row", f.read())


class TraceContext(unittest.TestCase):
    """traceparent continued (same trace, the proxy's span as parent, tracestate kept) or
    started; the trace id is in the request's access log line and req.trace_id."""

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="turnout-trace-")
        cls.origin = Origin(cls.directory)
        cls.proxy = Proxy(cls.directory, f'''upstream web {{ servers = ["127.0.0.1:{cls.origin.port}"] }}
on request {{ route web }}
on response {{ resp.header["x-trace"] = req.trace_id }}
''', config="  access_format: json\ntracing:\n  sample_ratio: 0\n")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def seen_upstream(self, body):
        return dict(line.split(": ", 1) for line in body.decode().splitlines()[2:])

    def logged(self, trace_id):
        time.sleep(1.5)
        with open(self.proxy.access_log) as f:
            return [json.loads(line) for line in f if trace_id in line]

    def test_a_traceparent_is_continued(self):
        status, fields, body = curl(self.proxy.url("/t"), "-H", f"traceparent: {TRACEPARENT}",
                                    "-H", "tracestate: vendor=abc")
        self.assertEqual(status, 200)
        seen = self.seen_upstream(body)
        version, trace, parent, flags = seen["traceparent"].split("-")
        self.assertEqual((version, trace, flags), ("00", TRACE_ID, "01"))
        self.assertNotEqual(parent, "b7ad6b7169203331")  # the proxy's span
        self.assertRegex(parent, r"^[0-9a-f]{16}$")
        self.assertEqual(seen["tracestate"], "vendor=abc")
        self.assertEqual(fields["x-trace"], TRACE_ID)
        self.assertEqual(len(self.logged(TRACE_ID)), 1)

    def test_a_trace_is_started_without_one_or_with_an_invalid_one(self):
        for extra in ([], ["-H", "traceparent: 00-" + "0" * 32 + "-b7ad6b7169203331-01",
                           "-H", "tracestate: vendor=abc"]):
            status, fields, body = curl(self.proxy.url("/s"), *extra)
            self.assertEqual(status, 200)
            seen = self.seen_upstream(body)
            self.assertRegex(seen["traceparent"], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")  # ratio 0
            trace = seen["traceparent"].split("-")[1]
            self.assertNotEqual(trace, "0" * 32)
            self.assertEqual(fields["x-trace"], trace)
            self.assertNotIn("tracestate", seen)
            self.assertEqual(len(self.logged(trace)), 1)


if __name__ == "__main__":
    unittest.main()
