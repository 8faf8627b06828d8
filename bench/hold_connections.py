#!/usr/bin/env python3
"""Memory per held client connection of one proxy process, as its RSS says.

Usage: hold_connections.py PORT PID N [--tls] [--h2]

Opens N connections to 127.0.0.1:PORT (with --tls, TLS connections, the certificate not
verified; with --h2, HTTP/2 ones: prior knowledge, or ALPN h2 over TLS, each after one
request, and no partial-head state) and prints, in KB of the process PID's RSS:
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


def h2_request(sock):
    """One GET /small over HTTP/2 (python3-h2), read to its end; the connection stays open."""
    import h2.config
    import h2.connection
    import h2.events
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "GET"), (":scheme", "https" if TLS else "http"),
                          (":authority", "bench"), (":path", "/small")], end_stream=True)
    sock.sendall(conn.data_to_send())
    while True:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("closed before the response's end")
        events = conn.receive_data(data)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if any(isinstance(e, h2.events.StreamEnded) for e in events):
            return


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
    if H2:
        context.set_alpn_protocols(["h2"])
    return context.wrap_socket(s, server_hostname="bench.test")


def hold(port, pid, n, first):
    held = []
    for _ in range(n):
        s = connect(port)
        if H2:
            h2_request(s)
        else:
            s.sendall(first)
            if first is REQUEST:
                read_response(s)
        held.append(s)
    rss = settle(pid)
    for s in held:
        s.close()
    return rss


TLS = "--tls" in sys.argv
H2 = "--h2" in sys.argv


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    # A request first, so that the process has its steady pieces (pools, buffers) already.
    warm = connect(port)
    if H2:
        h2_request(warm)
    else:
        warm.sendall(REQUEST)
        read_response(warm)
    warm.close()
    base = settle(pid)
    idle = hold(port, pid, n, REQUEST)
    if H2:
        closed = settle(pid)
        print(f"base {base} KB, idle {idle} KB, closed {closed} KB; bytes per idle HTTP/2 "
              f"connection: {(idle - base) * 1024 / n:.0f}; left after closing: {closed - base} KB")
        return
    partial = hold(port, pid, n, PARTIAL)
    closed = settle(pid)
    per = lambda kb: (kb - base) * 1024 / n
    print(f"base {base} KB, idle {idle} KB, partial {partial} KB, closed {closed} KB; "
          f"bytes per connection: idle {per(idle):.0f}, partial head {per(partial):.0f}; "
          f"left after closing: {closed - base} KB")


if __name__ == "__main__":
    main()
