#!/usr/bin/env python3
"""The VS Code extension (editor-support/vscode): its TextMate grammar against the sample
files here (vscode-tmgrammar-test), the grammar's word lists against the compiler's
tables, its snippets, what activation starts, and the .vsix it builds into.

Usage: vscode_test.py PATH/TO/routec OUT_DIR   (run from the repository root;
install-deps.sh has run `npm ci` in editor-support/vscode)
"""
import glob
import json
import os
import re
import subprocess
import sys
import unittest
import zipfile

ROOT = os.getcwd()
EXTENSION = os.path.join(ROOT, "editor-support", "vscode")
HERE = os.path.dirname(os.path.abspath(__file__))
ROUTEC = None
OUT = None  # where the .vsix and the expanded snippets go


def grammar():
    with open(os.path.join(EXTENSION, "syntaxes", "route.tmLanguage.json")) as f:
        return json.load(f)


def def_names(path, macro):
    with open(os.path.join(ROOT, path)) as f:
        return set(re.findall(r"^%s\(\w+, \"([a-z0-9_.]+)\"" % macro, f.read(), re.M))


class VscodeExtensionTest(unittest.TestCase):
    def test_grammar_scopes_the_samples(self):
        samples = sorted(glob.glob(os.path.join(HERE, "*.test.route")))
        self.assertGreaterEqual(len(samples), 2)
        run = subprocess.run(
            [os.path.join(EXTENSION, "node_modules", ".bin", "vscode-tmgrammar-test"),
             "-g", os.path.join(EXTENSION, "syntaxes", "route.tmLanguage.json"), *samples],
            capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_grammar_knows_every_builtin_and_variable_root(self):
        patterns = grammar()["repository"]
        builtins = next(p["match"] for p in patterns["calls"]["patterns"]
                        if p["name"] == "support.function.builtin.route")
        listed = set(re.search(r"\(([a-z0-9_|]+)\)", builtins).group(1).split("|"))
        self.assertEqual(listed, def_names("stdlib/builtins.def", "ROUTE_BUILTIN"),
                         "the grammar's built-ins must be stdlib/builtins.def's")
        variables = next(p["match"] for p in patterns["variables"]["patterns"]
                         if p["name"] == "variable.language.route")
        roots = set(re.search(r"\(\?:([a-z|]+)\)", variables).group(1).split("|"))
        self.assertEqual(roots, {name.split(".")[0] for name in
                                 def_names("dsl/schema/variables.def", "ROUTE_VARIABLE")})

    def test_snippets_are_complete_blocks(self):
        with open(os.path.join(EXTENSION, "snippets", "route.json")) as f:
            snippets = json.load(f)
        for name in ("upstream", "on", "if", "test", "map", "acl", "fn"):
            self.assertIn(name, {s["prefix"] for s in snippets.values()})
        for name, snippet in snippets.items():
            body = "\n".join(snippet["body"])
            self.assertEqual(body.count("{") - body.count("\\{"), body.count("}") - body.count("\\}"),
                             name)

    def test_snippets_expand_to_policies_routec_accepts(self):
        """Each block snippet, with its placeholders' defaults, checks clean with routec."""
        with open(os.path.join(EXTENSION, "snippets", "route.json")) as f:
            snippets = json.load(f)

        def expand(body):
            text = "\n".join(body)
            for _ in range(3):  # placeholders nest
                text = re.sub(r"\$\{\d+\|([^,|]*)[^|]*\|\}", r"\1", text)
                text = re.sub(r"\$\{\d+:([^{}]*)\}", r"\1", text)
            return re.sub(r"\$\d+", "", text)

        web = 'upstream web {\n    servers = ["127.0.0.1:8080"]\n}\n'
        policies = {
            "upstream": expand(snippets["upstream"]["body"]) + "\non request {\n    route name\n}\n",
            "health and outlier": expand(snippets["upstream"]["body"])[:-1] + "    " +
                                  expand(snippets["health"]["body"]) + "\n    " +
                                  expand(snippets["outlier"]["body"]) + "\n}\non request {\n    route name\n}\n",
            "on": web + expand(snippets["on request"]["body"]) + "\n",
            "map": web + expand(snippets["map"]["body"]) +
                   '\non request {\n    if name[req.path] == "" {\n        route web\n    }\n    route web\n}\n',
            "fn": web + expand(snippets["fn"]["body"]).replace("return ", "return value == \"\"") +
                  "\non request {\n    if name(req.path) {\n        route web\n    }\n    route web\n}\n",
            "test": web + "on request {\n    route web\n}\n\n" + expand(snippets["test"]["body"]) + "\n",
        }
        for name, text in policies.items():
            path = os.path.join(OUT, "snippet_%s.route" % name)
            with open(path, "w") as f:
                f.write(text)
            run = subprocess.run([ROUTEC, "check", path],
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, "%s:\n%s\n%s" % (name, text, run.stderr))

    def test_activation_starts_routec_lsp(self):
        run = subprocess.run(["node", os.path.join(HERE, "activate_test.js"), EXTENSION],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_builds_into_a_vsix(self):
        vsix = os.path.join(OUT, "route-language.vsix")
        if os.path.exists(vsix):
            os.remove(vsix)
        run = subprocess.run([os.path.join(EXTENSION, "node_modules", ".bin", "vsce"), "package",
                              "--allow-missing-repository", "--skip-license", "-o", vsix],
                             cwd=EXTENSION, capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        with zipfile.ZipFile(vsix) as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("extension/package.json"))
        for name in ("extension/extension.js", "extension/language-configuration.json",
                     "extension/syntaxes/route.tmLanguage.json", "extension/snippets/route.json",
                     "extension/node_modules/vscode-languageclient/package.json"):
            self.assertIn(name, names)
        self.assertFalse(any("vscode-tmgrammar-test" in n or "/@vscode/vsce/" in n for n in names),
                         "development packages stay out of the .vsix")
        self.assertEqual(manifest["contributes"]["grammars"][0]["scopeName"], "source.route")


if __name__ == "__main__":
    ROUTEC = os.path.abspath(sys.argv.pop(1))
    OUT = os.path.abspath(sys.argv.pop(1))
    os.makedirs(OUT, exist_ok=True)
    unittest.main(verbosity=2)
