// The same checks as run.test.ts, as an ordinary user: the user namespace maps them to root inside.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runAsUser, testUserUid, userDataDir } from '../testing/harness';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';

const data = userDataDir();
after(() => rmSync(data, { recursive: true, force: true }));
const uid = String(testUserUid());

describe('rootless locker run', () => {
  test('PID 1, root inside, the caller outside, own hostname and root', () => {
    const r = runAsUser(data, ['run', '--hostname', 'rootless', '--', 'sh', '-c', 'echo $$; id -u; hostname; cat /proc/self/uid_map; ls /']);
    assert.equal(r.status, 0, r.stderr);
    const [pid, id, host, map, ...root] = r.stdout.trim().split('\n');
    assert.equal(pid, '1');
    assert.equal(id, '0');
    assert.equal(host, 'rootless');
    assert.deepEqual(map.trim().split(/\s+/), ['0', uid, '1']);
    assert.ok(root.includes('bin') && root.includes('proc') && !root.includes('work'), root.join(' '));
  });

  test('the container can write its own root, never the image', () => {
    const r = runAsUser(data, ['run', '--', 'sh', '-c', 'echo hi > /etc/written && cat /etc/written']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hi');
    const again = runAsUser(data, ['run', '--', 'sh', '-c', 'test -e /etc/written && echo leaked || echo clean']);
    assert.equal(again.stdout.trim(), 'clean');
  });

  test('ps shows only the container, exit codes pass through', () => {
    const r = runAsUser(data, ['run', '--', 'sh', '-c', 'ps -o pid,comm > /tmp/ps; cat /tmp/ps; exit 9']);
    assert.equal(r.status, 9);
    const comms = r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
    assert.deepEqual(comms, ['sh', 'ps']);
  });

  test('dropping the user namespace is refused with the reason', () => {
    const r = runAsUser(data, ['run', '--no-ns', 'user', '--', 'true']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^locker: without root, a container needs the user namespace/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('other namespaces can still be dropped one by one', () => {
    const r = runAsUser(data, ['run', '--no-ns', 'net', '--', 'readlink', '/proc/self/ns/net']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim());
  });

  test('a root-owned directory rootfs with a 0700 /root: one line naming the path and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locker-rootowned-'));
    try {
      chmodSync(dir, 0o755);
      const rootfs = join(dir, 'rootfs');
      assert.equal(spawnSync('cp', ['-a', defaultRootfs(imagesDir(mkdtempSync(join(dir, 'images-')))), rootfs]).status, 0);
      chmodSync(join(rootfs, 'root'), 0o700);
      const r = runAsUser(data, ['run', '--rootfs', rootfs, '--', 'true']);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^locker: the container cannot enter ${rootfs}/root \\(uid 0, mode 0700\\): without root, other users' files are closed to it; chown -R the rootfs`));
      assert.ok(r.stderr.length <= 300, `short: ${r.stderr.length}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('nothing is left in the data dir but the image cache', () => {
    assert.deepEqual(readdirSync(`${data}/containers`), []);
  });
});
