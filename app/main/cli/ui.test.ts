// `locker ui --web`: prints a URL with a token, binds loopback, refuses without the token, stops on SIGINT.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sandbox, startCli, until } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

test('web mode from the CLI', async () => {
  const ui = startCli(sb, ['ui', '--web', '--port', '0']);
  try {
    const url = new URL(await until(() => /Locker web UI: (\S+)/.exec(ui.output())?.[1], 10000));
    assert.equal(url.hostname, '127.0.0.1');
    assert.ok((url.searchParams.get('token') ?? '').length >= 32);
    assert.equal((await fetch(url)).status, 200);
    const noToken = new URL(url);
    noToken.search = '';
    assert.equal((await fetch(noToken)).status, 403);
    const wrong = new URL(url);
    wrong.searchParams.set('token', 'x'.repeat(43));
    assert.equal((await fetch(wrong)).status, 403);
  } finally {
    ui.child.kill('SIGINT');
  }
  assert.equal((await ui.done).code, 0);
});

test('--port without --web is refused with the fix', () => {
  const r = sb.run(['ui', '--port', '8080']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'locker: --port and --host are for web mode; add --web\n');
});
