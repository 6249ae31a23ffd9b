// `locker ui --web`: prints a URL whose token is in the fragment, binds loopback, the socket refuses
// without the token, warns when on the network, stops on SIGINT.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { Channel } from '../../shared/api';
import { tokenProtocols } from '../../shared/web-auth';
import { sandbox, startCli, until } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

/** 'open', or the HTTP status the upgrade was refused with. */
function socketOutcome(url: URL, protocols: string[]): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${url.host}/ws`, protocols, { headers: { Origin: url.origin } });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.once('error', (e) => resolve(e.message));
  });
}

test('web mode from the CLI', async () => {
  const ui = startCli(sb, ['ui', '--web', '--port', '0']);
  try {
    const url = new URL(await until(() => /Locker web UI: (\S+)/.exec(ui.output())?.[1], 10000));
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(url.search, '', 'nothing secret in what the server sees');
    const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? '';
    assert.ok(token.length >= 32, url.hash);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('set-cookie'), null);
    assert.equal(await socketOutcome(url, tokenProtocols(token)), 'open');
    assert.equal(await socketOutcome(url, []), 'HTTP 403');
    assert.equal(await socketOutcome(url, tokenProtocols('x'.repeat(43))), 'HTTP 403');
  } finally {
    ui.child.kill('SIGINT');
  }
  const done = await ui.done;
  assert.equal(done.code, 0);
  assert.equal(done.err, '', 'no warning on loopback');
});

test('on a network address it warns that Locker is reachable and says the host shell is off', async () => {
  const ui = startCli(sb, ['ui', '--web', '--port', '0', '--host', '0.0.0.0']);
  try {
    await until(() => /Locker web UI: (\S+)/.exec(ui.output())?.[1], 10000);
  } finally {
    ui.child.kill('SIGINT');
  }
  const done = await ui.done;
  assert.equal(done.code, 0);
  assert.match(done.err, /^WARNING: web mode listens on 0\.0\.0\.0, reachable from the network.*host shell pane is off \(add --host-shell/m);
});

test('--port without --web is refused with the fix', () => {
  const r = sb.run(['ui', '--port', '8080']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'locker: --port and --host are for web mode; add --web\n');
});

test('--host-shell with --no-host-shell is refused', () => {
  const r = sb.run(['ui', '--web', '--host-shell', '--no-host-shell']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'locker: --host-shell and --no-host-shell contradict each other; keep one\n');
});

test('--share DIR: the one folder the app\'s volumes may bind from, as hostInfo tells the page', async () => {
  const share = `${sb.dataDir}/class-share`;
  const ui = startCli(sb, ['ui', '--web', '--port', '0', '--share', share]);
  try {
    const url = new URL(await until(() => /Locker web UI: (\S+)/.exec(ui.output())?.[1], 10000));
    const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? '';
    const info = await new Promise<{ shareDir?: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws://${url.host}/ws`, tokenProtocols(token), { headers: { Origin: url.origin } });
      ws.once('open', () => ws.send(JSON.stringify({ t: 'call', id: 1, ch: Channel.hostInfo })));
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { t: string; id?: number; env?: { result?: { shareDir?: string }; error?: string } };
        if (msg.t !== 'reply' || msg.id !== 1) return;
        ws.close();
        if (msg.env?.result) resolve(msg.env.result);
        else reject(new Error(msg.env?.error ?? 'no reply'));
      });
      ws.once('error', reject);
    });
    assert.equal(info.shareDir, share);
  } finally {
    ui.child.kill('SIGINT');
  }
  assert.equal((await ui.done).code, 0);
});

test('--share with an empty folder name is refused with the fix', () => {
  const r = sb.run(['ui', '--web', '--share', '']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^locker: --share needs a folder, e\.g\. --share \/srv\/class\n$/);
});
