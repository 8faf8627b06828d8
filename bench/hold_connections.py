#!/usr/bin/env python3
"""Memory per held client connection of one proxy process, as its RSS says.

Usage: hold_connections.py PORT PID N [--tls]

Opens N connections to 127.0.0.1:PORT (with --tls, TLS connections, the certificate not
verified) and prints, in KB of the process PID's RSS:
  base     before any connection
  idle     with N kept-alive connections, each after one answered request
  partial  with N connections, each holding an unfinished request head
  closed   a few seconds after all have closed (what a burst leaves behind)
and the bytes per connection of the two held states. Needs an open-file limit above N.
"""
import socket
import ssl
import sys
import time

REQUEST = b"GET /small HTTP/1.1\r\nHost: bench\r\n\r\n"
PARTIAL = b"GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: slow"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed before a response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed mid-body")
        body += chunk


def settle(pid):
    time.sleep(3)  # the proxy's buffers of the last exchanges go back (turnout: after 1 s)
    return rss_kb(pid)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    if not TLS:
        return s
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(s, server_hostname="bench.test")


def hold(port, pid, n, first):
    held = []
    for _ in range(n):
        s = connect(port)
        s.sendall(first)
        if first is REQUEST:
            read_response(s)
        held.append(s)
    rss = settle(pid)
    for s in held:
        s.close()
    return rss


TLS = "--tls" in sys.argv


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    # A request first, so that the process has its steady pieces (pools, buffers) already.
    warm = connect(port)
    warm.sendall(REQUEST)
    read_response(warm)
    warm.close()
    base = settle(pid)
    idle = hold(port, pid, n, REQUEST)
    partial = hold(port, pid, n, PARTIAL)
    closed = settle(pid)
    per = lambda kb: (kb - base) * 1024 / n
    print(f"base {base} KB, idle {idle} KB, partial {partial} KB, closed {closed} KB; "
          f"bytes per connection: idle {per(idle):.0f}, partial head {per(partial):.0f}; "
          f"left after closing: {closed - base} KB")


if __name__ == "__main__":
    main()
