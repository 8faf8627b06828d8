#!/usr/bin/env python3
"""`routec lsp`, driven over pipes as an editor drives it: framing, lifecycle, diagnostics
(the same as `routec check`), hover, completion, definition across imports, symbols,
formatting, and hostile or half-typed input that must never end the session.

Usage: lsp_test.py PATH/TO/routec   (run from the repository root)
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse

ROUTEC = None
TIMEOUT = 20


class Client:
    """A language client: frames requests, collects responses and notifications."""

    def __init__(self, *args):
        self.process = subprocess.Popen([ROUTEC, "lsp", *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.process.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            self.messages.put(json.loads(out.read(length)))

    def send_raw(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message):
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)

    def wait(self, matches):
        while True:
            message = self.messages.get(timeout=TIMEOUT)
            if message is None:
                raise AssertionError("routec lsp closed its output")
            if matches(message):
                return message

    def diagnostics(self, uri):
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri)["params"]["diagnostics"]

    def initialize(self, capabilities=None):
        response = self.request("initialize", {"processId": os.getpid(), "rootUri": None,
                                               "capabilities": capabilities or {}})
        self.notify("initialized", {})
        return response["result"]

    def open(self, uri, text, version=1):
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "route", "version": version, "text": text}})
        return self.diagnostics(uri)

    def close(self):
        if self.process.poll() is None:
            self.request("shutdown", None)
            self.notify("exit", None)
        code = self.process.wait(timeout=TIMEOUT)
        self.process.stdin.close()
        self.process.stdout.close()
        self.process.stderr.close()
        return code


def at(text, needle, delta=0):
    """The LSP position (UTF-16) of `needle` in `text`, moved `delta` characters."""
    offset = text.index(needle) + delta
    before = text[:offset]
    line = before.count("\n")
    column = before[before.rfind("\n") + 1:]
    return {"line": line, "character": len(column.encode("utf-16-le")) // 2}


def uri_of(path):
    return "file://" + urllib.parse.quote(path)


def doc(uri, position):
    return {"textDocument": {"uri": uri}, "position": position}


POLICY = """upstream web {
    servers = ["127.0.0.1:8080" weight 2, "127.0.0.1:8081"]
    balance = round_robin
    read_timeout = limit
}

upstream spare {
    servers = ["127.0.0.1:9090"]
}

const greeting = "hello" + " world"
const limit = 1m30s

fn shout(text: string) -> string {
    return upper(text)
}

on request {
    let loud = shout(req.path)
    if req.path ~ r"^/v1(?P<rest>/.*)$" {
        req.path = match.rest
    }
    if loud == greeting {
        respond 200 "hi"
    }
    route web
}

on response {
    resp.header["x-limit"] = "x"
}

on error {
    route spare
}

