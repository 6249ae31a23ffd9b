// --user UID[:GID] (names: conventions.test.ts) for run and exec through the real CLI and kernel: the ids `id` shows, no
// supplementary groups, no effective capabilities for a non-root uid (as docker), the same in
// exec (the container's user by default, -u to change it), one line for bad input, and the
// docker/runc spellings in `locker equivalent`.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { runAsUser, sandbox, testUserUid, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
});

test('run --user 1000:1001: id -u / id -g, no supplementary groups, no effective capabilities, a root-owned file refused', () => {
  const r = sb.run(['run', '--user', '1000:1001', '--', 'sh', '-c', 'id -u; id -g; grep -E "^(Groups|CapEff|CapPrm):" /proc/self/status; touch /etc/x || echo refused']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^1000\n1001\nGroups:\s*\nCapPrm:\s+0+\nCapEff:\s+0+\nrefused\n$/);
});

test('run -u 4242 (gid 0 by default, as docker); with a user namespace too', () => {
  for (const extra of [[], ['--ns', 'pid,uts,mnt,user,ipc,net,cgroup']]) {
    const r = sb.run(['run', ...extra, '-u', '4242', '--', 'sh', '-c', 'id -u; id -g']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '4242\n0\n');
  }
});

test('exec runs as the container\'s --user, and as -u says when given', () => {
  const started = sb.run(['run', '-d', '--user', '1000:1000', '--', 'sleep', '30']);
  assert.equal(started.status, 0, started.stderr);
  const id = started.stdout.trim();
  try {
    const same = sb.run(['exec', id, '--', 'sh', '-c', 'id -u; id -g']);
    assert.equal(same.status, 0, same.stderr);
    assert.equal(same.stdout, '1000\n1000\n');
    const other = sb.run(['exec', '-u', '0:0', id, '--', 'sh', '-c', 'id -u; id -g']);
    assert.equal(other.status, 0, other.stderr);
    assert.equal(other.stdout, '0\n0\n');
    const named = sb.run(['exec', '-u', 'nobody', id, '--', 'sh', '-c', 'id -u; id -g']);
    assert.equal(named.status, 0, named.stderr);
    assert.equal(named.stdout, '65534\n65534\n');
    const bad = sb.run(['exec', '-u', 'ghost', id, '--', 'true']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr, 'locker: --user ghost: no user "ghost" in the image\'s /etc/passwd; name one it has or give a numeric UID\n');
  } finally {
    sb.run(['rm', '-f', id]);
  }
});

test('bad --user: one line each; rootless, an id other than 0 names the uid', () => {
  for (const [args, error] of [
    [['-u', 'ghost'], /^locker: --user ghost: no user "ghost" in the image's \/etc\/passwd; name one it has or give a numeric UID\n$/],
    [['-u', 'root:ghost'], /^locker: --user root:ghost: no group "ghost" in the image's \/etc\/group; name one it has or give a numeric GID\n$/],
    [['-u', '1:2:3'], /^locker: --user "1:2:3": expected UID\[:GID\] or NAME\[:GROUP\]/],
    [['-u', 'a b'], /^locker: --user "a b": not a number or a user\/group name/],
    [['-u', '4294967295'], /^locker: --user "4294967295": ids go up to 4294967294/],
    [['--ns', 'pid,uts,mnt,user,ipc,net,cgroup', '-u', '70000'], /^locker: --user 70000: id 70000 is outside the container's user namespace, which maps ids 0-65535 only/],
  ] as Array<[string[], RegExp]>) {
    const r = sb.run(['run', ...args, '--', 'true']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, error);
  }
  const r = runAsUser(userData, ['run', '-u', '1000', '--', 'true']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `locker: --user 1000: without root only id 0 exists in the container (your uid ${testUserUid()} is mapped to 0 alone); run as root for other ids\n`);
});

test('locker equivalent: --user for docker, process.user in config.json', () => {
  const r = sb.run(['equivalent', '--json', '--user', '1000:1001', '--', 'sh']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as { docker: string; ociConfig: { process: { user: { uid: number; gid: number } } } };
  assert.match(e.docker, / --user 1000:1001 /);
  assert.deepEqual(e.ociConfig.process.user, { uid: 1000, gid: 1001 });
});
