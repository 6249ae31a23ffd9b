// Bound to a wildcard address (a VM forwarding its port to the host): reachable by IP literal, never
// by a name (DNS rebinding); the socket never without the token; a warning printed; no host shell
// unless asked for.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Channel, type ServerMessage } from '../../shared/api';
import { tokenProtocols } from '../../shared/web-auth';
import { FakeRuntime } from '../api/testing';
import { hostShellPolicy, isLoopbackHost, networkWarning } from './exposure';
import { acceptedHost } from './guard';
import { startWeb, type WebServer } from './start';

test('acceptedHost: exact bind, or IP literals with our port on a wildcard bind', () => {
  assert.equal(acceptedHost('127.0.0.1:8080', '127.0.0.1:8080'), '127.0.0.1:8080');
  assert.equal(acceptedHost('10.0.2.15:8080', '127.0.0.1:8080'), undefined, 'not a wildcard bind: exact only');
  assert.equal(acceptedHost('10.0.2.15:8080', '127.0.0.1:8080', 8080), '10.0.2.15:8080');
  assert.equal(acceptedHost('[::1]:8080', '127.0.0.1:8080', 8080), '[::1]:8080');
  assert.equal(acceptedHost('evil.example:8080', '127.0.0.1:8080', 8080), undefined, 'a name can be rebound');
  assert.equal(acceptedHost('localhost:8080', '127.0.0.1:8080', 8080), undefined);
  assert.equal(acceptedHost('127.0.0.1:8081', '127.0.0.1:8080', 8080), undefined, 'another port');
  assert.equal(acceptedHost(undefined, '127.0.0.1:8080', 8080), undefined);
});

let web: WebServer;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'locker-web-wild-'));
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Locker</title>');
  web = await startWeb({ port: 0, host: '0.0.0.0', runtime: new FakeRuntime(), staticDir: join(dir, 'renderer') });
});
after(async () => {
  await web.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, host: string): Promise<{ status: number; csp: string }> {
  const port = Number(new URL(web.url).port);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, csp: String(res.headers['content-security-policy'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a wildcard bind prints a loopback URL and answers IP literals only', async () => {
  const url = new URL(web.url);
  assert.equal(url.hostname, '127.0.0.1');
  const port = url.port;
  const ok = await get('/', `127.0.0.1:${port}`);
  assert.equal(ok.status, 200);
  assert.match(ok.csp, new RegExp(`ws://127\\.0\\.0\\.1:${port}`));
  assert.equal((await get('/', `192.0.2.7:${port}`)).status, 200, 'the address a forwarded port arrives on');
  assert.equal((await get('/', `rebind.example:${port}`)).status, 421);
});

test('a wildcard bind warns that Locker is on the network and keeps the host shell off', () => {
  assert.equal(web.hostShell.enabled, false);
  assert.match(web.warning ?? '', /^WARNING: web mode listens on 0\.0\.0\.0, reachable from the network.*host shell pane is off \(add --host-shell/);
});

test('on the network the host shell is refused over an authenticated socket, with the reason', async () => {
  const ws = new WebSocket(web.wsUrl, tokenProtocols(web.token), { headers: { Origin: web.origin } });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const reply = new Promise<ServerMessage>((resolve) => ws.on('message', (m) => {
    const msg = JSON.parse(m.toString()) as ServerMessage;
    if (msg.t === 'reply') resolve(msg);
  }));
  ws.send(JSON.stringify({ t: 'call', id: 1, ch: Channel.openHostShell, arg: { cols: 80, rows: 24 } }));
  const msg = await reply;
  assert.ok(msg.t === 'reply' && 'error' in msg.env);
  assert.match(msg.env.error, /^the host shell is off: this web-mode server listens on 0\.0\.0\.0, reachable from the network.*--host-shell/);
  ws.close();
});

test('host shell policy: on for loopback, off on the network unless asked, off when refused', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', '10.0.2.15', 'example.org', '::ffff:127.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  assert.deepEqual(hostShellPolicy('127.0.0.1'), { enabled: true });
  assert.equal(hostShellPolicy('0.0.0.0').enabled, false);
  assert.deepEqual(hostShellPolicy('0.0.0.0', true), { enabled: true });
  assert.match(hostShellPolicy('127.0.0.1', false).refusal ?? '', /--no-host-shell/);
  assert.equal(networkWarning('127.0.0.1', hostShellPolicy('127.0.0.1')), undefined);
  assert.match(networkWarning('0.0.0.0', hostShellPolicy('0.0.0.0', true)) ?? '', /host shell pane is ON \(--host-shell\): anyone with the URL gets a root shell/);
});
