"""What the end-to-end tests of turnout share: free ports, origins (examples/origin.py) and
proxies started and stopped by the tests, curl and raw-socket clients. Loopback only.

Every test stays on this machine: it connects to 127.0.0.0/8 and [::1] alone. turnout
connects wherever its policy's peers are (and its health checks probe them at once), so
`start` refuses to start it on a policy that names a peer off loopback, and the admin
loads of the tests go through `require_loopback` too. A policy written for a real
deployment (examples/) is served as `loopback_copy` makes it: every peer that is not on
loopback becomes a closed loopback port, a dead peer.

TURNOUT and ROUTEC name the binaries; the test scripts set them from their arguments.
TURNOUT_IO in the environment (uring or epoll) chooses how the proxies started here read
and write their sockets; unset, turnout's default.

As a command, for the benchmark scripts:
  harness.py require-loopback ROUTEC POLICY...    exit 1 naming any peer off loopback
  harness.py loopback-copy ROUTEC POLICY OUT      write OUT with such peers on closed ports
"""
import hashlib
import ipaddress
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
import atexit

TURNOUT = "build/release/runtime/turnout"
ROUTEC = "build/release/compiler/routec"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORIGIN = os.path.join(ROOT, "examples", "origin.py")
PATTERN = bytes(range(256)) * 256
IO = os.environ.get("TURNOUT_IO")


STARTED = []  # every process a test started: none outlives the test run


def peers(policy):
    """The peers of `policy` (a source or an artifact) as `routec dump --upstreams` reads
    them: (upstream, address, host) each; None when routec cannot read the policy, which
    turnout then refuses to serve as well."""
    result = subprocess.run([ROUTEC, "dump", "--upstreams", "--json", policy], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return [(u["name"], p["address"], p["host"]) for u in json.loads(result.stdout)["upstreams"] for p in u["peers"]]


def on_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another name: resolving it would already leave the machine


def off_loopback(policy):
    return [f"{upstream} {address}" for upstream, address, host in peers(policy) or [] if not on_loopback(host)]


def require_loopback(policy):
    """Refuses a policy whose peers are not all on loopback: a test must never make turnout
    connect (or probe) anywhere else."""
    outside = off_loopback(policy)
    if outside:
        raise RuntimeError(f"{policy} names peers off loopback ({', '.join(outside)}): "
                           "serve harness.loopback_copy(...) of it instead")


def loopback_copy(policy, directory):
    """Writes a copy of the source `policy` into `directory` in which every peer off
    loopback is a closed loopback port (a dead peer: connects are refused at once); returns
    its path. The original keeps its realistic addresses."""
    with open(policy) as f:
        text = f.read()
    for address in {address for _, address, host in peers(policy) or [] if not on_loopback(host)}:
        text = text.replace(f'"{address}"', f'"127.0.0.1:{free_port()}"')
    copy = os.path.join(directory, "loopback-" + os.path.basename(policy))
    with open(copy, "w") as f:
        f.write(text)
    require_loopback(copy)
    return copy


def served_policy(command):
    """The policy a turnout command line serves, or None: `run POLICY`, or `--config FILE`'s
    `policy:` key."""
    args = list(command[1:])
    if "run" in args and args.index("run") + 1 < len(args):
        return args[args.index("run") + 1]
    if "--config" in args and args.index("--config") + 1 < len(args):
        with open(args[args.index("--config") + 1]) as f:
            match = re.search(r"^policy:\s*(\S+)\s*$", f.read(), re.M)
        return match.group(1) if match else None
    return None


@atexit.register
def _stop_leftovers():
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.wait()


def start(command, **kwargs):
    """Starts a process for a test; its stdout goes nowhere (a process left running must
    not hold the test runner's output open). turnout only on a policy whose peers are all
    on loopback."""
    if command[0] == TURNOUT and served_policy(command):
        require_loopback(served_policy(command))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, **kwargs)
    STARTED.append(process)
    return process


def upgrade(command, old, socket_path, stderr):
    """A binary upgrade: starts `command` with --upgrade, waits for it to listen on its
    upgrade socket, and tells the `old` process to hand its listeners over (SIGQUIT).
    Returns the new process; the old one drains and exits."""
    new = start(command + ["--upgrade"], stderr=stderr)
    deadline = time.time() + 10
    while not os.path.exists(socket_path) and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    old.send_signal(signal.SIGQUIT)
    return new


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


class ScriptOrigin:
    """An origin script of tests/runtime (h2_origin.py, grpc_origin.py, ws_origin.py) on a
    free port, started as `script PORT --log FILE OPTIONS...`; what it logs, a line per
    event, is read back by `lines`."""

    def __init__(self, directory, script, *options):
        self.port = free_port()
        name = os.path.splitext(os.path.basename(script))[0]
        self.log = os.path.join(directory, f"{name}-{self.port}.log")
        open(self.log, "w").close()
        self.process = start([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), script),
                              str(self.port), "--log", self.log, *options])
        wait_for_port(self.port, self.process)

    def lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def stop(self):
        self.process.kill()
        self.process.wait()


