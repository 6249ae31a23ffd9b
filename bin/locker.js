'use strict';
// The CLI's entry in Node (bin/locker starts it). Loads the one-file bundle of the CLI with V8's
// code cache when the build made one that is newer than the compiled files (scripts/bundle-cli.mjs),
// else the compiled files themselves; either way the same main().
const { existsSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

// bin/locker started Node without NODE_EXTRA_CA_CERTS (the CLI opens no TLS connection, and Node
// reads that file at every start); the processes the CLI starts (Electron, tools) get it back.
if (process.env.LOCKER_NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.LOCKER_NODE_EXTRA_CA_CERTS;
  delete process.env.LOCKER_NODE_EXTRA_CA_CERTS;
}

const cliDir = join(__dirname, '..', 'build', 'app', 'main', 'cli');
const entry = join(cliDir, 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('locker: not built yet; run npm install (or npm run build) in ' + join(__dirname, '..') + '\n');
  process.exit(2);
}

/** The bundle's exports, or undefined when there is none or it is older than main.js (tsc ran since). */
function loadBundle() {
  const file = join(cliDir, 'main.bundle.js');
  let source;
  try {
    if (statSync(file).mtimeMs < statSync(entry).mtimeMs) return undefined;
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData;
  try {
    cachedData = readFileSync(join(cliDir, 'main.bundle.cache'));
  } catch {
    // no cache: compiled as usual
  }
  const Module = require('node:module');
  const { Script } = require('node:vm');
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(cliDir);
  const wrapper = new Script(Module.wrap(source), { filename: file, cachedData }).runInThisContext();
  wrapper.call(m.exports, m.exports, Module.createRequire(file), m, file, cliDir);
  m.loaded = true;
  return m.exports;
}

// bin/locker puts "--" before the arguments (Node 20's --env-file); `node bin/locker.js ARGS` works too.
const args = process.argv[2] === '--' ? process.argv.slice(3) : process.argv.slice(2);
if (args[0] === '--cli-server') {
  // The resident CLI server (app/main/cli/server.ts), started below by an earlier command.
  require(join(cliDir, 'server.js')).serveCli(args[1]).then(() => process.exit(0), (e) => {
    process.stderr.write('locker cli server: ' + (e && e.stack || e) + '\n');
    process.exit(1);
  });
} else {
  (loadBundle() ?? require(entry)).main(args).then(
    (code) => (startServer(args[0]), process.exit(code)),
    (e) => { process.stderr.write('locker: internal error: ' + (e && e.stack || e) + '\n'); process.exit(125); },
  );
}

/**
 * locker-client found no server at $LOCKER_CLI_SERVER_START: one is started for the next command
 * (a command the server runs; not for ui, oci, doctor…), detached, its output to a log beside its
 * socket. It ends by itself when idle.
 */
function startServer(command) {
  const socket = process.env.LOCKER_CLI_SERVER_START;
  if (!socket) return;
  const { SERVED_COMMANDS } = require(join(cliDir, 'served-commands.js'));
  if (!SERVED_COMMANDS.has(command)) return;
  const { mkdirSync, openSync, closeSync, statSync } = require('node:fs');
  const { dirname, resolve } = require('node:path');
  const { spawn } = require('node:child_process');
  try {
    // Only in a data dir that exists (the command made it, or it was there): never a recursive
    // mkdir, which under /proc retries ENOENT for ever (LOCKER_DATA_DIR=/proc/x).
    if (!statSync(dirname(dirname(socket))).isDirectory()) return;
    try {
      mkdirSync(dirname(socket), { mode: 0o700 });
    } catch (e) {
      if (e.code !== 'EEXIST') return;
    }
    const log = openSync(socket.replace(/\.sock$/, '.log'), 'w', 0o600);
    const env = { ...process.env, UV_THREADPOOL_SIZE: '16' };
    delete env.LOCKER_CLI_SERVER_START;
    // The server leaves its working directory: a relative data dir is made absolute for it.
    if (env.LOCKER_DATA_DIR) env.LOCKER_DATA_DIR = resolve(env.LOCKER_DATA_DIR);
    spawn(process.execPath, [__filename, '--', '--cli-server', resolve(socket)], { detached: true, stdio: ['ignore', log, log], env }).unref();
    closeSync(log);
  } catch {
    // No server: every command runs with Node, as before.
  }
}

