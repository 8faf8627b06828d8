#!/usr/bin/env python3
"""TLS termination end to end (issue 18): certificates chosen by SNI (exact names,
wildcards, no SNI, an RSA and an ECDSA certificate for the same names), protocols, ALPN,
resumption, plain HTTP and garbage on a TLS port, the handshake timeout, the YAML form of
a TLS listener, bad certificate files refused at start and on reload, and certificates
reloaded on SIGHUP. Certificates are made here with `openssl`; clients are curl and
`openssl s_client`, on loopback.

Usage: tls_test.py TURNOUT ROUTEC [unittest args]
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import Certificates, curl, openssl

if len(sys.argv) > 2:
    harness.TURNOUT = os.path.abspath(sys.argv.pop(1))
    harness.ROUTEC = os.path.abspath(sys.argv.pop(1))

POLICY = '''on request {
    if req.path == "/client" and tls.client.verified {
        respond 200 "verified|" + tls.client.subject + "|" + tls.client.issuer + "|" + tls.client.fingerprint
    }
    if req.path == "/client" { respond 200 "unverified|" + tls.client.subject }
    if req.path == "/tls" {
        respond 200 tls.version + "|" + tls.cipher + "|" + tls.sni + "|" + tls.alpn
    }
    if req.path == "/resumed" and tls.resumed { respond 200 "resumed" }
    respond 200 req.scheme + " " + req.host
}
'''


def s_client(port, *args, data=b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
    """openssl s_client against 127.0.0.1:port; returns its stdout and stderr as text."""
    result = openssl("s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof", *args, input=data)
    return result.stdout.decode("latin-1") + result.stderr.decode("latin-1")


def served_subject(port, *args):
    output = s_client(port, *args)
    for line in output.splitlines():
        if line.startswith("subject="):
            return line.split("CN = ")[-1].split("CN=")[-1].strip()
    return None


class TlsListener(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="turnout-tls-")
        cls.certs = Certificates(cls.dir)
        cls.default = cls.certs.leaf("default", ["default.test"])
        cls.a = cls.certs.leaf("a", ["a.example.test"])
        cls.wild = cls.certs.leaf("wild", ["*.wild.example.test"], kind="ec")
        cls.b_rsa = cls.certs.leaf("b-rsa", ["b.example.test"])
        cls.b_ec = cls.certs.leaf("b-ec", ["b.example.test"], kind="ec")
        cls.policy = os.path.join(cls.dir, "policy.route")
        with open(cls.policy, "w") as f:
            f.write(POLICY)
        cls.port, cls.plain = harness.free_port(), harness.free_port()
        pairs = []
        for cert, key in (cls.default, cls.a, cls.wild, cls.b_rsa, cls.b_ec):
            pairs += ["--cert", cert, "--key", key]
        cls.stderr = open(os.path.join(cls.dir, "turnout.stderr"), "w")
        cls.proxy = harness.start([harness.TURNOUT, "run", cls.policy, "--listen", f"127.0.0.1:{cls.plain}",
                                   "--listen-tls", f"127.0.0.1:{cls.port}", *pairs, "--threads", "2"],
                                  stderr=cls.stderr)
        harness.wait_for_port(cls.port, cls.proxy)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.send_signal(signal.SIGTERM)
        code = cls.proxy.wait(timeout=10)
        cls.stderr.close()
        assert code == 0, open(cls.stderr.name).read()[-3000:]

    def https(self, name, path="/", *extra):
        return curl("--cacert", self.certs.ca, "--resolve", f"{name}:{self.port}:127.0.0.1",
                    f"https://{name}:{self.port}{path}", *extra)

    def test_each_name_gets_its_certificate_and_the_request_is_https(self):
        status, _, body = self.https("a.example.test")
        self.assertEqual((status, body), (200, b"https a.example.test"))
        status, _, body = self.https("x.wild.example.test")
        self.assertEqual((status, body), (200, b"https x.wild.example.test"))
        status, _, body = self.https("default.test")
        self.assertEqual((status, body), (200, b"https default.test"))
        # The plain listener beside it is still plain.
        status, _, body = curl(f"http://127.0.0.1:{self.plain}/", "-H", "Host: p.test")
        self.assertEqual((status, body), (200, b"http p.test"))

    def test_the_policy_reads_what_the_handshake_settled(self):
        status, _, body = self.https("a.example.test", "/tls", "--tlsv1.3")
        version, cipher, sni, alpn = body.decode().split("|")
        self.assertEqual((status, version, sni, alpn), (200, "TLSv1.3", "a.example.test", "h2"))
        self.assertTrue(cipher.startswith("TLS_"), cipher)
        status, _, body = self.https("a.example.test", "/tls", "--tlsv1.2", "--tls-max", "1.2", "--http1.1")
        self.assertTrue(body.startswith(b"TLSv1.2|ECDHE-"), body)
        # Without TLS every tls.* variable is empty.
        status, _, body = curl(f"http://127.0.0.1:{self.plain}/tls")
        self.assertEqual(body, b"|||")
        status, _, body = curl(f"http://127.0.0.1:{self.plain}/client")
        self.assertEqual(body, b"unverified|")

    def test_unknown_names_no_sni_and_deeper_names_get_the_default(self):
        self.assertEqual(served_subject(self.port, "-servername", "nobody.test"), "default.test")
        self.assertEqual(served_subject(self.port, "-noservername"), "default.test")
        # A wildcard covers one label only (RFC 6125).
        self.assertEqual(served_subject(self.port, "-servername", "a.b.wild.example.test"), "default.test")
        self.assertEqual(served_subject(self.port, "-servername", "A.EXAMPLE.TEST"), "a.example.test")

    def test_an_rsa_and_an_ecdsa_certificate_for_one_name_are_both_served(self):
        ecdsa = s_client(self.port, "-servername", "b.example.test", "-tls1_2",
                         "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
        rsa = s_client(self.port, "-servername", "b.example.test", "-tls1_2",
                       "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
        self.assertIn("Server public key is 256 bit", ecdsa)
        self.assertIn("Server public key is 2048 bit", rsa)

    def test_tls_1_2_and_1_3_are_served_and_older_ones_refused(self):
        self.assertIn("Protocol  : TLSv1.3", s_client(self.port, "-tls1_3"))
        self.assertIn("Protocol  : TLSv1.2", s_client(self.port, "-tls1_2"))
        old = s_client(self.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertIn("alert protocol version", old)
        self.assertIn("Cipher is (NONE)", old)
        self.assertNotIn("HTTP/1.1 200", old)

    def test_alpn_prefers_h2_then_http_1_1(self):
        self.assertIn("ALPN protocol: h2", s_client(self.port, "-alpn", "http/1.1,h2"))
        self.assertIn("ALPN protocol: http/1.1", s_client(self.port, "-alpn", "http/1.1"))
        self.assertIn("No ALPN negotiated", s_client(self.port, "-alpn", "spdy/3"))

    def test_sessions_are_resumed_with_tickets_across_workers(self):
        for version in ("-tls1_2", "-tls1_3"):
            session = os.path.join(self.dir, f"session{version}")
            request = b"GET /resumed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            first = s_client(self.port, version, "-sess_out", session, data=request)
            self.assertIn("HTTP/1.1 200", first)
            self.assertNotIn("resumed", first.split("HTTP/1.1 200")[1])
            for _ in range(4):  # two workers: some resumptions land on the other one
                again = s_client(self.port, version, "-sess_in", session, data=request)
                self.assertIn("Reused", again, version)
                self.assertIn("HTTP/1.1 200", again)
                self.assertIn("\r\n\r\nresumed", again)  # tls.resumed

    def test_plain_http_on_the_tls_port_gets_400_and_garbage_a_close(self):
        answer = harness.raw(self.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:200])
        self.assertIn(b"plain HTTP request sent to an HTTPS port", answer)
        try:  # closed, with a reset since its bytes were not read: nothing comes back
            self.assertEqual(harness.raw(self.port, b"\x00\x01\x02garbage" * 10), b"")
        except ConnectionResetError:
            pass
        with open(self.stderr.name) as f:
            self.assertIn("not a TLS handshake on a TLS listener", f.read())
        self.assertEqual(self.https("a.example.test")[0], 200)  # still serving


class Handshakes(unittest.TestCase):
    """The YAML form of a TLS listener, its handshake timeout, and what a certificate
    file that cannot be used does at start and on reload."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="turnout-tls-")
        self.certs = Certificates(self.dir)
        self.policy = os.path.join(self.dir, "policy.route")
        with open(self.policy, "w") as f:
            f.write(POLICY)

    def config(self, port, cert, key, extra="", tls_extra="", ocsp=None, more=()):
        """A config with a TLS listener on `port`: `cert` and `key` (with the OCSP response
        `ocsp`), then the (cert, key) pairs of `more`."""
        path = os.path.join(self.dir, f"turnout-{port}.yaml")
        entries = f"        - {{cert: {cert}, key: {key}{f', ocsp: {ocsp}' if ocsp else ''}}}\n"
        entries += "".join(f"        - {{cert: {c}, key: {k}}}\n" for c, k in more)
        with open(path, "w") as f:
            f.write(f"listen:\n  - address: '127.0.0.1:{port}'\n    tls:\n"
                    f"      certificates:\n{entries}"
                    f"      handshake_timeout: 1s\n{tls_extra}"
                    f"threads: 1\npolicy: {self.policy}\n{extra}")
        return path

    def start(self, config):
        stderr = open(os.path.join(self.dir, "turnout.stderr"), "a")
        return harness.start([harness.TURNOUT, "--config", config], stderr=stderr), stderr

    def test_client_certificates_required_optional_and_from_another_ca(self):
        cert, key = self.certs.leaf("site", ["site.test"])
        client = self.certs.leaf("client", ["client.test"])
        strangers = Certificates(tempfile.mkdtemp(prefix="turnout-tls-other-"))
        stranger = strangers.leaf("stranger", ["client.test"])
        for mode, without, with_stranger in (("require", 0, 0), ("optional", 200, 0)):
            port = harness.free_port()
            proxy, stderr = self.start(self.config(
                port, cert, key, tls_extra=f"      client_ca: {self.certs.ca}\n      client_auth: {mode}\n"))
            try:
                harness.wait_for_port(port, proxy)

                def get(*identity):
                    return curl("--cacert", self.certs.ca, "--resolve", f"site.test:{port}:127.0.0.1",
                                *identity, f"https://site.test:{port}/")[0]
                self.assertEqual(get("--cert", client[0], "--key", client[1]), 200, mode)
                body = curl("--cacert", self.certs.ca, "--resolve", f"site.test:{port}:127.0.0.1",
                            "--cert", client[0], "--key", client[1], f"https://site.test:{port}/client")[2]
                verified, subject, issuer, fingerprint = body.decode().split("|")
                self.assertEqual((verified, subject, issuer), ("verified", "CN=client.test", "CN=turnout test CA"))
                expected = openssl("x509", "-in", client[0], "-noout", "-fingerprint", "-sha256").stdout.decode()
                self.assertEqual(fingerprint, expected.split("=")[1].strip().replace(":", "").lower())
                self.assertEqual(get(), without, mode)
                self.assertEqual(get("--cert", stranger[0], "--key", stranger[1]), with_stranger, mode)
            finally:
                proxy.send_signal(signal.SIGTERM)
                self.assertEqual(proxy.wait(timeout=10), 0)
                stderr.close()

    def test_tickets_resume_across_a_fleet_sharing_a_key_file_and_across_reloads(self):
        cert, key = self.certs.leaf("site", ["site.test"])
        keys = os.path.join(self.dir, "tickets.key")
        with open(keys, "wb") as f:
            f.write(os.urandom(80))
        ports, proxies = [], []
        for shared in (True, True, False):
            port = harness.free_port()
            extra = f"      ticket_key_file: {keys}\n" if shared else ""
            proxy, stderr = self.start(self.config(port, cert, key, tls_extra=extra))
            harness.wait_for_port(port, proxy)
            ports.append(port)
            proxies.append((proxy, stderr))
        try:
            for version in ("-tls1_2", "-tls1_3"):
                session = os.path.join(self.dir, f"fleet{version}")
                self.assertIn("HTTP/1.1 200", s_client(ports[0], version, "-sess_out", session))
                # Another process with the same keys resumes it; one with its own does not.
                self.assertIn("Reused", s_client(ports[1], version, "-sess_in", session), version)
                self.assertNotIn("Reused", s_client(ports[2], version, "-sess_in", session), version)
            # A certificate reload keeps the keys, and with them the sessions.
            session = os.path.join(self.dir, "reload-session")
            self.assertIn("HTTP/1.1 200", s_client(ports[2], "-tls1_3", "-sess_out", session))
            proxies[2][0].send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertIn("Reused", s_client(ports[2], "-tls1_3", "-sess_in", session))
        finally:
            for proxy, stderr in proxies:
                proxy.send_signal(signal.SIGTERM)
                self.assertEqual(proxy.wait(timeout=10), 0)
                stderr.close()

    def ocsp_response(self, cert):
        """A fresh "good" OCSP response for `cert`, signed by the CA (openssl ocsp)."""
        serial = openssl("x509", "-in", cert, "-noout", "-serial").stdout.decode().strip().split("=")[1]
        index = self.certs.path("index.txt")
        with open(index, "w") as f:
            f.write(f"V\t301231235959Z\t\t{serial}\tunknown\t/CN=site.test\n")
        request, response = self.certs.path("ocsp.req"), self.certs.path("ocsp.der")
        made = openssl("ocsp", "-issuer", self.certs.ca, "-cert", cert, "-reqout", request, "-no_nonce")
        self.assertEqual(made.returncode, 0, made.stderr)
        made = openssl("ocsp", "-index", index, "-rsigner", self.certs.ca, "-rkey", self.certs.ca_key,
                       "-CA", self.certs.ca, "-reqin", request, "-respout", response, "-ndays", "1")
        self.assertEqual(made.returncode, 0, made.stderr)
        return response

    def test_an_ocsp_response_is_stapled_for_its_certificate_only(self):
        cert, key = self.certs.leaf("site", ["site.test"])
        other_cert, other_key = self.certs.leaf("other", ["other.test"])
        response = self.ocsp_response(cert)
        port = harness.free_port()
        proxy, stderr = self.start(self.config(port, cert, key, ocsp=response, more=[(other_cert, other_key)]))
        try:
            harness.wait_for_port(port, proxy)
            stapled = s_client(port, "-servername", "site.test", "-status")
            self.assertIn("OCSP Response Status: successful", stapled)
            self.assertIn("Cert Status: good", stapled)
            self.assertIn("no response sent", s_client(port, "-servername", "other.test", "-status"))
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()
        # A response for another certificate, or not a response at all, is refused.
        for ocsp, why in ((response, "for another certificate"), (key, "not a successful OCSP response")):
            config = self.config(harness.free_port(), other_cert, other_key, ocsp=ocsp)
            result = subprocess.run([harness.TURNOUT, "--config", config], capture_output=True, text=True,
                                    timeout=30)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn(why, result.stderr)

    def test_a_stalled_handshake_is_closed_at_the_timeout(self):
        port = harness.free_port()
        cert, key = self.certs.leaf("site", ["site.test"])
        proxy, stderr = self.start(self.config(port, cert, key))
        try:
            harness.wait_for_port(port, proxy)
            for opening in (b"", b"\x16\x03\x01"):  # nothing, then a ClientHello cut short
                started = time.time()
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.sendall(opening)
                    s.settimeout(8)
                    self.assertEqual(s.recv(100), b"")
                self.assertLess(time.time() - started, 4)
            status, _, body = curl("--cacert", self.certs.ca, "--resolve", f"site.test:{port}:127.0.0.1",
                                   f"https://site.test:{port}/")
            self.assertEqual((status, body), (200, b"https site.test"))
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()

    def test_unusable_certificate_files_are_refused_at_start_with_the_reason(self):
        cert, key = self.certs.leaf("site", ["site.test"])
        other_cert, other_key = self.certs.leaf("other", ["other.test"])
        garbage = os.path.join(self.dir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        for cert_file, key_file, why in ((os.path.join(self.dir, "missing.pem"), key, "No such file"),
                                         (cert, other_key, "not the key of the certificate"),
                                         (garbage, key, "no certificate in it")):
            port = harness.free_port()
            result = subprocess.run([harness.TURNOUT, "--config", self.config(port, cert_file, key_file)],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn(why, result.stderr)
            self.assertIn(os.path.basename(cert_file if why != "not the key of the certificate" else key_file),
                          result.stderr)

    def test_routec_reload_tls_swaps_certificates_and_reports_a_broken_file(self):
        port = harness.free_port()
        cert, key = self.certs.leaf("site", ["site.test"], common="first")
        admin = os.path.join(self.dir, "admin.sock")
        proxy, stderr = self.start(self.config(port, cert, key, f"admin:\n  socket: {admin}\n"))
        try:
            harness.wait_for_port(port, proxy)
            new_cert, new_key = self.certs.leaf("site2", ["site.test"], common="second")
            os.replace(new_cert, cert)
            os.replace(new_key, key)
            result = subprocess.run([harness.ROUTEC, "reload-tls", "--admin", admin],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"127.0.0.1:{port}: certificates reloaded", result.stdout)
            self.assertEqual(served_subject(port, "-servername", "site.test"), "second")
            with open(key, "w") as f:
                f.write("not a key\n")
            result = subprocess.run([harness.ROUTEC, "reload-tls", "--admin", admin],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 1)
            self.assertIn("kept its certificates", result.stderr)
            self.assertIn("no private key in it", result.stderr)
            self.assertEqual(served_subject(port, "-servername", "site.test"), "second")
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()

    def test_twenty_reloads_under_https_load_fail_no_handshake_and_no_request(self):
        port = harness.free_port()
        cert, key = self.certs.leaf("site", ["site.test"], common="first")
        spare = self.certs.leaf("spare", ["site.test"], common="second")
        proxy, stderr = self.start(self.config(port, cert, key))
        try:
            harness.wait_for_port(port, proxy)
            # New connections all along (-H Connection: close): every request a handshake.
            load = subprocess.Popen(["wrk", "-t1", "-c8", "-d8s", "-H", "Connection: close",
                                     f"https://127.0.0.1:{port}/"], stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
            contents = []
            for pair in ((cert, key), spare):
                with open(pair[0]) as c, open(pair[1]) as k:
                    contents.append((c.read(), k.read()))
            for i in range(20):
                pem, private = contents[(i + 1) % 2]
                with open(cert + ".new", "w") as f:
                    f.write(pem)
                with open(key + ".new", "w") as f:
                    f.write(private)
                os.replace(key + ".new", key)
                os.replace(cert + ".new", cert)
                proxy.send_signal(signal.SIGHUP)
                # Signals of a kind do not queue: the next one waits for this reload.
                deadline = time.time() + 10
                while time.time() < deadline:
                    with open(stderr.name) as f:
                        if f.read().count("certificates reloaded") > i:
                            break
                    time.sleep(0.05)
            out, _ = load.communicate(timeout=30)
            requests = int(out.split(" requests in ")[0].split()[-1])
            self.assertGreater(requests, 100, out)
            self.assertNotIn("Socket errors", out)
            self.assertNotIn("Non-2xx", out)
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()
        with open(stderr.name) as f:
            self.assertGreaterEqual(f.read().count("certificates reloaded"), 20)

    def test_sighup_reloads_certificates_and_keeps_them_when_the_new_ones_are_broken(self):
        port = harness.free_port()
        cert, key = self.certs.leaf("site", ["site.test"], common="first")
        proxy, stderr = self.start(self.config(port, cert, key))
        try:
            harness.wait_for_port(port, proxy)
            self.assertEqual(served_subject(port, "-servername", "site.test"), "first")
            # New certificate files in place, then SIGHUP: new handshakes get them.
            new_cert, new_key = self.certs.leaf("site2", ["site.test"], common="second")
            os.replace(new_cert, cert)
            os.replace(new_key, key)
            proxy.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while served_subject(port, "-servername", "site.test") != "second" and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(served_subject(port, "-servername", "site.test"), "second")
            # A broken file is refused on reload; the certificate in use stays.
            with open(cert, "w") as f:
                f.write("broken\n")
            proxy.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertEqual(served_subject(port, "-servername", "site.test"), "second")
            self.assertEqual(proxy.poll(), None)
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()
        with open(stderr.name) as f:
            log = f.read()
        self.assertIn("no certificate in it", log)


class UpstreamTls(unittest.TestCase):
    """TLS to the peers: a CA file instead of the system's store, a client certificate
    (mTLS), sessions resumed on new connections, and files that cannot be used refused
    when the policy loads."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="turnout-tls-up-")
        self.certs = Certificates(self.dir)
        self.server = self.certs.leaf("origin", ["origin.test"])
        self.client = self.certs.leaf("proxy", ["proxy.test"])

    def serve(self, upstream):
        policy = os.path.join(self.dir, f"policy-{harness.free_port()}.route")
        with open(policy, "w") as f:
            f.write(f"upstream up {{\n{upstream}\n}}\non request {{ route up }}\n")
        port = harness.free_port()
        stderr = open(os.path.join(self.dir, f"turnout-{port}.stderr"), "w")
        proxy = harness.start([harness.TURNOUT, "run", policy, "--listen", f"127.0.0.1:{port}", "--threads", "1"],
                              stderr=stderr)
        harness.wait_for_port(port, proxy)
        return proxy, port, stderr

    def stop(self, proxy, stderr):
        proxy.send_signal(signal.SIGTERM)
        self.assertEqual(proxy.wait(timeout=10), 0)
        stderr.close()

    def answer(self, upstream):
        """The status a request gets through a proxy whose upstream block holds `upstream`,
        and the proxy's log."""
        proxy, port, stderr = self.serve(upstream)
        try:
            status = curl(f"http://127.0.0.1:{port}/")[0]
        finally:
            self.stop(proxy, stderr)
        with open(stderr.name) as f:
            return status, f.read()

    def test_a_ca_file_verifies_the_peer_the_system_store_does_not(self):
        origin = harness.Origin(self.dir, tls=list(self.server))
        try:
            peer = f'    servers = ["127.0.0.1:{origin.port}"]\n    tls = true\n    sni = "origin.test"\n'
            self.assertEqual(self.answer(peer + f'    ca = "{self.certs.ca}"')[0], 200)
            self.assertEqual(self.answer(peer)[0], 502)
        finally:
            origin.stop()

    def test_a_certificate_for_another_name_is_refused_unless_verify_is_off(self):
        origin = harness.Origin(self.dir, tls=list(self.server))
        try:
            peer = (f'    servers = ["127.0.0.1:{origin.port}"]\n    tls = true\n    sni = "other.test"\n'
                    f'    ca = "{self.certs.ca}"\n')
            status, log = self.answer(peer)
            self.assertEqual(status, 502)
            self.assertIn("certificate verify failed: hostname mismatch", log)
            self.assertEqual(self.answer(peer + "    verify = false")[0], 200)
        finally:
            origin.stop()

    def test_a_client_certificate_and_sessions_resumed_on_new_connections(self):
        port = harness.free_port()
        server = harness.start(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", self.server[0],
                                "-key", self.server[1], "-CAfile", self.certs.ca, "-Verify", "1", "-www",
                                "-quiet"], stderr=subprocess.DEVNULL)
        harness.wait_for_port(port, server)
        proxy, listen, stderr = self.serve(
            f'    servers = ["127.0.0.1:{port}"]\n    tls = true\n    sni = "origin.test"\n'
            f'    ca = "{self.certs.ca}"\n    client_cert = "{self.client[0]}"\n'
            f'    client_key = "{self.client[1]}"')
        try:
            status, _, first = curl(f"http://127.0.0.1:{listen}/")
            self.assertEqual(status, 200, first[:300])
            self.assertIn(b"New, TLSv1.3", first)
            self.assertIn(b"CN=proxy.test", first)  # s_server shows the client's certificate
            time.sleep(0.2)  # the session ticket comes after the first response
            status, _, second = curl(f"http://127.0.0.1:{listen}/")
            self.assertEqual(status, 200)
            self.assertIn(b"Reused, TLSv1.3", second)
        finally:
            self.stop(proxy, stderr)
            server.kill()
            server.wait()

    def test_upstream_tls_files_that_cannot_be_used_keep_the_policy_out(self):
        policy = os.path.join(self.dir, "bad.route")
        with open(policy, "w") as f:
            f.write('upstream up {\n    servers = ["127.0.0.1:9"]\n    tls = true\n'
                    f'    client_cert = "{self.client[0]}"\n    client_key = "{self.server[1]}"\n}}\n'
                    'on request { route up }\n')
        result = subprocess.run([harness.TURNOUT, "run", policy], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("upstream 'up': client_key", result.stderr)
        self.assertIn("mismatch", result.stderr)
        self.assertIn("proxy.pem", result.stderr)  # the key is not that certificate's
        checked = subprocess.run([harness.ROUTEC, "check", policy], capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stderr)  # files are the proxy's to read
        with open(policy, "w") as f:
            f.write('upstream up {\n    servers = ["127.0.0.1:9"]\n    tls = true\n'
                    f'    client_cert = "{self.client[0]}"\n}}\non request {{ route up }}\n')
        checked = subprocess.run([harness.ROUTEC, "check", policy], capture_output=True, text=True)
        self.assertEqual(checked.returncode, 1)
        self.assertIn("'client_cert' and 'client_key' go together", checked.stdout + checked.stderr)


class UpgradeKeepsSessions(unittest.TestCase):
    def test_sessions_of_the_old_process_resume_on_the_new_one(self):
        """A binary upgrade hands the TLS listeners' random ticket keys over with the
        listening sockets: a session the old process gave out resumes on the new one."""
        directory = tempfile.mkdtemp(prefix="turnout-tls-")
        certs = Certificates(directory)
        cert, key = certs.leaf("site", ["upgrade.test"], kind="ec")
        port = harness.free_port()
        upgrade = os.path.join(directory, "upgrade.sock")
        policy = os.path.join(directory, "upgrade.route")
        with open(policy, "w") as f:
            f.write('on request { if tls.resumed { respond 200 "resumed" }\n respond 200 "full" }\n')
        command = [harness.TURNOUT, "run", policy, "--listen-tls", f"127.0.0.1:{port}", "--cert", cert,
                   "--key", key, "--threads", "1", "--upgrade-socket", upgrade]
        old_log = open(os.path.join(directory, "old.stderr"), "w")
        new_log = open(os.path.join(directory, "new.stderr"), "w")
        old = harness.start(command, stderr=old_log)
        new = None
        try:
            harness.wait_for_port(port, old)
            request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            session = os.path.join(directory, "session")
            self.assertIn("\r\n\r\nfull", s_client(port, "-tls1_3", "-sess_out", session, data=request))
            new = harness.upgrade(command, old, upgrade, new_log)
            self.assertEqual(old.wait(timeout=15), 0)
            again = s_client(port, "-tls1_3", "-sess_in", session, data=request)
            self.assertIn("Reused", again)
            self.assertIn("\r\n\r\nresumed", again)
            with open(new_log.name) as f:
                self.assertIn("the session ticket keys of the process before", f.read())
        finally:
            if old.poll() is None:
                old.kill()
            if new:
                new.send_signal(signal.SIGTERM)
                self.assertEqual(new.wait(timeout=10), 0)
            old_log.close()
            new_log.close()


class IdleConnections(unittest.TestCase):
    def test_idle_connections_are_parked_and_served_again_plain_and_tls(self):
        """A kept-alive connection idle for over a second is parked (no session: the stats'
        connections_idle), and its next request, plain or over TLS, is served from there."""
        directory = tempfile.mkdtemp(prefix="turnout-tls-")
        certs = Certificates(directory)
        cert, key = certs.leaf("site", ["idle.test"], kind="ec")
        port, secure = harness.free_port(), harness.free_port()
        admin = os.path.join(directory, "admin.sock")
        policy = os.path.join(directory, "idle.route")
        with open(policy, "w") as f:
            f.write('on request { respond 200 req.scheme + " " + str(client.port) }\n')
        stderr = open(os.path.join(directory, "turnout.stderr"), "w")
        proxy = harness.start([harness.TURNOUT, "run", policy, "--listen", f"127.0.0.1:{port}",
                               "--listen-tls", f"127.0.0.1:{secure}", "--cert", cert, "--key", key,
                               "--threads", "2", "--admin", admin], stderr=stderr)
        context = ssl.create_default_context(cafile=certs.ca)

        def stats():
            result = subprocess.run([harness.ROUTEC, "stats", "--admin", admin, "--json"],
                                    capture_output=True, text=True)
            return json.loads(result.stdout)

        def ask(s):
            s.sendall(b"GET / HTTP/1.1\r\nHost: idle.test\r\n\r\n")
            data = b""
            while not data.endswith(str(s.getsockname()[1]).encode()):
                piece = s.recv(4096)
                self.assertTrue(piece, data)
                data += piece
            return data

        held = []
        try:
            harness.wait_for_port(secure, proxy)
            for _ in range(20):
                held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                tls = context.wrap_socket(socket.create_connection(("127.0.0.1", secure), timeout=5),
                                          server_hostname="idle.test")
                held.append(tls)
            for s in held:
                self.assertIn(b"200 OK", ask(s))
            time.sleep(2)
            self.assertEqual(stats()["connections_idle"], 40)
            for s in held:
                answer = ask(s)
                self.assertIn(b"https " if isinstance(s, ssl.SSLSocket) else b"http ", answer)
            self.assertEqual(stats()["connections_idle"], 0)
        finally:
            for s in held:
                s.close()
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()


class LargeBodies(unittest.TestCase):
    def test_large_bodies_cross_tls_both_ways_whole(self):
        """Records are read and written through the worker's ring: a 5 MiB download (also
        to a client that reads slowly, so writes wait on a full socket) and a 3 MiB upload
        arrive byte for byte, on one kept-alive connection with small requests between."""
        directory = tempfile.mkdtemp(prefix="turnout-tls-")
        certs = Certificates(directory)
        cert, key = certs.leaf("site", ["bodies.test"], kind="ec")
        origin = harness.Origin(directory)
        port = harness.free_port()
        policy = os.path.join(directory, "bodies.route")
        with open(policy, "w") as f:
            f.write(f'upstream o {{ servers = ["127.0.0.1:{origin.port}"] }}\non request {{ route o }}\n')
        stderr = open(os.path.join(directory, "turnout.stderr"), "w")
        proxy = harness.start([harness.TURNOUT, "run", policy, "--listen-tls", f"127.0.0.1:{port}",
                               "--cert", cert, "--key", key, "--threads", "1"], stderr=stderr)
        try:
            harness.wait_for_port(port, proxy)
            base = ["--cacert", certs.ca, "--resolve", f"bodies.test:{port}:127.0.0.1"]
            url = f"https://bodies.test:{port}"
            size = 5 * 1024 * 1024
            result = subprocess.run(["curl", "-sS", "--max-time", "60", *base, url + f"/bytes/{size}",
                                     url + "/anything", url + f"/chunked/{size}"], capture_output=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            body = result.stdout
            first, rest = body[:size], body[size:]
            self.assertEqual(hashlib.sha256(first).hexdigest(), harness.pattern_sha256(size))
            self.assertIn(b"GET /anything", rest[:4096])
            self.assertEqual(hashlib.sha256(rest[-size:]).hexdigest(), harness.pattern_sha256(size))
            slow = subprocess.run(["curl", "-sS", "--max-time", "60", "--limit-rate", "2M", *base,
                                   url + f"/bytes/{size}"], capture_output=True)
            self.assertEqual(hashlib.sha256(slow.stdout).hexdigest(), harness.pattern_sha256(size))
            upload = harness.PATTERN * 48  # 3 MiB
            status, _, answer = curl(*base, "--data-binary", "@-", "-H", "content-type: application/octet-stream",
                                     url + "/upload", data=upload)
            self.assertEqual(status, 200)
            self.assertEqual(answer.decode().split(), [str(len(upload)), hashlib.sha256(upload).hexdigest()])
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()
            origin.stop()


class HttpsExample(unittest.TestCase):
    """examples/https.route served on a plain and a TLS listener, client certificates
    optional: HTTP to HTTPS with 308, HSTS, /admin for verified clients only."""

    def test_the_example_redirects_marks_and_guards(self):
        directory = tempfile.mkdtemp(prefix="turnout-tls-")
        certs = Certificates(directory)
        cert, key = certs.leaf("site", ["www.example.test"])
        client = certs.leaf("client", ["client.test"])
        plain, secure = harness.free_port(), harness.free_port()
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "https.route")
        config = os.path.join(directory, "turnout.yaml")
        with open(config, "w") as f:
            f.write(f"listen:\n  - '127.0.0.1:{plain}'\n  - address: '127.0.0.1:{secure}'\n    tls:\n"
                    f"      certificates: [{{cert: {cert}, key: {key}}}]\n"
                    f"      client_ca: {certs.ca}\n      client_auth: optional\n"
                    f"threads: 1\npolicy: {os.path.abspath(example)}\n")
        stderr = open(os.path.join(directory, "turnout.stderr"), "w")
        proxy = harness.start([harness.TURNOUT, "--config", config], stderr=stderr)
        try:
            harness.wait_for_port(secure, proxy)
            status, fields, _ = curl(f"http://127.0.0.1:{plain}/docs?page=2", "-H", "Host: www.example.test")
            self.assertEqual(status, 308)
            self.assertEqual(fields["location"], "https://www.example.test/docs?page=2")
            base = ["--cacert", certs.ca, "--resolve", f"www.example.test:{secure}:127.0.0.1"]
            url = f"https://www.example.test:{secure}"
            status, fields, _ = curl(*base, url + "/admin/users")
            self.assertEqual(status, 403)
            self.assertEqual(fields["strict-transport-security"], "max-age=63072000; includeSubDomains")
            # A verified client passes the guard and is routed (no app listens here: 502).
            status, _, _ = curl(*base, "--cert", client[0], "--key", client[1], url + "/admin/users")
            self.assertEqual(status, 502)
        finally:
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(timeout=10), 0)
            stderr.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
