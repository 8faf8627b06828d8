#!/usr/bin/env python3
"""Reload latency: from the command sent to the new version serving, p50 and p99 over 100
reloads, for each example policy and a generated 1,000-rule policy; nginx's reload
(SIGHUP, until a response carries the new configuration) beside it.

turnout: `load` over the admin socket, which is answered once every worker runs the new
version; each reload is a new version (a comment changes its id), so each one compiles.
A benchmark, not a test. Usage: bench/reload_bench.py [BUILD_DIR] (RELOADS=100)
"""
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "release")
TURNOUT = os.path.join(BUILD, "runtime", "turnout")
sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))
import harness  # noqa: E402  (the loopback guard the tests use)
from harness import free_port  # noqa: E402
harness.ROUTEC = os.path.join(BUILD, "compiler", "routec")
RELOADS = int(os.environ.get("RELOADS", "100"))


def wait_for(predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise RuntimeError("timed out")


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def percentiles(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def turnout_reloads(work, policy_path):
    """Reloads of `policy_path`, served as its loopback copy: the examples' peers are a
    real deployment's addresses, and a served policy's health checks probe at once."""
    source = open(harness.loopback_copy(policy_path, work)).read()
    admin = os.path.join(work, "admin.sock")
    port = free_port()
    paths = [os.path.join(work, f"reload{i}.route") for i in range(2)]
    first = paths[0]
    for path in paths:
        with open(path, "w") as f:
            f.write(source)
    process = subprocess.Popen([TURNOUT, "run", first, "--listen", f"127.0.0.1:{port}", "--threads", "2",
                                "--admin", admin], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: listening(port) and os.path.exists(admin))
        client = socket.socket(socket.AF_UNIX)
        client.connect(admin)
        stream = client.makefile("rw")
        samples = []
        for i in range(RELOADS):
            path = paths[i % 2]
            with open(path, "w") as f:
                f.write(source + f"\n// reload {i}\n")
            started = time.perf_counter()
            stream.write(json.dumps({"command": "load", "path": path}) + "\n")
            stream.flush()
            answer = json.loads(stream.readline())
            samples.append((time.perf_counter() - started) * 1000)
            if not answer["ok"]:
                raise RuntimeError(answer)
        client.close()
        return percentiles(samples)
    finally:
        process.terminate()
        process.wait()
        for path in paths:
            os.unlink(path)


def nginx_reloads(work):
    if not shutil.which("nginx"):
        return None
    port = free_port()
    conf = os.path.join(work, "nginx.conf")

    def write(generation):
        with open(conf, "w") as f:
            f.write(f"""worker_processes 2;
daemon off;
error_log {work}/nginx-error.log;
pid {work}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{ listen 127.0.0.1:{port}; location / {{ add_header x-generation {generation}; return 200 "ok\\n"; }} }}
}}
""")

    def generation():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                return response.headers.get("x-generation")
        except OSError:
            return None

    write(0)
    process = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: generation() == "0")
        samples = []
        for i in range(1, RELOADS + 1):
            write(i)
            started = time.perf_counter()
            process.send_signal(1)  # SIGHUP
            wait_for(lambda: generation() == str(i))
            samples.append((time.perf_counter() - started) * 1000)
        return percentiles(samples)
    finally:
        process.terminate()
        process.wait()


def main():
    work = tempfile.mkdtemp(prefix="turnout-reload-")
    os.chmod(work, 0o755)
    try:
        table = os.path.join(work, "rules_1000.route")
        with open(table, "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_policy.py"), "1000"], stdout=f, check=True)
        policies = sorted(glob.glob(os.path.join(ROOT, "examples", "*.route"))) + [table]
        print(f"reload_bench: {time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores, "
              f"{RELOADS} reloads each, 2 worker threads")
        print(f"{'policy':<28} {'p50 ms':>8} {'p99 ms':>8}")
        medians = []
        for policy in policies:
            p50, p99 = turnout_reloads(work, policy)
            medians.append(p50)
            print(f"turnout {os.path.basename(policy):<20} {p50:8.1f} {p99:8.1f}")
        peer = nginx_reloads(work)
        if peer:
            print(f"{'nginx (SIGHUP, add_header)':<28} {peer[0]:8.1f} {peer[1]:8.1f}")
            print(f"turnout's median p50 / nginx's p50: {statistics.median(medians) / peer[0]:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
