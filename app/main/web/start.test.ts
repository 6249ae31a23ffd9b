import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Channel, type ServerMessage } from '../../shared/api';
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

const t = () => `token=${web.token}`;

test('binds loopback and prints a URL with a long random token', () => {
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
});

test('serves the page with the token, with CSP, MIME type and a cookie for assets', async () => {
  const r = await get(`/?${t()}`);
  assert.equal(r.status, 200);
  assert.match(r.body, /<title>Locker/);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
  assert.doesNotMatch(String(r.headers['content-security-policy']), /unsafe-eval/);
  const cookie = String(r.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const js = await get('/assets/app.js', { Cookie: cookie.split(';')[0] });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await get(`/assets/app.css?${t()}`)).headers['content-type'], 'text/css; charset=utf-8');
});

test('refuses requests without the token or with a wrong one', async () => {
  assert.equal((await get('/')).status, 403);
  assert.equal((await get('/assets/app.js')).status, 403);
  assert.equal((await get('/?token=wrong')).status, 403);
  assert.equal((await get(`/?token=${web.token}x`)).status, 403);
  assert.equal((await get('/', { Cookie: 'locker_token=wrong' })).status, 403);
});

test('refuses a foreign Origin and a Host other than the bound one (DNS rebinding)', async () => {
  assert.equal((await get(`/?${t()}`, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await get(`/?${t()}`, { Origin: `http://${hostPort}` })).status, 200);
  assert.equal((await get(`/?${t()}`, { Host: 'evil.example' })).status, 421);
  assert.equal((await get(`/?${t()}`, { Host: `localhost:${hostPort.split(':')[1]}` })).status, 421);
});

test('never serves files outside the root', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/escape.txt', '/%00', '/..%5csecret.txt']) {
    const r = await get(`${path}?${t()}`);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /do not serve/);
  }
});

test('only GET and HEAD', async () => {
  assert.equal((await get(`/?${t()}`, {}, 'POST')).status, 405);
  const head = await get(`/?${t()}`, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

function connect(query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${hostPort}/ws${query}`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('WebSocket refuses a missing or wrong token and a foreign Origin', async () => {
  await assert.rejects(connect(''), /HTTP 403/);
  await assert.rejects(connect('?token=nope'), /HTTP 403/);
  await assert.rejects(connect(`?${t()}`, { Origin: 'http://evil.example' }), /HTTP 403/);
  await assert.rejects(connect(`?${t()}`, { Host: 'rebound.example' }), /HTTP 421/);
});

test('WebSocket with the token carries calls, errors and events', async () => {
  const ws = await connect(`?${t()}`, { Origin: `http://${hostPort}` });
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
  assert.deepEqual(await reply(1), { result: [] });
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
