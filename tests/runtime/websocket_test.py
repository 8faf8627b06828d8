#!/usr/bin/env python3
"""WebSocket through turnout end to end (issue 20), with Debian's python3-websockets on both
sides (tests/runtime/ws_origin.py): an HTTP/1.1 upgrade runs the request and upstream
phases, the origin's 101 the response phases, then the connection is a tunnel. Text and
binary messages up to 1 MiB, ping/pong and close codes go through; 1,000 tunnels at once;
a tunnel quiet both ways is closed at tunnel_idle_timeout, one busy either way is not; a
tunnel lives through 10 hot loads, and through SIGTERM's shutdown_grace; wss over a TLS listener; RFC 8441 (extended CONNECT
over HTTP/2) from a python3-h2 client; and a 101 to a request that asked for no upgrade is
still a bad response.

Usage: websocket_test.py TURNOUT ROUTEC [unittest args]
"""
import asyncio
import json
import os
import re
import resource
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import h2.config
import h2.connection
import h2.events
import websockets

import harness
from harness import Certificates, Proxy, RawOrigin, admin, curl

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))

POLICY = '''upstream ws {{ servers = ["127.0.0.1:{port}"] read_timeout = 1s }}
on request {{
    if req.path == "/local" {{ respond 200 "upgrade=" + req.upgrade }}
    route ws
}}
on upstream_request {{ upstream.req.header["x-seen-upgrade"] = req.upgrade + " {tag}" }}
on response {{ resp.header["x-tunnel"] = "{tag}" }}
'''


