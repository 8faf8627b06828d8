// Loads the extension as VS Code would, with the editor API and the language client
// replaced by recorders, and checks what activation starts: `routec lsp` (or the
// configured path) for Route files, and the restart command.
// Usage: node activate_test.js EXTENSION_DIR
'use strict';

const assert = require('assert');
const Module = require('module');
const path = require('path');

const extensionDir = path.resolve(process.argv[2]);
const started = [];
const commands = {};
let configuredPath = '';

class LanguageClient {
  constructor(id, name, server, options) {
    Object.assign(this, { id, name, server, options });
  }
  async start() { started.push(this); }
  async stop() { this.stopped = true; }
}

const vscode = {
  workspace: {
    getConfiguration: (section) => ({
      get: (key) => (section === 'route' && key === 'server.path' ? configuredPath : undefined),
    }),
    onDidChangeConfiguration: () => ({ dispose() {} }),
  },
  commands: {
    registerCommand: (name, run) => { commands[name] = run; return { dispose() {} }; },
    executeCommand: (name) => commands[name](),
  },
  window: { showErrorMessage: (message) => { throw new Error(message); } },
};

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode;
  if (request === 'vscode-languageclient/node') return { LanguageClient };
  return load.call(this, request, parent, isMain);
};

(async () => {
  const manifest = require(path.join(extensionDir, 'package.json'));
  const extension = require(path.join(extensionDir, manifest.main));
  const context = { subscriptions: [] };
  await extension.activate(context);

  assert.strictEqual(started.length, 1);
  const client = started[0];
  assert.deepStrictEqual(client.server, { command: 'routec', args: ['lsp'] });
  assert.deepStrictEqual(client.options.documentSelector.map((s) => s.language), ['route', 'route']);
  assert.ok(context.subscriptions.length >= 2);

  configuredPath = '/opt/turnout/bin/routec';
  await commands['route.restartServer']();
  assert.strictEqual(client.stopped, true);
  assert.strictEqual(started.length, 2);
  assert.strictEqual(started[1].server.command, '/opt/turnout/bin/routec');

  const language = manifest.contributes.languages[0];
  assert.strictEqual(language.id, 'route');
  assert.deepStrictEqual(language.extensions, ['.route']);
  assert.ok(manifest.contributes.commands.some((c) => c.command === 'route.restartServer'));
  console.log('activate_test: ok');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
