// Bound to a wildcard address (a VM forwarding its port to the host): reachable by IP literal with
// the token, never by a name (DNS rebinding), and never without the token.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeRuntime } from '../api/testing';
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

test('a wildcard bind prints a loopback URL and answers IP literals with the token only', async () => {
  const url = new URL(web.url);
  assert.equal(url.hostname, '127.0.0.1');
  const port = url.port;
  const path = `/?token=${web.token}`;
  const ok = await get(path, `127.0.0.1:${port}`);
  assert.equal(ok.status, 200);
  assert.match(ok.csp, new RegExp(`ws://127\\.0\\.0\\.1:${port}`));
  assert.equal((await get(path, `192.0.2.7:${port}`)).status, 200, 'the address a forwarded port arrives on');
  assert.equal((await get(path, `rebind.example:${port}`)).status, 421);
  assert.equal((await get('/', `127.0.0.1:${port}`)).status, 403);
});
