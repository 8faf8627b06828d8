#!/usr/bin/env python3
"""The PROXY protocol (v1 and v2) on plain and TLS listeners (issue 18): the header's
addresses become client.ip/port and server.ip/port, the access log keeps the immediate
peer, and a connection without a valid header, or from a peer outside
proxy_protocol_from, is closed before anything reaches an upstream.

Usage: proxy_protocol_test.py TURNOUT ROUTEC [unittest args]
"""
import os
import signal
import socket
import struct
import sys
import tempfile
import time
import unittest

import harness
from harness import Certificates, Origin, curl

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))

V2 = b"\r\n\r\n\x00\r\nQUIT\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def exchange(port, *pieces, pause=0.0):
    """Sends the pieces on one connection (pausing between them) and returns what comes
    back until the close; b"" when the connection was closed or reset without an answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for piece in pieces:
                s.sendall(piece)
                time.sleep(pause)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return data
                data += chunk
    except ConnectionResetError:
        return b""


def body(response):
    return response.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in response else b""


def v2(command, family, payload):
    return V2 + bytes([0x20 | command, family]) + struct.pack("!H", len(payload)) + payload


class ProxyProtocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-proxyproto-")
        cls.origin = Origin(cls.dir)
        certs = Certificates(cls.dir)
        cls.ca = certs.ca
        cert, key = certs.leaf("site", ["site.test"])
        cls.policy = os.path.join(cls.dir, "policy.route")
        with open(cls.policy, "w") as f:
            f.write(f'upstream origin {{ servers = ["127.0.0.1:{cls.origin.port}"] }}\n'
                    'on request {\n'
                    '    if req.path == "/up" { route origin }\n'
                    '    respond 200 req.scheme + " " + str(client.ip) + ":" + str(client.port) + " "'
                    ' + str(server.ip) + ":" + str(server.port)\n}\n')
        cls.plain, cls.limited, cls.tls = harness.free_port(), harness.free_port(), harness.free_port()
        cls.access = os.path.join(cls.dir, "access.log")
        config = os.path.join(cls.dir, "turnout.yaml")
        with open(config, "w") as f:
            f.write(f"listen:\n"
                    f"  - {{address: '127.0.0.1:{cls.plain}', proxy_protocol: true}}\n"
                    f"  - address: '127.0.0.1:{cls.limited}'\n"
                    f"    proxy_protocol: true\n"
                    f"    proxy_protocol_from: ['10.0.0.0/8', '2001:db8::/32']\n"
                    f"  - address: '127.0.0.1:{cls.tls}'\n"
                    f"    proxy_protocol: true\n"
                    f"    tls: {{certificates: [{{cert: {cert}, key: {key}}}]}}\n"
                    f"threads: 1\npolicy: {cls.policy}\nlog:\n  access: {cls.access}\n"
                    f"timeouts:\n  header_read: 2s\n")
        cls.stderr = open(os.path.join(cls.dir, "turnout.stderr"), "w")
        cls.proxy = harness.start([harness.TURNOUT, "--config", config], stderr=cls.stderr)
        for port in (cls.plain, cls.limited, cls.tls):
            harness.wait_for_port(port, cls.proxy)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.send_signal(signal.SIGTERM)
        code = cls.proxy.wait(timeout=10)
        cls.stderr.close()
        cls.origin.stop()
        assert code == 0, open(cls.stderr.name).read()[-3000:]

    def logged(self, client):
        """The access log's line for `client` (the log is flushed every second)."""
        deadline = time.time() + 5
        while time.time() < deadline:
            with open(self.access) as f:
                lines = [line for line in f.read().splitlines() if line.startswith(client + " ")]
            if lines:
                return lines[-1]
            time.sleep(0.2)
        return ""

    def test_v1_names_the_client_and_the_address_it_reached(self):
        answer = exchange(self.plain, b"PROXY TCP4 203.0.113.7 198.51.100.1 5555 443\r\n" + REQUEST)
        self.assertEqual(body(answer), b"http 203.0.113.7:5555 198.51.100.1:443")
        answer = exchange(self.plain, b"PROXY TCP6 2001:db8::7 2001:db8::1 6000 8443\r\n" + REQUEST)
        self.assertEqual(body(answer), b"http 2001:db8::7:6000 2001:db8::1:8443")
        # curl's own header (its real addresses).
        status, _, text = curl("--haproxy-protocol", f"http://127.0.0.1:{self.plain}/")
        self.assertEqual(status, 200)
        self.assertTrue(text.startswith(b"http 127.0.0.1:"), text)
        self.assertIn("203.0.113.7 \"GET / HTTP/1.1\" 200", self.logged("203.0.113.7"))

    def test_v2_in_pieces_with_tlvs_and_local(self):
        addresses = socket.inet_aton("192.0.2.10") + socket.inet_aton("192.0.2.20") + struct.pack("!HH", 1234, 80)
        tlv = b"\x04\x00\x05hello"  # a TLV (PP2_TYPE_NOOP) is skipped
        header = v2(1, 0x11, addresses + tlv)
        answer = exchange(self.plain, header[:7], header[7:20], header[20:] + REQUEST, pause=0.05)
        self.assertEqual(body(answer), b"http 192.0.2.10:1234 192.0.2.20:80")
        six = (socket.inet_pton(socket.AF_INET6, "2001:db8::10") + socket.inet_pton(socket.AF_INET6, "2001:db8::20")
               + struct.pack("!HH", 4321, 443))
        self.assertEqual(body(exchange(self.plain, v2(1, 0x21, six) + REQUEST)),
                         b"http 2001:db8::10:4321 2001:db8::20:443")
        # LOCAL (a health check of the balancer's own): the connection's addresses stand.
        self.assertTrue(body(exchange(self.plain, v2(0, 0x00, b"") + REQUEST)).startswith(b"http 127.0.0.1:"))
        line = self.logged("192.0.2.10")
        self.assertTrue(line.endswith(" via 127.0.0.1"), line)

    def test_no_header_a_bad_one_or_a_peer_not_allowed_reaches_no_upstream(self):
        up = b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        before = len(self.origin.requests())
        for port, data in ((self.plain, up),
                           (self.plain, b"PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n" + up),
                           (self.plain, b"PROXY TCP4 1.2.3.4 5.6.7.8 70000 80\r\n" + up),
                           (self.plain, V2 + b"\x21\x11\x00\x02ab" + up),
                           (self.plain, b"PROXY " + b"x" * 200 + b"\r\n" + up),
                           (self.limited, b"PROXY TCP4 10.1.1.1 10.1.1.2 1000 80\r\n" + up)):
            self.assertEqual(exchange(port, data), b"", data[:40])
        # A header that never ends is closed at header_read.
        started = time.time()
        self.assertEqual(exchange(self.plain, b"PROXY TCP4 "), b"")
        self.assertLess(time.time() - started, 4.5)
        # A valid one does reach it.
        answer = exchange(self.plain, b"PROXY TCP4 203.0.113.9 198.51.100.1 5555 80\r\n" + up)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:100])
        self.assertEqual(len(self.origin.requests()), before + 1)
        with open(self.stderr.name) as f:
            log = f.read()
        self.assertIn("not in proxy_protocol_from", log)
        self.assertIn("no valid PROXY protocol header", log)

    def test_the_header_comes_before_the_tls_handshake(self):
        status, _, text = curl("--haproxy-protocol", "--cacert", self.ca, "--resolve",
                               f"site.test:{self.tls}:127.0.0.1", f"https://site.test:{self.tls}/")
        self.assertEqual(status, 200)
        self.assertTrue(text.startswith(b"https 127.0.0.1:"), text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
