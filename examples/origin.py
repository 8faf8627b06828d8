#!/usr/bin/env python3
"""A small HTTP/1.1 origin for the quick start and the proxy's tests (loopback only).

usage: origin.py PORT [--log FILE] [--tls CERT KEY] [--unhealthy] [--idle-close SECONDS]

  GET  /anything        "hello from origin PORT" and what it received, as text
  GET  /bytes/N         N bytes of a repeating pattern, with Content-Length
  GET  /chunked/N       N bytes in chunks of 64 KiB, with a trailer
  GET  /truncated/N     a Content-Length of N, then half of that and the connection closes
  GET  /slow/MS         answers after MS milliseconds
                        (each action may follow other path segments: /a/slow/100)
  POST|PUT /upload      reads the body (Content-Length or chunked) and answers its
                        length and sha256
  GET  /healthz         200 "ok", or 503 with --unhealthy
  HEAD                  as GET, without the body

Every answer carries x-origin-port, x-seen-host and x-connection (a number per TCP
connection). With --log, one line per connection and per request goes to FILE:
"connect N" and "request N METHOD TARGET host=HOST". With --tls, it speaks HTTPS with that certificate.
With --idle-close, it closes a kept-alive connection idle for that long (as servers with a
short keep-alive timeout do).
"""
import hashlib
import http.server
import itertools
import socketserver
import sys
import threading
import time

PORT = int(sys.argv[1])
LOG = sys.argv[sys.argv.index("--log") + 1] if "--log" in sys.argv else None
UNHEALTHY = "--unhealthy" in sys.argv
IDLE_CLOSE = float(sys.argv[sys.argv.index("--idle-close") + 1]) if "--idle-close" in sys.argv else None
TLS = sys.argv[sys.argv.index("--tls") + 1:sys.argv.index("--tls") + 3] if "--tls" in sys.argv else None
PATTERN = bytes(range(256)) * 256  # 64 KiB
connections = itertools.count(1)
log_lock = threading.Lock()


def log(line):
    if LOG:
        with log_lock, open(LOG, "a") as f:
            f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_CLOSE  # a socket timeout: the handler ends the connection when it passes

    def setup(self):
        super().setup()
        self.connection_id = next(connections)
        log(f"connect {self.connection_id}")

    def log_message(self, *args):
        pass

    def common_headers(self):
        self.send_header("x-origin-port", str(PORT))
        self.send_header("x-seen-host", self.headers.get("host", ""))
        self.send_header("x-connection", str(self.connection_id))

    def read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    piece = self.rfile.read(min(remaining, 1 << 16))
                    remaining -= len(piece)
                    yield piece
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("content-length", "0"))
            while remaining:
                piece = self.rfile.read(min(remaining, 1 << 16))
                if not piece:
                    return
                remaining -= len(piece)
                yield piece

    def answer(self, body_only_head=False):
        log(f"request {self.connection_id} {self.command} {self.path} host={self.headers.get('host', '')}")
        parts = self.path.split("?")[0].strip("/").split("/")
        # The action is the first known word of the path: /anything/slow/100 sleeps too.
        known = [i for i, part in enumerate(parts) if part in ("upload", "bytes", "chunked", "truncated", "slow")]
        parts = parts[known[0]:] if known else parts
        if parts[0] == "upload":
            digest, length = hashlib.sha256(), 0
            for piece in self.read_body():
                digest.update(piece)
                length += len(piece)
            body = f"{length} {digest.hexdigest()}\n".encode()
        else:
            for _ in self.read_body():
                pass
            if parts[0] == "bytes" and len(parts) > 1:
                return self.stream_bytes(int(parts[1]), body_only_head)
            if parts[0] == "truncated" and len(parts) > 1:
                return self.stream_bytes(int(parts[1]), body_only_head, cut=True)
            if parts[0] == "chunked" and len(parts) > 1:
                return self.stream_chunked(int(parts[1]), body_only_head)
            if parts[0] == "slow" and len(parts) > 1:
                time.sleep(int(parts[1]) / 1000)
            if parts[0] == "healthz":
                return self.health(body_only_head)
            lines = [f"hello from origin {PORT}", f"{self.command} {self.path}"]
            lines += [f"{k}: {v}" for k, v in self.headers.items()]
            body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.common_headers()
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if not body_only_head:
            self.wfile.write(body)

    def health(self, head):
        self.send_response(503 if UNHEALTHY else 200)
        self.common_headers()
        self.send_header("content-length", "3")
        self.end_headers()
        if not head:
            self.wfile.write(b"no\n" if UNHEALTHY else b"ok\n")

    def stream_bytes(self, n, head, cut=False):
        self.send_response(200)
        self.common_headers()
        self.send_header("content-type", "application/octet-stream")
        self.send_header("content-length", str(n))
        self.end_headers()
        if cut:
            n //= 2
            self.close_connection = True
        while n > 0 and not head:
            piece = PATTERN[: min(n, len(PATTERN))]
            self.wfile.write(piece)
            n -= len(piece)

    def stream_chunked(self, n, head):
        self.send_response(200)
        self.common_headers()
        self.send_header("transfer-encoding", "chunked")
        self.send_header("trailer", "x-checksum")
        self.end_headers()
        if head:
            return
        digest = hashlib.sha256()
        while n > 0:
            piece = PATTERN[: min(n, len(PATTERN))]
            digest.update(piece)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            n -= len(piece)
        self.wfile.write(b"0\r\nx-checksum: " + digest.hexdigest().encode() + b"\r\n\r\n")

    def do_GET(self):
        self.answer()

    def do_HEAD(self):
        self.answer(body_only_head=True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # a proxy may open hundreds of connections at once

    def handle_error(self, request, client_address):
        pass  # a client that hangs up early (a proxy's timeout, say) is not news


if __name__ == "__main__":
    server = Server(("127.0.0.1", PORT), Handler)
    if TLS:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS[0], TLS[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
