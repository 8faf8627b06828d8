#!/usr/bin/env python3
"""gRPC through turnout end to end (issue 20), with Debian's python3-grpcio on both sides
(tests/runtime/grpc_origin.py: generic handlers over raw bytes): unary, client, server and
bidirectional streaming calls over h2c (plain) and h2 (TLS both ways); trailing metadata
unchanged; a call's grpc-timeout bounds the exchange; the proxy's own answers (a policy's
denial, no route, a dead upstream, an upstream timeout) arrive as gRPC statuses; a call the
client cancels is cancelled at the origin; memory stays bounded under a fast origin.

Usage: grpc_test.py TURNOUT ROUTEC [unittest args]
"""
import base64
import os
import queue
import subprocess
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest

import grpc
import h2.config
import h2.connection
import h2.events

import harness
from harness import Certificates, Proxy

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))

POLICY = '''upstream echo {{ servers = ["127.0.0.1:{port}"] protocol = {protocol} read_timeout = 30s {tls} }}
upstream slow {{ servers = ["127.0.0.1:{port}"] protocol = {protocol} read_timeout = 500ms {tls} }}
upstream dead {{ servers = ["127.0.0.1:{dead}"] protocol = {protocol} {tls} }}
on request {{
    if grpc.method == "Denied" {{ respond 403 "not for you\\n" }}
    if grpc.service == "test.Dead" {{ route dead }}
    if grpc.service == "test.Echo" and req.header["x-timeout"] == "short" {{ route slow }}
    if grpc.service == "test.Echo" {{ route echo }}
    respond 404 "no such service"
}}
'''


def ident(data):
    return data


def grpc_origin(directory, tls=None):
    return harness.ScriptOrigin(directory, "grpc_origin.py", *(["--tls", *tls] if tls else []))