class RawOrigin:
    """An origin on loopback that answers as a test scripts it, byte for byte: an upstream
    that misbehaves. `answer(request, n)` gets the n-th request's raw bytes (head and body;
    n counts from 0 over all connections) and returns the bytes to send, or (bytes, keep)
    where keep=False closes the connection after them; it may sleep. The bytes may be a
    list whose numbers are pauses in seconds between the pieces. What each connection
    received is kept in `received` (one bytes object per connection, in accept order)."""

    def __init__(self, answer):
        self.answer = answer
        self.received = []
        self.requests = 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections.append(connection)
                self.received.append(b"")
                index = len(self.received) - 1
            threading.Thread(target=self.serve, args=(connection, index), daemon=True).start()

    @staticmethod
    def read_request(connection, pending):
        """One request from `pending` + the socket: (request bytes, what is left), or None."""
        def more():
            piece = connection.recv(65536)
            if not piece:
                raise EOFError
            return piece
        try:
            while b"\r\n\r\n" not in pending:
                pending += more()
            end = pending.index(b"\r\n\r\n") + 4
            head = pending[:end].lower()
            if b"transfer-encoding: chunked" in head:
                while not re.search(rb"\r\n0\r\n(?:[^\r\n]+\r\n)*\r\n", pending[end - 2:]):
                    pending += more()
                match = re.search(rb"\r\n0\r\n(?:[^\r\n]+\r\n)*\r\n", pending[end - 2:])
                end = end - 2 + match.end()
            else:
                length = re.search(rb"content-length: *(\d+)", head)
                end += int(length.group(1)) if length else 0
                while len(pending) < end:
                    pending += more()
            return pending[:end], pending[end:]
        except (EOFError, OSError):
            return None

    def serve(self, connection, index):
        pending = b""
        with connection:
            while True:
                got = self.read_request(connection, pending)
                if got is None:
                    return
                request, pending = got
                with self.lock:
                    self.received[index] += request
                    n = self.requests
                    self.requests += 1
                reply = self.answer(request, n)
                keep = True
                if isinstance(reply, tuple):
                    reply, keep = reply
                try:
                    for piece in reply if isinstance(reply, list) else [reply]:
                        if isinstance(piece, (int, float)):
                            time.sleep(piece)
                        elif piece:
                            connection.sendall(piece)
                except OSError:
                    return
                if not keep:
                    return

    def stop(self):
        self.listener.close()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


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


def admin(path, request):
    """One request to turnout's admin socket at `path`, answered (a JSON object each way)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall((json.dumps(request) + "\n").encode())
        return json.loads(s.makefile().readline())


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
    """Sends bytes on a fresh connection and returns everything read until it closes (or
    `timeout` passes quiet; with read_all=False, the first piece)."""
    return raw_in_turns(port, [data], timeout, read_all)


def raw_in_turns(port, requests, timeout=5, read_all=True):
    """Sends each of `requests` in turn on one fresh connection, reading after each until the
    connection closes or has been quiet for `timeout`; returns all that was read."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(timeout)
        out = b""
        for data in requests:
            s.sendall(data)
            try:
                while True:
                    piece = s.recv(65536)
                    if not piece:
                        return out
                    out += piece
                    if not read_all:
                        break
            except socket.timeout:
                pass
        return out


def statuses(response_bytes):
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3})", response_bytes)]


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=30)


class Certificates:
    """A CA and leaf certificates it signed, in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = self.path("ca.pem")
        self.ca_key = self.path("ca.key")
        result = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", self.ca_key, "-out", self.ca, "-days", "30", "-subj", "/CN=turnout test CA")
        assert result.returncode == 0, result.stderr

    def path(self, name):
        return os.path.join(self.dir, name)

    def leaf(self, name, dns, kind="rsa", days=30, common=None):
        """A certificate for the DNS names `dns` (subjectAltName) with its key: (cert, key)."""
        key, csr, cert = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".pem")
        keygen = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        result = openssl("req", "-new", *keygen, "-nodes", "-keyout", key, "-out", csr,
                         "-subj", f"/CN={common or dns[0]}")
        assert result.returncode == 0, result.stderr
        extensions = self.path(name + ".ext")
        with open(extensions, "w") as f:
            f.write("subjectAltName=" + ",".join(f"DNS:{d}" for d in dns) + "\n")
        result = openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                         "-out", cert, "-days", str(days), "-extfile", extensions)
        assert result.returncode == 0, result.stderr
        return cert, key


if __name__ == "__main__":
    usage = "usage: harness.py require-loopback ROUTEC POLICY... | loopback-copy ROUTEC POLICY OUT"
    if len(sys.argv) < 4:
        sys.exit(usage)
    ROUTEC = sys.argv[2]
    if sys.argv[1] == "require-loopback":
        outside = [f"{policy}: {peer}" for policy in sys.argv[3:] for peer in off_loopback(policy)]
        if outside:
            sys.exit("peers off loopback:\n  " + "\n  ".join(outside))
    elif sys.argv[1] == "loopback-copy" and len(sys.argv) == 5:
        copy = loopback_copy(sys.argv[3], os.path.dirname(os.path.abspath(sys.argv[4])))
        os.replace(copy, sys.argv[4])
    else:
        sys.exit(usage)
