"""What the end-to-end tests of turnout share: free ports, origins (examples/origin.py) and
proxies started and stopped by the tests, curl and raw-socket clients. Loopback only.

TURNOUT and ROUTEC name the binaries; the test scripts set them from their arguments.
TURNOUT_IO in the environment (uring or epoll) chooses how the proxies started here read
and write their sockets; unset, turnout's default.
"""
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import atexit

TURNOUT = "build/release/runtime/turnout"
ROUTEC = "build/release/compiler/routec"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORIGIN = os.path.join(ROOT, "examples", "origin.py")
PATTERN = bytes(range(256)) * 256
IO = os.environ.get("TURNOUT_IO")


STARTED = []  # every process a test started: none outlives the test run


@atexit.register
def _stop_leftovers():
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.wait()


def start(command, **kwargs):
    """Starts a process for a test; its stdout goes nowhere (a process left running must
    not hold the test runner's output open)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, **kwargs)
    STARTED.append(process)
    return process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def pattern_sha256(n):
    digest = hashlib.sha256()
    while n > 0:
        piece = PATTERN[: min(n, len(PATTERN))]
        digest.update(piece)
        n -= len(piece)
    return digest.hexdigest()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Origin:
    def __init__(self, directory, tls=None, unhealthy=False, idle_close=None):
        self.port = free_port()
        self.log = os.path.join(directory, f"origin-{self.port}.log")
        open(self.log, "w").close()
        self.process = start([sys.executable, ORIGIN, str(self.port), "--log", self.log,
                                         *(["--tls", *tls] if tls else []),
                                         *(["--unhealthy"] if unhealthy else []),
                                         *(["--idle-close", str(idle_close)] if idle_close else [])])
        wait_for_port(self.port, self.process)

    def lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def requests(self):
        return [line for line in self.lines() if line.startswith("request ")]

    def connections(self):
        return [line for line in self.lines() if line.startswith("connect ")]

    def stop(self):
        self.process.kill()
        self.process.wait()


class Proxy:
    def __init__(self, directory, policy_text, config=None, extra=(), threads=1, env=None):
        self.port = free_port()
        self.policy = os.path.join(directory, f"policy-{self.port}.route")
        with open(self.policy, "w") as f:
            f.write(policy_text)
        self.access_log = os.path.join(directory, f"access-{self.port}.log")
        if config is not None:
            path = os.path.join(directory, f"turnout-{self.port}.yaml")
            with open(path, "w") as f:
                f.write(f"listen: ['127.0.0.1:{self.port}']\nthreads: 1\npolicy: {self.policy}\n"
                        f"log:\n  access: {self.access_log}\n" + (f"io: {IO}\n" if IO else "") + config)
            command = [TURNOUT, "--config", path]
        else:
            command = [TURNOUT, "run", self.policy, "--listen", f"127.0.0.1:{self.port}", "--threads", str(threads),
                       "--access-log", self.access_log, *(["--io", IO] if IO else []), *extra]
        self.stderr = open(os.path.join(directory, f"turnout-{self.port}.stderr"), "w")
        self.process = start(command, stderr=self.stderr, env=env)
        wait_for_port(self.port, self.process)

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        """Stops turnout and fails if it did not exit cleanly (under the sanitizers, a leak
        or an error found at exit shows here)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()
        if self.process.returncode != 0:
            with open(self.stderr.name) as f:
                raise AssertionError(f"turnout exited with {self.process.returncode}:\n{f.read()[-4000:]}")


def curl(*args, data=None):
    """Runs curl; returns (status, headers dict of last response, body bytes)."""
    with tempfile.NamedTemporaryFile() as headers:
        result = subprocess.run(["curl", "-s", "-S", "--max-time", "30", "-D", headers.name, *args],
                                input=data, capture_output=True)
        with open(headers.name, "rb") as f:
            text = f.read().decode("latin-1")
    blocks = [b for b in text.split("\r\n\r\n") if b.startswith("HTTP/")]
    if not blocks:
        return 0, {}, result.stdout
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    return status, fields, result.stdout


def raw(port, data, timeout=5, read_all=True):
    """Sends bytes on a fresh connection and returns everything read until it closes."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(timeout)
        s.sendall(data)
        out = b""
        try:
            while True:
                piece = s.recv(65536)
                if not piece:
                    break
                out += piece
                if not read_all:
                    break
        except socket.timeout:
            pass
        return out


def statuses(response_bytes):
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3})", response_bytes)]