test "goes to web" {
    request GET "http://example.com/"
    expect route web
}
"""


class LspTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.client = Client()
        self.folder = os.path.join(self.dir.name, "a folder")  # URIs escape the space
        os.mkdir(self.folder)
        self.path = os.path.join(self.folder, "policy.route")
        with open(self.path, "w") as f:
            f.write(POLICY)
        self.uri = uri_of(self.path)

    def tearDown(self):
        if self.client.process.poll() is None:
            self.client.close()
        self.dir.cleanup()

    def test_initialize_announces_the_features(self):
        caps = self.client.initialize()["capabilities"]
        for feature in ("hoverProvider", "definitionProvider", "documentSymbolProvider",
                        "documentFormattingProvider"):
            self.assertTrue(caps[feature], feature)
        self.assertEqual(caps["completionProvider"]["triggerCharacters"], ["."])
        self.assertEqual(caps["textDocumentSync"]["change"], 2)
        self.assertEqual(caps["positionEncoding"], "utf-16")
        self.assertEqual(self.client.close(), 0)

    def test_utf8_positions_when_the_client_offers_them(self):
        caps = self.client.initialize({"general": {"positionEncodings": ["utf-8", "utf-16"]}})
        self.assertEqual(caps["capabilities"]["positionEncoding"] if "capabilities" in caps
                         else caps["positionEncoding"], "utf-8")
        text = 'const s = "é😀"\nconst t = nope\n'
        diagnostics = self.client.open(self.uri, text)
        self.assertEqual(diagnostics[0]["range"]["start"], {"line": 1, "character": 10})
        hover = self.client.request("textDocument/hover", doc(self.uri, {"line": 0, "character": 6}))
        self.assertIn('const s: string = "é😀"', hover["result"]["contents"]["value"])

    def test_diagnostics_are_those_of_routec_check(self):
        self.client.initialize()
        bad = POLICY.replace("    route web\n}", "    route wbe\n}").replace("let loud", "let unused = 1\n    let loud")
        with open(self.path, "w") as f:
            f.write(bad)
        diagnostics = self.client.open(self.uri, bad)
        check = json.loads(subprocess.run([ROUTEC, "check", "--format", "json", self.path],
                                          capture_output=True, text=True).stdout)
        expected = sorted((d["range"]["start"]["line"] - 1, d["range"]["start"]["column"] - 1,
                           d["code"], d["severity"]) for d in check["diagnostics"])
        severities = {1: "error", 2: "warning"}
        got = sorted((d["range"]["start"]["line"], d["range"]["start"]["character"], d["code"],
                      severities[d["severity"]]) for d in diagnostics)
        self.assertEqual(got, expected)
        self.assertIn(("unknown-upstream"), [d["code"] for d in diagnostics])
        unknown = next(d for d in diagnostics if d["code"] == "unknown-upstream")
        self.assertEqual(unknown["range"]["start"], at(bad, "wbe"))
        self.assertIn("did you mean 'web'?", unknown["message"])

        # An incremental change that mends it clears the error.
        start = at(bad, "wbe")
        end = dict(start, character=start["character"] + 3)
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": 2},
            "contentChanges": [{"range": {"start": start, "end": end}, "text": "web"}]})
        diagnostics = self.client.diagnostics(self.uri)
        self.assertEqual([d["code"] for d in diagnostics], ["unused"])

    def test_syntax_errors_on_open(self):
        self.client.initialize()
        diagnostics = self.client.open(self.uri, "on request {\n    route\n")
        self.assertTrue(diagnostics)
        self.assertEqual(diagnostics[0]["severity"], 1)
        self.assertEqual(diagnostics[0]["code"], "syntax")

    def hover(self, needle, delta=0):
        response = self.client.request("textDocument/hover", doc(self.uri, at(POLICY, needle, delta)))
        return response["result"]["contents"]["value"] if response["result"] else None

    def test_hover(self):
        self.client.initialize()
        self.assertEqual(self.client.open(self.uri, POLICY), [])
        path = self.hover("req.path)", 5)
        self.assertIn("req.path: string", path)
        self.assertIn("readable in: request, upstream_request", path)
        self.assertIn("writable in: request", path)
        self.assertIn("upper(string) -> string", self.hover("upper(", 1))
        self.assertIn("ASCII letters to upper case", self.hover("upper(", 1))
        self.assertIn('const greeting: string = "hello world"', self.hover("greeting {", 2))
        self.assertIn("const limit: duration = 1m30s", self.hover("limit ="))
        self.assertIn("let loud: string", self.hover("loud ==", 1))
        self.assertIn("(parameter) text: string", self.hover("upper(text", 7))
        self.assertIn("fn shout(text: string) -> string", self.hover("shout(req", 1))
        web = self.hover("route web", 7)
        self.assertIn("upstream web", web)
        self.assertIn("127.0.0.1:8080 weight 2, 127.0.0.1:8081", web)
        self.assertIn("match.rest: string", self.hover("match.rest", 7))
        self.assertIn("The downstream request has arrived", self.hover("on request", 4))
        self.assertIn("allowed in: request, error", self.hover("respond 200", 2))
        self.assertIn("the peers", self.hover("servers ="))
        self.assertIn("upstream web", self.hover("expect route web", 14))
        self.assertIsNone(self.hover("\n\nupstream spare", 0))

    def complete(self, text, needle, delta):
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": 9},
            "contentChanges": [{"text": text}]})
        self.client.diagnostics(self.uri)
        response = self.client.request("textDocument/completion", doc(self.uri, at(text, needle, delta)))
        return {item["label"]: item for item in response["result"]["items"]}

    def test_completion_is_scoped_to_the_phase(self):
        self.client.initialize()
        self.client.open(self.uri, POLICY)
        members = self.complete(POLICY.replace("    route web\n", "    req.\n    route web\n"),
                                "req.\n", 4)
        self.assertIn("path", members)
        self.assertIn("header", members)
        self.assertEqual(members["path"]["detail"], "req.path")
        self.assertEqual(members["path"]["textEdit"]["range"]["start"],
                         members["path"]["textEdit"]["range"]["end"])

        upstream = self.complete(POLICY.replace("    route web\n", "    upstream.\n    route web\n"),
                                 "upstream.\n", 9)
        self.assertEqual(upstream, {}, "nothing under upstream. is there before routing")
        later = self.complete(POLICY.replace('resp.header["x-limit"] = "x"', 'resp.header["x-limit"] = upstream.'),
                              "= upstream.", 11)
        self.assertIn("peer", later)
        self.assertIn("req", later)

        statement = self.complete(POLICY.replace("    route web\n", "    re\n    route web\n"),
                                  "    re\n", 6)
        for name in ("respond", "redirect", "route", "let", "req", "greeting", "shout", "lower",
                     "loud"):
            self.assertIn(name, statement)
        self.assertNotIn("retry", statement, "retry is for the error phase")
        self.assertNotIn("resp", statement, "resp is not readable in the request phase")
        self.assertEqual(statement["lower"]["detail"], "lower(string) -> string")

        response = self.complete(POLICY.replace('resp.header["x-limit"] = "x"', 'resp.header["x-limit"] = "x"\n    r'),
                                 '"x"\n    r', 9)
        self.assertIn("resp", response)
        self.assertNotIn("respond", response)
        self.assertNotIn("route", response)

        routes = self.complete(POLICY.replace("route web\n}", "route \n}"), "route \n}", 6)
        self.assertEqual(set(routes), {"web", "spare"})

        settings = self.complete(POLICY.replace("    balance = round_robin\n", "    balance = round_robin\n    re\n"),
                                 "    re\n", 6)
        self.assertIn("retries", settings)
        self.assertIn("read_timeout", settings)
        self.assertNotIn("respond", settings)

        top = self.complete(POLICY + "\nup", "\nup", 3)
        self.assertIn("upstream", top)
        phases = self.complete(POLICY + "\non ", "\non ", 4)
        self.assertIn("upstream_request", phases)

        steps = self.complete(POLICY.replace("    expect route web\n", "    t\n    expect route web\n"),
                              "    t\n", 5)
        self.assertIn("tls", steps)
        facts = self.complete(POLICY.replace("    expect route web\n", "    tls \n    expect route web\n"),
                              "    tls \n", 8)
        self.assertIn("sni", facts)
        self.assertIn("client.verified", facts)
        self.assertNotIn("req", facts)

        inside_string = self.complete(POLICY, '"hello', 3)
        self.assertEqual(inside_string, {})

    def test_definition_across_imports(self):
        lib = os.path.join(self.folder, "lib.route")
        with open(lib, "w") as f:
            f.write('// shared\nconst site = "example.com"\n')
        main = 'import "lib.route"\n\nupstream web {\n    servers = ["127.0.0.1:80"]\n}\n\non request {\n    if req.host == site {\n        route web\n    }\n    route web\n}\n'
        self.client.initialize()
        self.assertEqual(self.client.open(self.uri, main), [])
        response = self.client.request("textDocument/definition", doc(self.uri, at(main, "site {", 1)))
        self.assertEqual(response["result"]["uri"], uri_of(lib))
        self.assertEqual(response["result"]["range"]["start"], {"line": 1, "character": 6})
        response = self.client.request("textDocument/definition", doc(self.uri, at(main, "route web", 7)))
        self.assertEqual(response["result"]["uri"], self.uri)
        self.assertEqual(response["result"]["range"]["start"], {"line": 2, "character": 9})
        response = self.client.request("textDocument/definition", doc(self.uri, at(main, "lib.route", 1)))
        self.assertEqual(response["result"]["uri"], uri_of(lib))

        # The imported file open with unsaved changes: the importer sees the buffer.
        lib_uri = uri_of(lib)
        self.client.notify("textDocument/didOpen", {"textDocument": {
            "uri": lib_uri, "languageId": "route", "version": 1, "text": "const other = 1\n"}})
        diagnostics = {}
        for _ in range(2):
            message = self.client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics")
            diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
        self.assertIn("unknown name 'site'", diagnostics[self.uri][0]["message"])

    def test_diagnostics_in_an_imported_file_show_at_the_import(self):
        lib = os.path.join(self.folder, "lib.route")
        with open(lib, "w") as f:
            f.write("const broken = 1 + \"a\"\n")
        main = 'import "lib.route"\n\nconst x = 1\n'
        self.client.initialize()
        diagnostics = self.client.open(self.uri, main)
        self.assertEqual(len([d for d in diagnostics if d["severity"] == 1]), 1)
        error = next(d for d in diagnostics if d["severity"] == 1)
        self.assertEqual(error["range"]["start"], {"line": 0, "character": 0})
        self.assertIn("lib.route:1:", error["message"])

    def test_document_symbols(self):
        self.client.initialize()
        self.client.open(self.uri, POLICY)
        response = self.client.request("textDocument/documentSymbol", {"textDocument": {"uri": self.uri}})
        names = [s["name"] for s in response["result"]]
        self.assertEqual(names, ["web", "spare", "greeting", "limit", "shout", "on request",
                                 "on response", "on error", "goes to web"])
        web = response["result"][0]
        self.assertEqual([c["name"] for c in web["children"]], ["servers", "balance", "read_timeout"])
        self.assertEqual(web["selectionRange"]["start"], {"line": 0, "character": 9})

    def test_formatting(self):
        self.client.initialize()
        messy = "upstream web{servers=[\"127.0.0.1:80\"]}\non request { route web }\n"
        self.client.open(self.uri, messy)
        response = self.client.request("textDocument/formatting", {
            "textDocument": {"uri": self.uri}, "options": {"tabSize": 4, "insertSpaces": True}})
        edits = response["result"]
        self.assertEqual(len(edits), 1)
        self.assertEqual(edits[0]["newText"],
                         "upstream web {\n    servers = [\"127.0.0.1:80\"]\n}\n\non request {\n    route web\n}\n")
        self.assertEqual(edits[0]["range"]["end"], {"line": 2, "character": 0})

    def test_protocol_errors_never_end_the_session(self):
        response = self.client.request("textDocument/hover", doc(self.uri, {"line": 0, "character": 0}))
        self.assertEqual(response["error"]["code"], -32002)
        self.client.initialize()
        self.client.send_raw(b"Content-Length: 5\r\n\r\n{oops")
        self.assertEqual(self.client.wait(lambda m: "error" in m)["error"]["code"], -32700)
        self.client.send_raw(b"X-Junk: 1\r\n\r\n")
        self.assertEqual(self.client.wait(lambda m: "error" in m)["error"]["code"], -32700)
        self.assertEqual(self.client.request("no/such", {})["error"]["code"], -32601)
        self.assertEqual(self.client.request("textDocument/hover", {"textDocument": 5})["error"]["code"], -32602)
        self.assertEqual(self.client.request("textDocument/hover", doc("file:///not/open", {"line": 0, "character": 0}))["error"]["code"], -32602)
        self.client.notify("textDocument/didChange", {"textDocument": {"uri": "file:///not/open"}, "contentChanges": []})
        self.assertEqual(self.client.open(self.uri, "const x = 1\n")[0]["code"], "unused")
        far = self.client.request("textDocument/hover", doc(self.uri, {"line": 99, "character": -4}))
        self.assertNotIn("error", far)
        self.assertEqual(self.client.close(), 0)

    def test_every_prefix_of_a_policy_is_served(self):
        """Typing a policy a few characters at a time: each state is analysed, hovered,
        completed and formatted without the server failing."""
        self.client.initialize()
        self.client.open(self.uri, "")
        text = POLICY + "\xff bad utf-8 \x00 /* open comment"
        step = 7
        for end in range(0, len(text) + 1, step):
            prefix = text[:end]
            self.client.notify("textDocument/didChange", {
                "textDocument": {"uri": self.uri, "version": end + 2},
                "contentChanges": [{"text": prefix}]})
            self.client.diagnostics(self.uri)
            position = at(prefix + "$", "$")
            for method in ("textDocument/hover", "textDocument/completion", "textDocument/definition"):
                response = self.client.request(method, doc(self.uri, position))
                self.assertNotIn("error", response, (method, prefix))
            response = self.client.request("textDocument/formatting", {"textDocument": {"uri": self.uri}, "options": {}})
            self.assertNotIn("error", response)
        self.assertEqual(self.client.close(), 0)

    def test_exit_without_shutdown_is_an_error_exit(self):
        self.client.initialize()
        self.client.notify("exit", None)
        self.assertEqual(self.client.process.wait(timeout=TIMEOUT), 1)

    def test_end_of_input_ends_the_server(self):
        self.client.initialize()
        self.client.process.stdin.close()
        self.assertEqual(self.client.process.wait(timeout=TIMEOUT), 1)


if __name__ == "__main__":
    ROUTEC = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
