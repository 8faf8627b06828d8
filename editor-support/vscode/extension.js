// The Route extension's client half: starts `routec lsp` for .route files and hands it
// every feature the server announces. The language server is routec itself, so what the
// editor shows is what `routec check` and `routec fmt` say.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function createClient() {
  const settings = vscode.workspace.getConfiguration('route');
  const command = settings.get('server.path') || 'routec';
  const server = { command, args: ['lsp'] };
  const options = {
    documentSelector: [
      { scheme: 'file', language: 'route' },
      { scheme: 'untitled', language: 'route' },
    ],
    outputChannelName: 'Route',
  };
  return new LanguageClient('route', 'Route', server, options);
}

async function activate(context) {
  client = createClient();
  context.subscriptions.push(
    vscode.commands.registerCommand('route.restartServer', async () => {
      await client.stop();
      client = createClient();
      await client.start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('route.server.path')) {
        await vscode.commands.executeCommand('route.restartServer');
      }
    }),
  );
  try {
    await client.start();
  } catch (error) {
    const command = vscode.workspace.getConfiguration('route').get('server.path') || 'routec';
    vscode.window.showErrorMessage(
      `Route: cannot start '${command} lsp' (${error.message}). ` +
        'Build Turnout (make) and put routec on PATH, or set route.server.path.');
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