class Calls:
    """The tests of both setups: a client channel to turnout, which calls the origin."""

    def call(self, method, request, **kwargs):
        return self.channel.unary_unary("/test.Echo/" + method, ident, ident).with_call(request, timeout=20, **kwargs)

    def test_unary_with_trailing_metadata(self):
        response, call = self.call("Unary", b"hello")
        self.assertEqual(response, b"echo:hello")
        trailers = dict(call.trailing_metadata())
        self.assertEqual(trailers.get("x-trailer"), "t1")
        self.assertEqual(trailers.get("x-blob-bin"), bytes(range(10)))
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_server_streaming_10000_messages(self):
        stream = self.channel.unary_stream("/test.Echo/Server", ident, ident)
        messages = list(stream(b"10000", timeout=60))
        self.assertEqual(len(messages), 10000)
        self.assertEqual(messages[0], b"m0")
        self.assertEqual(messages[-1], b"m9999")

    def test_client_streaming(self):
        upload = self.channel.stream_unary("/test.Echo/Client", ident, ident)
        self.assertEqual(upload(iter([b"x" * 1000] * 1000), timeout=60), b"1000000")

    def test_bidirectional_streaming_in_turns(self):
        """Each message waits for the answer to the one before: the request body and the
        response run side by side (full duplex), or this never ends."""
        bidi = self.channel.stream_stream("/test.Echo/Bidi", ident, ident)
        outgoing = queue.Queue()

        def requests():
            while (message := outgoing.get()) is not None:
                yield message

        outgoing.put(b"0")
        answers = []
        for answer in bidi(requests(), timeout=30):
            answers.append(answer)
            outgoing.put(str(len(answers)).encode() if len(answers) < 200 else None)
        self.assertEqual(answers, [str(i).encode() for i in range(200)])

    def test_statuses_from_the_origin_pass_unchanged(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.call("Fail", b"9 precondition: not yet")
        self.assertEqual((caught.exception.code(), caught.exception.details()),
                         (grpc.StatusCode.FAILED_PRECONDITION, "precondition: not yet"))

    def test_proxy_answers_are_grpc_statuses(self):
        cases = [("/test.Echo/Denied", {}, grpc.StatusCode.PERMISSION_DENIED, "not for you"),
                 ("/other.Service/Call", {}, grpc.StatusCode.UNIMPLEMENTED, "no such service"),
                 ("/test.Dead/Call", {}, grpc.StatusCode.UNAVAILABLE, "bad gateway"),
                 ("/test.Echo/Slow", {"metadata": (("x-timeout", "short"),)}, grpc.StatusCode.DEADLINE_EXCEEDED,
                  "gateway timeout")]
        for path, kwargs, code, details in cases:
            with self.subTest(path):
                request = b"3000" if path.endswith("Slow") else b""
                with self.assertRaises(grpc.RpcError) as caught:
                    self.channel.unary_unary(path, ident, ident)(request, timeout=20, **kwargs)
                self.assertEqual((caught.exception.code(), caught.exception.details()), (code, details))
        # The access log says what the client saw: a 200 carrying the status.
        deadline, log = time.time() + 5, ""
        while "/test.Dead/Call" not in log and time.time() < deadline:
            time.sleep(0.1)
            with open(self.proxy.access_log) as f:
                log = f.read()
        self.assertRegex(log, r'"POST /test\.Echo/Denied HTTP/2" 200 0 .* grpc-status=7\n')
        self.assertRegex(log, r'"POST /other\.Service/Call HTTP/2" 200 0 .* grpc-status=12\n')
        self.assertRegex(log, r'"POST /test\.Dead/Call HTTP/2" 200 0 .* grpc-status=14\n')

    def test_a_cancelled_call_is_cancelled_at_the_origin(self):
        def seen(line):
            return self.origin.lines().count(line)

        def wait_for(line, count):
            deadline = time.time() + 10
            while seen(line) < count and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(seen(line), count, line)

        started, cancelled = seen("started Slow"), seen("cancelled Slow")
        future = self.channel.unary_unary("/test.Echo/Slow", ident, ident).future(b"10000", timeout=30)
        wait_for("started Slow", started + 1)
        future.cancel()
        wait_for("cancelled Slow", cancelled + 1)


class H2c(Calls, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-grpc-")
        cls.origin = grpc_origin(cls.dir)
        cls.proxy = Proxy(cls.dir, POLICY.format(port=cls.origin.port, dead=harness.free_port(), protocol="h2c",
                                                 tls=""))
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.proxy.port}")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.proxy.stop()
        cls.origin.stop()

    def raw_call(self, fields, payload):
        """A call from a raw python3-h2 client, which keeps no deadline of its own and sends
        what it is told: the response's head and trailers, as one dict."""
        sock = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=10)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
        conn.initiate_connection()
        pseudo = [field for field in fields if field[0].startswith(":")]
        regular = [field for field in fields if not field[0].startswith(":")]
        conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", "grpc.test"), *pseudo,
                              ("content-type", "application/grpc"), ("te", "trailers"), *regular])
        conn.send_data(1, b"\0" + struct.pack(">I", len(payload)) + payload, end_stream=True)
        sock.sendall(conn.data_to_send())
        headers, ended = {}, False
        while not ended:
            data = sock.recv(65536)
            self.assertTrue(data, "the proxy closed the connection")
            for event in conn.receive_data(data):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers.update(dict(event.headers))
                ended = ended or isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset))
            sock.sendall(conn.data_to_send())
        sock.close()
        return headers

    def test_grpc_timeout_bounds_the_exchange(self):
        """A call whose grpc-timeout passes at the proxy ends DEADLINE_EXCEEDED from the proxy."""
        started = time.time()
        headers = self.raw_call([(":path", "/test.Echo/Slow"), ("grpc-timeout", "300m")], b"5000")
        self.assertEqual((headers.get(":status"), headers.get("grpc-status")), ("200", "4"))
        self.assertLess(time.time() - started, 3)

    def test_a_request_the_proxy_refuses_is_answered_in_grpc(self):
        headers = self.raw_call([(":path", "/test.Echo/Unary"), ("host", "other.test")], b"x")
        self.assertEqual((headers.get(":status"), headers.get("grpc-status"), headers.get("grpc-message")),
                         ("200", "2", ":authority and Host disagree"))

    def test_memory_stays_bounded_under_a_fast_origin(self):
        """200 MB streamed by an origin faster than the client reads: the proxy holds a window's
        worth per side, not the stream."""
        stream = self.channel.unary_stream("/test.Echo/Server", ident, ident)
        base = harness.rss_kb(self.proxy.process.pid)
        total = 0
        for i, message in enumerate(stream(b"2000 100000", timeout=120)):
            total += len(message)
            if i % 100 == 0:
                time.sleep(0.05)
        grown = harness.rss_kb(self.proxy.process.pid) - base
        print(f"\n200 MB server stream read slowly: RSS grew by {grown} KiB", file=sys.stderr)
        self.assertEqual(total, 2000 * 100000)
        self.assertLess(grown, 32 * 1024)


