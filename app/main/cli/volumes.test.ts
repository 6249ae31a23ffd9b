// Volumes through the real CLI and kernel: -v and --mount bind a host path into the container, a
// write inside is seen on the host, :ro refuses writes (EROFS), a missing or /proc source is one
// line, and an image whose mountpoint's parent is a symlink to a host canary cannot redirect the
// bind there. Rootful, rootful with a user namespace, and rootless (the test user).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { hostState, runAsUser, sandbox, testUserUid, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
const work = mkdtempSync(join(tmpdir(), 'locker-volumes-'));
chmodSync(work, 0o755);
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

let counter = 0;
/** A fresh host directory the container's root (as `mode` runs it) may write to, with one file in it. */
function hostDir(owner: number): string {
  const dir = join(work, `vol-${++counter}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'from-host'), 'hello from the host\n');
  chownSync(dir, owner, owner);
  chownSync(join(dir, 'from-host'), owner, owner);
  return dir;
}

function oneLine(r: SpawnSyncReturns<string>, pattern: RegExp): void {
  assert.notEqual(r.status, 0, r.stdout);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
}

interface Mode { name: string; run: (args: string[]) => SpawnSyncReturns<string>; dataDir: string; owner: () => number }
const MODES: Mode[] = [
  { name: 'root', run: (a) => sb.run(a), dataDir: sb.dataDir, owner: () => 0 },
  // The container's root is uid 100000 on the host (plan.ts ROOTFUL_USERNS_BASE).
  { name: 'root with a user namespace', run: (a) => sb.run([a[0], '--ns', 'pid,uts,mnt,user,ipc,net,cgroup', ...a.slice(1)]), dataDir: sb.dataDir, owner: () => 100000 },
  { name: 'rootless', run: (a) => runAsUser(userData, a), dataDir: userData, owner: testUserUid },
];

for (const mode of MODES) {
  describe(`volumes, ${mode.name}`, () => {
    test('-v HOST:CONTAINER: the host file is read inside, a write inside appears on the host, nothing is left', () => {
      const dir = hostDir(mode.owner());
      const before = hostState(mode.dataDir);
      const r = mode.run(['run', '-v', `${dir}:/data`, '--', 'sh', '-c', 'cat /data/from-host && echo "from the container" > /data/new']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'hello from the host\n');
      assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'from the container\n');
      const now = hostState(mode.dataDir);
      assert.deepEqual(now.mounts, before.mounts, 'no mount left on the host');
      assert.deepEqual(now.containers, [], 'nothing left in the data dir');
    });

    test('-v HOST:/a/nested/dir:ro: made inside the rootfs, writes refused with EROFS, the host untouched', () => {
      const dir = hostDir(mode.owner());
      const r = mode.run(['run', '-v', `${dir}:/srv/a/b:ro`, '--', 'sh', '-c', 'cat /srv/a/b/from-host; echo x > /srv/a/b/from-host; echo "rc=$?"; grep " /srv/a/b " /proc/self/mountinfo']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^hello from the host\nrc=1\n/);
      assert.match(r.stderr, /Read-only file system/);
      assert.match(r.stdout, / \/srv\/a\/b ro[, ]/, 'the bind is mounted read-only');
      assert.equal(readFileSync(join(dir, 'from-host'), 'utf8'), 'hello from the host\n');
    });

    test('--mount type=bind,src=FILE,dst=…,readonly: a file onto a file', () => {
      const dir = hostDir(mode.owner());
      const r = mode.run(['run', '--mount', `type=bind,src=${join(dir, 'from-host')},dst=/etc/greeting,readonly`, '--', 'sh', '-c', 'cat /etc/greeting; echo x >> /etc/greeting || echo refused']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'hello from the host\nrefused\n');
    });

    test('a missing source, or one under /proc: one line naming it, nothing left', () => {
      const before = hostState(mode.dataDir);
      oneLine(mode.run(['run', '-v', `${work}/not-there:/data`, '--', 'true']), /^locker: volume source ".*\/not-there" does not exist on the host; create it first/);
      oneLine(mode.run(['run', '-v', '/proc/self:/data', '--', 'true']), /^locker: volume source "\/proc\/self" is under \/proc, the kernel's own interface/);
      oneLine(mode.run(['run', '-v', '/sys/kernel:/data', '--', 'true']), /^locker: volume source "\/sys\/kernel" is under \/sys/);
      assert.deepEqual(hostState(mode.dataDir).containers, before.containers);
    });

    for (const [what, link] of [['absolute', (c: string) => c], ['a ../../.. chain', (c: string) => '../'.repeat(16) + c.slice(1)]] as const) {
      test(`a hostile image: the destination's parent is a symlink (${what}) to a host canary: refused, the canary untouched`, () => {
        const dir = hostDir(mode.owner());
        const img = join(work, `img-${++counter}`);
        mkdirSync(img);
        const root = join(img, 'rootfs');
        const canary = join(img, 'canary');
        const cp = spawnSync('cp', ['-a', defaultRootfs(imagesDir(sb.dataDir)), root], { encoding: 'utf8' });
        assert.equal(cp.status, 0, cp.stderr);
        // World-writable, so a regression as the rootless user would land here too, not fail on EACCES.
        mkdirSync(canary, { mode: 0o777 });
        chmodSync(canary, 0o777);
        symlinkSync(link(canary), join(root, 'srv'));
        spawnSync('chmod', ['-R', 'a+rX', img]);
        const before = hostState(mode.dataDir);
        const r = mode.run(['run', '--rootfs', root, '-v', `${dir}:/srv/data`, '--', 'sh', '-c', 'echo pwned > /srv/data/x']);
        assert.deepEqual(readdirSync(canary), [], 'nothing made in the directory the link points to');
        assert.deepEqual(mountsUnder(canary), [], 'nothing mounted on the canary');
        assert.deepEqual(readdirSync(dir), ['from-host'], 'the volume was not written through the link either');
        oneLine(r, /^locker: the image's \/srv is a symlink \(to ".*"\); Locker mounts a filesystem only on a real directory inside the rootfs: fix the image/);
        const now = hostState(mode.dataDir);
        assert.deepEqual(now.mounts, before.mounts, 'no mount left on the host');
        assert.deepEqual(now.containers, [], 'nothing left in the data dir');
      });
    }
  });
}

