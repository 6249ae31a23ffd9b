import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Channel, type ServerMessage } from '../../shared/api';
import { WS_PROTOCOL, tokenProtocols } from '../../shared/web-auth';
import { FakeRuntime } from '../api/testing';
import { startWeb, type WebServer } from './start';

let web: WebServer;
let hostPort: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'locker-web-'));
  const root = join(dir, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Locker</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(dir, 'secret.txt'), 'do not serve');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'escape.txt'));
  web = await startWeb({ port: 0, runtime: new FakeRuntime(), staticDir: root });
  hostPort = new URL(web.url).host;
});

after(() => web.close());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const [host, port] = [hostPort.split(':')[0], Number(hostPort.split(':')[1])];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, headers: { Host: hostPort, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('binds loopback and prints a URL with a long random token in the fragment, which no server sees', () => {
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{40,}$/);
  assert.equal(web.origin, `http://${hostPort}`);
  assert.equal(web.wsUrl, `ws://${hostPort}/ws`);
  assert.equal(web.warning, undefined, 'loopback: nothing to warn about');
  assert.equal(web.hostShell.enabled, true);
});

test('serves the page and assets without a token (they hold no secret), with CSP and MIME type, and never sets a cookie', async () => {
  const r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.body, /<title>Locker/);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
  assert.doesNotMatch(String(r.headers['content-security-policy']), /unsafe-eval/);
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  const js = await get('/assets/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await get('/assets/app.css')).headers['content-type'], 'text/css; charset=utf-8');
  for (const path of ['/', '/assets/app.js', `/?token=${web.token}`, '/nope']) assert.equal((await get(path)).headers['set-cookie'], undefined, path);
});

test('refuses a foreign Origin and a Host other than the bound one (DNS rebinding)', async () => {
  assert.equal((await get('/', { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await get('/', { Origin: `http://${hostPort}` })).status, 200);
  assert.equal((await get('/', { Host: 'evil.example' })).status, 421);
  assert.equal((await get('/', { Host: `localhost:${hostPort.split(':')[1]}` })).status, 421);
});

test('never serves files outside the root', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/escape.txt', '/%00', '/..%5csecret.txt']) {
    const r = await get(path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /do not serve/);
  }
});

test('only GET and HEAD', async () => {
  assert.equal((await get('/', {}, 'POST')).status, 405);
  const head = await get('/', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

const ours = () => ({ Origin: `http://${hostPort}` });

function connect(protocols: string[], headers: Record<string, string> = {}, path = '/ws'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${hostPort}${path}`, protocols, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode} ${body.trim()}`)));
    });
    ws.once('error', reject);
  });
}

test('WebSocket refuses a missing or wrong token, a missing or foreign Origin, another Host, and the token in the query', async () => {
  const good = tokenProtocols(web.token);
  await assert.rejects(connect([], ours()), /HTTP 403 refused: missing token/);
  await assert.rejects(connect([WS_PROTOCOL], ours()), /HTTP 403 refused: missing token/);
  await assert.rejects(connect(tokenProtocols('nope'), ours()), /HTTP 403 refused: wrong token/);
  await assert.rejects(connect(tokenProtocols(web.token + 'x'), ours()), /HTTP 403 refused: wrong token/);
  await assert.rejects(connect([good[1]], ours()), /HTTP 403 refused: missing token/, 'the token without our protocol');
  await assert.rejects(connect(good), /HTTP 403 refused: no Origin header/);
  await assert.rejects(connect(good, { Origin: 'http://evil.example' }), /HTTP 403 refused: foreign Origin/);
  await assert.rejects(connect(good, { Origin: `http://127.0.0.1:${Number(hostPort.split(':')[1]) + 1}` }), /HTTP 403 refused: foreign Origin/, 'another port of the same host');
  await assert.rejects(connect(good, { ...ours(), Host: 'rebound.example' }), /HTTP 421/);
  await assert.rejects(connect([WS_PROTOCOL], ours(), `/ws?token=${web.token}`), /HTTP 403 refused: missing token/, 'a query token is not accepted');
});

test('WebSocket with our Origin and the token: the answer names our protocol only, never the token', async () => {
  const ws = await connect(tokenProtocols(web.token), ours());
  assert.equal(ws.protocol, WS_PROTOCOL);
  ws.close();
});

test('WebSocket with the token carries calls, errors and events', async () => {
  const ws = await connect(tokenProtocols(web.token), ours());
  const messages: ServerMessage[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
  const call = (id: number, ch: string, arg?: unknown) => ws.send(JSON.stringify({ t: 'call', id, ch, arg }));
  const reply = async (id: number) => {
    for (let i = 0; i < 100; i++) {
      const m = messages.find((x) => x.t === 'reply' && x.id === id);
      if (m && m.t === 'reply') return m.env;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no reply ${id}`);
  };
  call(1, Channel.listContainers);
  // Locker's own: none yet. (Discovery also lists other engines' containers on this machine, e.g. another test file's.)
  const listed = (await reply(1)) as { result: Array<{ engine?: string }> };
  assert.ok(Array.isArray(listed.result), JSON.stringify(listed));
  assert.deepEqual(listed.result.filter((c) => c.engine === undefined), []);
  call(2, Channel.run, { command: ['/bin/sh'], namespaces: ['pid'], cols: 80, rows: 24, evil: 1 });
  assert.match((await reply(2) as { error: string }).error, /unknown field "evil"/);
  call(3, Channel.run, { command: ['/bin/sh'], namespaces: ['pid'], cols: 80, rows: 24 });
  assert.ok('result' in (await reply(3)));
  assert.ok(messages.some((m) => m.t === 'event' && m.ch === Channel.containers));
  call(4, 'locker:nonsense', {});
  assert.match((await reply(4) as { error: string }).error, /unknown channel/);
  ws.send('not json');
  await new Promise((r) => ws.once('close', r));
});