def ws_origin(directory, tls=None):
    return harness.ScriptOrigin(directory, "ws_origin.py", *(["--tls", *tls] if tls else []))


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def ws_frame(payload, opcode=1):
    """A client's (masked) WebSocket frame."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WebSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-ws-")
        cls.origin = ws_origin(cls.dir)
        cls.admin = os.path.join(cls.dir, "admin.sock")
        cls.proxy = Proxy(cls.dir, POLICY.format(port=cls.origin.port, tag="v0"),
                          config=f"timeouts:\n  tunnel_idle_timeout: 2s\nadmin:\n  socket: {cls.admin}\n")
        cls.url = f"ws://127.0.0.1:{cls.proxy.port}"

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    def test_messages_ping_and_close_codes(self):
        async def exchange():
            async with websockets.connect(self.url + "/echo", max_size=None) as ws:
                self.assertEqual(ws.response_headers.get("x-tunnel"), "v0")  # the response phase ran
                await ws.send("hello")
                self.assertEqual(await ws.recv(), "hello")
                for size in (1, 125, 126, 65535, 65536, 1 << 20):
                    data = os.urandom(size)
                    await ws.send(data)
                    self.assertEqual(await ws.recv(), data, size)
                text = "é" * (1 << 19)
                await ws.send(text)
                self.assertEqual(await ws.recv(), text)
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, 5)
                await ws.close(code=4001, reason="bye")
                self.assertEqual((ws.close_code, ws.close_reason), (4001, "bye"))
            async with websockets.connect(self.url + "/close/4002") as ws:
                with self.assertRaises(websockets.ConnectionClosed):
                    await ws.recv()
                self.assertEqual((ws.close_code, ws.close_reason), (4002, "closing 4002"))
        run(exchange())

    def test_the_policy_sees_the_upgrade(self):
        async def exchange():
            async with websockets.connect(self.url + "/headers") as ws:
                self.assertEqual(await ws.recv(), "websocket v0")
        run(exchange())
        self.assertEqual(curl(self.proxy.url("/local"))[::2], (200, b"upgrade="))
        self.assertEqual(curl("-H", "Connection: upgrade", "-H", "Upgrade: WebSocket", self.proxy.url("/local"))[::2],
                         (200, b"upgrade=websocket"))

    def test_1000_tunnels_at_once(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

        async def one(i):
            async with websockets.connect(self.url + "/echo", open_timeout=60, close_timeout=30) as ws:
                await ws.send(f"message {i}")
                return await ws.recv()

        async def many():
            # Opened in waves: a thousand handshakes at one instant overflow the listen backlogs.
            tasks = []
            for i in range(1000):
                tasks.append(asyncio.create_task(one(i)))
                if i % 100 == 99:
                    await asyncio.sleep(0.05)
            return await asyncio.gather(*tasks)

        answers = run(many())
        self.assertEqual(answers, [f"message {i}" for i in range(1000)])

    def test_a_quiet_tunnel_closes_at_its_idle_timeout_and_a_busy_one_does_not(self):
        async def quiet():
            async with websockets.connect(self.url + "/echo", ping_interval=None) as ws:
                started = time.time()
                with self.assertRaises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 10)
                return time.time() - started

        waited = run(quiet())
        self.assertGreater(waited, 1.5)
        self.assertLess(waited, 5)

        async def busy_one_way():
            # The origin pushes, the client never sends: busy, though only one way.
            async with websockets.connect(self.url + "/push", ping_interval=None) as ws:
                started, ticks = time.time(), 0
                while time.time() - started < 5:
                    self.assertEqual(await asyncio.wait_for(ws.recv(), 3), "tick")
                    ticks += 1
                return ticks

        self.assertGreater(run(busy_one_way()), 15)

    def test_a_tunnel_lives_through_10_hot_loads_and_counts_in_stats(self):
        async def exchange():
            async with websockets.connect(self.url + "/echo") as ws:
                stats = admin(self.admin, {"command": "stats"})
                self.assertGreaterEqual(stats["tunnels"], 1)
                self.assertGreaterEqual(stats["tunnels_opened"], 1)
                for version in range(1, 11):
                    path = os.path.join(self.dir, f"v{version}.route")
                    with open(path, "w") as f:
                        f.write(POLICY.format(port=self.origin.port, tag=f"v{version}"))
                    result = admin(self.admin, {"command": "load", "path": path})
                    self.assertTrue(result.get("ok"), result)
                    await ws.send(f"after load {version}")
                    self.assertEqual(await ws.recv(), f"after load {version}")
            # New tunnels run the new version.
            async with websockets.connect(self.url + "/headers") as ws:
                self.assertEqual(await ws.recv(), "websocket v10")
        try:
            run(exchange())
        finally:  # the other tests expect the first version
            admin(self.admin, {"command": "load", "path": self.proxy.policy})
        deadline = time.time() + 5
        while admin(self.admin, {"command": "stats"})["tunnels"] and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(admin(self.admin, {"command": "stats"})["tunnels"], 0)

    def test_rfc_8441_websocket_over_http2(self):
        sock = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=10)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
            normalize_outbound_headers=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        settings = None
        while settings is None:
            for event in conn.receive_data(sock.recv(65536)):
                if isinstance(event, h2.events.RemoteSettingsChanged):
                    settings = event.changed_settings
        sock.sendall(conn.data_to_send())
        self.assertEqual(settings[8].new_value, 1)  # SETTINGS_ENABLE_CONNECT_PROTOCOL
        conn.send_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                              (":path", "/echo"), (":authority", "ws.test"), ("sec-websocket-version", "13")])
        sock.sendall(conn.data_to_send())
        headers, received, message = None, b"", b"hello over HTTP/2"
        expected = bytes([0x81, len(message)]) + message  # the origin's frame: unmasked text
        while len(received) < len(expected):
            data = sock.recv(65536)
            self.assertTrue(data)
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    headers = dict(event.headers)
                    conn.send_data(1, ws_frame(message))
                elif isinstance(event, h2.events.DataReceived):
                    received += event.data
                    conn.acknowledge_received_data(len(event.data), 1)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    self.fail(f"the tunnel ended: {event}")
            sock.sendall(conn.data_to_send())
        self.assertEqual(headers[":status"], "200")
        self.assertNotIn("sec-websocket-accept", headers)
        self.assertEqual(headers.get("x-tunnel"), "v0")
        self.assertEqual(received, expected)
        # The client's close: END_STREAM, passed on as a half close; the origin then closes.
        conn.send_data(1, ws_frame(struct.pack(">H", 1000), opcode=8), end_stream=True)
        sock.sendall(conn.data_to_send())
        ended = False
        while not ended:
            data = sock.recv(65536)
            self.assertTrue(data)
            for event in conn.receive_data(data):
                ended = ended or isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset))
            sock.sendall(conn.data_to_send())
        sock.close()


class OverTls(unittest.TestCase):
    def test_wss_through_a_tls_listener(self):
        directory = tempfile.mkdtemp(prefix="turnout-wss-")
        certs = Certificates(directory)
        cert, key = certs.leaf("site", ["ws.test"])
        origin = ws_origin(directory)
        port = harness.free_port()
        proxy = Proxy(directory, POLICY.format(port=origin.port, tag="tls"),
                      extra=["--listen-tls", f"127.0.0.1:{port}", "--cert", cert, "--key", key])
        try:
            harness.wait_for_port(port, proxy.process)
            context = ssl.create_default_context(cafile=certs.ca)
            context.set_alpn_protocols(["http/1.1"])

            async def exchange():
                async with websockets.connect(f"wss://127.0.0.1:{port}/echo", ssl=context, max_size=None,
                                              server_hostname="ws.test") as ws:
                    data = os.urandom(1 << 20)
                    await ws.send(data)
                    self.assertEqual(await ws.recv(), data)
                    await ws.send("and text")
                    self.assertEqual(await ws.recv(), "and text")
            run(exchange())
        finally:
            proxy.stop()
            origin.stop()

    def test_a_tunnel_to_an_auto_upstream_asks_for_http1(self):
        """`protocol = auto` to an origin that would choose h2: a tunnel asks for HTTP/1.1."""
        directory = tempfile.mkdtemp(prefix="turnout-wss-auto-")
        certs = Certificates(directory)
        cert, key = certs.leaf("origin", ["origin.test"])
        origin = ws_origin(directory, tls=(cert, key))
        policy = (f'upstream ws {{ servers = ["127.0.0.1:{origin.port}"] protocol = auto tls = true '
                  f'sni = "origin.test" ca = "{certs.ca}" }}\non request {{ route ws }}\n')
        proxy = Proxy(directory, policy)
        try:
            async def exchange():
                async with websockets.connect(f"ws://127.0.0.1:{proxy.port}/echo") as ws:
                    await ws.send("over TLS to the origin")
                    self.assertEqual(await ws.recv(), "over TLS to the origin")
            run(exchange())
        finally:
            proxy.stop()
            origin.stop()


class ToHttp2(unittest.TestCase):
    def test_a_websocket_to_an_http2_origin_is_an_extended_connect(self):
        """RFC 8441 upstream: an HTTP/1.1 client's upgrade goes to an h2c origin that
        advertises SETTINGS_ENABLE_CONNECT_PROTOCOL as an extended CONNECT; the client gets
        its 101 with the Sec-WebSocket-Accept its key asks for (the origin makes none)."""
        directory = tempfile.mkdtemp(prefix="turnout-ws-h2-")
        origin = harness.ScriptOrigin(directory, "h2_origin.py", "--connect-protocol")
        policy = f'upstream h2 {{ servers = ["127.0.0.1:{origin.port}"] protocol = h2c }}\non request {{ route h2 }}\n'
        proxy = Proxy(directory, policy)
        try:
            async def exchange():
                # The origin echoes the client's masked frames as they are: raw bytes, then.
                reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
                writer.write(b"GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             b"Sec-WebSocket-Version: 13\r\n\r\n")
                head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
                self.assertTrue(head.startswith("http/1.1 101"), head)
                self.assertIn("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=", head)  # RFC 6455's example
                frame = ws_frame(b"through an extended CONNECT")
                writer.write(frame)
                self.assertEqual(await reader.readexactly(len(frame)), frame)
                writer.close()
            run(exchange())
            self.assertTrue([line for line in origin.lines() if re.fullmatch(r"tunnel \d+ websocket /chat", line)],
                            origin.lines())
        finally:
            proxy.stop()
            origin.stop()


class Shutdown(unittest.TestCase):
    def test_sigterm_gives_a_tunnel_shutdown_grace(self):
        directory = tempfile.mkdtemp(prefix="turnout-ws-term-")
        origin = ws_origin(directory)
        proxy = Proxy(directory, POLICY.format(port=origin.port, tag="t"), config="timeouts:\n  shutdown_grace: 2s\n")
        try:
            async def exchange():
                async with websockets.connect(f"ws://127.0.0.1:{proxy.port}/echo", ping_interval=None) as ws:
                    await ws.send("before")
                    self.assertEqual(await ws.recv(), "before")
                    proxy.process.send_signal(signal.SIGTERM)
                    started = time.time()
                    await asyncio.sleep(0.5)
                    await ws.send("during the grace")  # the tunnel still works
                    self.assertEqual(await ws.recv(), "during the grace")
                    with self.assertRaises(websockets.ConnectionClosed):
                        await asyncio.wait_for(ws.recv(), 10)
                    return time.time() - started
            closed_after = run(exchange())
            self.assertGreater(closed_after, 1.5)
            self.assertLess(closed_after, 5)
            self.assertEqual(proxy.process.wait(timeout=10), 0)
        finally:
            if proxy.process.poll() is None:
                proxy.process.kill()
            proxy.stderr.close()
            origin.stop()


class NoUpgradeAsked(unittest.TestCase):
    def test_a_101_to_a_plain_request_is_a_bad_response(self):
        directory = tempfile.mkdtemp(prefix="turnout-ws-101-")
        origin = RawOrigin(lambda request, n: (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                               b"Connection: upgrade\r\n\r\nnot HTTP", False))
        proxy = Proxy(directory, POLICY.format(port=origin.port, tag="x"))
        try:
            status, _, _ = curl(proxy.url("/plain"))
            self.assertEqual(status, 502)
            # An upgrade the server config does not list is not honoured: no Upgrade goes on,
            # and a 101 to it is as bad.
            status, _, _ = curl("-H", "Connection: upgrade", "-H", "Upgrade: foo", proxy.url("/foo"))
            self.assertEqual(status, 502)
            self.assertNotIn(b"\r\nupgrade:", origin.received[-1].lower())
        finally:
            proxy.stop()
            origin.stop()


if __name__ == "__main__":
    unittest.main()