test('rootless: a source the user cannot read is refused, naming the uid', () => {
  const dir = hostDir(0);
  chmodSync(dir, 0o700);
  oneLine(runAsUser(userData, ['run', '-v', `${dir}:/data`, '--', 'true']), new RegExp(`^locker: volume source ".*" is not readable by uid ${testUserUid()}, who runs this container; bind a path that user can read$`));
});

test('-v and --mount grammar: bad spellings are one line each', () => {
  oneLine(sb.run(['run', '-v', 'data:/data', '--', 'true']), /^locker: -v "data:\/data": the host path must be absolute \(named volumes are not supported\)/);
  oneLine(sb.run(['run', '-v', `${work}:data`, '--', 'true']), /^locker: -v ".*": the container path must be absolute/);
  oneLine(sb.run(['run', '-v', `${work}:/data:zz`, '--', 'true']), /^locker: -v ".*": unknown option "zz"; Locker knows ro, rw and a propagation \(rprivate, private, rslave, slave\)$/);
  oneLine(sb.run(['run', '--mount', `type=volume,src=x,dst=/d`, '--', 'true']), /^locker: --mount ".*": only type=bind is supported/);
  oneLine(sb.run(['run', '--mount', `type=bind,src=${work},dst=/d,colour=red`, '--', 'true']), /^locker: --mount ".*": unknown field "colour"/);
  oneLine(sb.run(['run', '--no-ns', 'mnt', '-v', `${work}:/d`, '--', 'true']), /^locker: -v\/--mount needs the mnt namespace/);
});

test('locker equivalent: -v for docker, a bind mount in config.json, a note for unshare', () => {
  const r = sb.run(['equivalent', '--json', '-v', `${work}:/data:ro`, '--mount', `type=bind,src=${work},dst=/rw`, '--', 'sh']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as { docker: string; ociConfig: { mounts: Array<{ destination: string; type: string; source: string; options: string[] }> }; notes: string[] };
  assert.match(e.docker, new RegExp(` -v ${work}:/data:ro -v ${work}:/rw `));
  assert.deepEqual(e.ociConfig.mounts.slice(-2), [
    { destination: '/data', type: 'bind', source: work, options: ['rbind', 'ro'] },
    { destination: '/rw', type: 'bind', source: work, options: ['rbind', 'rw'] },
  ]);
  assert.ok(e.notes.some((n) => n.startsWith('unshare: no bind option')), e.notes.join('\n'));
});