class GrpcWeb(unittest.TestCase):
    """gRPC-Web from curl over HTTP/1.1 and HTTP/2, binary and -text, translated to gRPC for
    an h2c origin and back: the frames checked byte for byte."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-grpc-web-")
        cls.origin = grpc_origin(cls.dir)
        cls.proxy = Proxy(cls.dir, POLICY.format(port=cls.origin.port, dead=harness.free_port(), protocol="h2c",
                                                 tls=""))

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.origin.stop()

    @staticmethod
    def message(payload):
        return b"\0" + struct.pack(">I", len(payload)) + payload

    def call(self, client, path, payload, text):
        body = self.message(payload)
        kind = "application/grpc-web-text" if text else "application/grpc-web+proto"
        result = subprocess.run(["curl", "-s", "-D", "-", *client, "-H", f"content-type: {kind}", "-H", "x-grpc-web: 1",
                                 "--data-binary", "@-", self.proxy.url(path)],
                                input=base64.b64encode(body) if text else body, capture_output=True, timeout=30)
        head, _, body = result.stdout.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        headers = {name.lower(): value for name, value in headers.items()}
        return headers, base64.b64decode(body) if text else body

    def frames(self, body):
        """(messages, trailer lines) of a gRPC-Web body, checking its framing."""
        messages, trailers = [], None
        while body:
            flag, length = body[0], struct.unpack(">I", body[1:5])[0]
            self.assertGreaterEqual(len(body), 5 + length)
            payload, body = body[5:5 + length], body[5 + length:]
            if flag == 0x80:
                self.assertEqual(body, b"", "the trailers' frame is the last")
                trailers = payload.decode().split("\r\n")
                self.assertEqual(trailers.pop(), "")
            else:
                self.assertEqual(flag, 0)
                messages.append(payload)
        return messages, trailers

    def test_unary_and_server_streaming_binary_and_text_over_http1_and_http2(self):
        for client in (["--http1.1"], ["--http2-prior-knowledge"]):
            for text in (False, True):
                with self.subTest(client=client, text=text):
                    headers, body = self.call(client, "/test.Echo/Unary", b"hello", text)
                    self.assertEqual(headers["content-type"],
                                     "application/grpc-web-text+proto" if text else "application/grpc-web+proto")
                    self.assertTrue(body.startswith(self.message(b"echo:hello")), body)
                    messages, trailers = self.frames(body)
                    self.assertEqual(messages, [b"echo:hello"])
                    self.assertIn("grpc-status:0", trailers)
                    self.assertIn("x-trailer:t1", trailers)
                    headers, body = self.call(client, "/test.Echo/Server", b"300 1000", text)
                    messages, trailers = self.frames(body)
                    self.assertEqual(messages, [b"m%d" % i + b"." * (1000 - len(b"m%d" % i)) for i in range(300)])
                    self.assertIn("grpc-status:0", trailers)

    def test_the_proxys_own_answer_is_a_trailers_only_response(self):
        headers, body = self.call(["--http1.1"], "/test.Echo/Denied", b"", False)
        self.assertEqual((headers.get("grpc-status"), headers.get("grpc-message"), body), ("7", "not for you", b""))
        self.assertEqual(headers["content-type"], "application/grpc-web+proto")
        # The origin's own trailers-only answer stays one: its status in the head.
        headers, body = self.call(["--http1.1"], "/test.Echo/Fail", b"5 not here", True)
        self.assertEqual((headers.get("grpc-status"), headers.get("grpc-message"), body), ("5", "not here", b""))
        self.assertEqual(headers["content-type"], "application/grpc-web-text+proto")


class H2(Calls, unittest.TestCase):
    """TLS both ways: the client's ALPN h2 to turnout, turnout's to a TLS origin."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-grpcs-")
        certs = Certificates(cls.dir)
        origin_cert, origin_key = certs.leaf("origin", ["origin.test"])
        proxy_cert, proxy_key = certs.leaf("proxy", ["grpc.test"])
        cls.origin = grpc_origin(cls.dir, tls=(origin_cert, origin_key))
        tls = f'tls = true sni = "origin.test" ca = "{certs.ca}"'
        cls.proxy = Proxy(cls.dir, POLICY.format(port=cls.origin.port, dead=harness.free_port(), protocol="h2",
                                                 tls=tls),
                          extra=["--listen-tls", f"127.0.0.1:{harness.free_port()}", "--cert", proxy_cert,
                                 "--key", proxy_key])
        cls.tls_port = int(cls.proxy_tls_port(cls.proxy))
        with open(certs.ca, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        cls.channel = grpc.secure_channel(f"127.0.0.1:{cls.tls_port}", credentials,
                                          options=(("grpc.ssl_target_name_override", "grpc.test"),))

    @staticmethod
    def proxy_tls_port(proxy):
        # The TLS listener's port, from the command line turnout was started with.
        args = proxy.process.args
        port = args[args.index("--listen-tls") + 1].rsplit(":", 1)[1]
        harness.wait_for_port(int(port), proxy.process)
        return port

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.proxy.stop()
        cls.origin.stop()


if __name__ == "__main__":
    unittest.main()
