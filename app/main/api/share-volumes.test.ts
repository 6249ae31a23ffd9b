// The app's volumes: a page, a student at the launch form or a lesson binds only what is inside
// the share folder. Outside paths, '..' and symlinks are refused in one line; missing folders
// inside are made; and a real container started through the service sees the shared files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Runtime } from '../runtime/runtime';
import { LockerService } from './service';
import { checkBinds, shareDirFor, volumesInShare } from './share-volumes';

const work = mkdtempSync(join(tmpdir(), 'locker-share-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the share folder: <data dir>/share, or an absolute LOCKER_SHARE_DIR', () => {
  assert.equal(shareDirFor('/var/lib/locker', {}), '/var/lib/locker/share');
  assert.equal(shareDirFor('/d', { LOCKER_SHARE_DIR: '/srv/class/' }), '/srv/class');
  assert.equal(shareDirFor('/d', { LOCKER_SHARE_DIR: 'relative' }), '/d/share');
});

test('sources outside the share, through .., or through a symlink are refused in one line', () => {
  const share = join(work, 'share-a');
  mkdirSync(share);
  symlinkSync('/etc', join(share, 'etc-link'));
  mkdirSync(join(share, 'real'));
  symlinkSync(join(share, 'real'), join(share, 'inner-link'));
  const refused: [string, RegExp][] = [
    ['/etc', /^volume source "\/etc" is outside the share folder .*share-a; from the app, volumes come from there only \(.*locker ui --share DIR.*\)$/],
    [`${share}/../../etc`, /is outside the share folder/],
    [`${share}-sibling`, /is outside the share folder/],
    [`${share}/etc-link`, /etc-link is a symlink; the share folder binds real directories only/],
    [`${share}/etc-link/ssh`, /etc-link is a symlink/],
    [`${share}/inner-link`, /inner-link is a symlink/],
  ];
  for (const [source, message] of refused) {
    assert.throws(() => volumesInShare([{ source, target: '/x', readonly: false }], share), (e: Error) => {
      assert.match(e.message, message);
      assert.ok(!e.message.includes('\n'));
      return true;
    }, source);
  }
  assert.ok(!existsSync('/etc/ssh/x'));
});

test('missing folders inside the share are made; create: false leaves them alone', () => {
  const share = join(work, 'share-b');
  assert.throws(() => volumesInShare([{ source: `${share}/lesson/notes`, target: '/n', readonly: true }], share, { create: false }), /does not exist yet; Run makes it/);
  assert.ok(!existsSync(share));
  const [v] = volumesInShare([{ source: `${share}/lesson/notes`, target: '/n', readonly: true }], share);
  assert.equal(v.source, join(share, 'lesson', 'notes'));
  assert.equal(v.readonly, true);
  assert.ok(existsSync(v.source));
  assert.deepEqual(volumesInShare([], join(work, 'never-made')), []);
  assert.ok(!existsSync(join(work, 'never-made')), 'no volumes: no folder made');
});

const isRoot = process.getuid?.() === 0;
describe('volumes through the service on a real container', { skip: isRoot ? false : 'needs root (a container without a user namespace)' }, () => {
  const dataDir = join(work, 'data');
  const share = join(work, 'class-share');
  const runtime = new Runtime({ dataDir });
  const service = new LockerService(runtime, { shareDir: share });
  after(async () => {
    service.dispose();
    for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
  });
  const run = (volumes: unknown) => service.dispatch('run', { command: ['/bin/sh', '-c', 'echo from-container > /data/inside.txt; exec sleep 30'], namespaces: ['pid', 'mnt'], cols: 80, rows: 24, volumes });

  test('hostInfo names the share folder', async () => {
    assert.equal((await service.hostInfo()).shareDir, share);
  });

  test('a bind of /etc (or anything outside the share) is refused and starts nothing', async () => {
    const before = runtime.list().length;
    for (const source of ['/etc', '/', `${share}/../data`]) {
      const r = await run([{ source, target: '/data' }]);
      assert.ok('error' in r && /outside the share folder|cannot bind over/.test(r.error), JSON.stringify(r));
    }
    assert.equal(runtime.list().length, before);
  });

  test('a bad -v shape from a page is one validation line', async () => {
    const r = await run([{ source: `${share}/x`, target: 'data' }]);
    assert.ok('error' in r && /run\.volumes\[0\]: volume .*the container path must be absolute/.test(r.error), JSON.stringify(r));
    const r2 = await service.dispatch('run', { command: ['/bin/true'], namespaces: ['mnt'], cols: 80, rows: 24, capAdd: ['SYS_ADMN'] });
    assert.ok('error' in r2 && /run\.capAdd: --cap-add "SYS_ADMN": unknown capability/.test(r2.error), JSON.stringify(r2));
  });

  test('a folder inside the share is made, bound, and written through', async () => {
    const r = await run([{ source: `${share}/lesson`, target: '/data' }]);
    assert.ok('result' in r, JSON.stringify(r));
    const file = join(share, 'lesson', 'inside.txt');
    const end = Date.now() + 10_000;
    while (!existsSync(file) && Date.now() < end) await new Promise((res) => setTimeout(res, 100));
    assert.equal(readFileSync(file, 'utf8'), 'from-container\n');
    const { container } = (r as { result: { container: { pid: number } } }).result;
    const [v] = volumesInShare([{ source: `${share}/lesson`, target: '/data', readonly: false }], share);
    assert.equal(checkBinds(container.pid, [v]), undefined);
    // a bind that is not the checked directory is caught after the launch
    writeFileSync(join(share, 'other'), '');
    const [other] = volumesInShare([{ source: `${share}/other`, target: '/data', readonly: false }], share);
    assert.match(checkBinds(container.pid, [other]) ?? '', /^volume \/data is not .*other \(it changed while the container started\)/);
  });

  test('propagation from the API: rslave brings the host\'s later tmpfs into /data; rshared is one validation line', async () => {
    const folder = join(share, 'propagation');
    mkdirSync(join(folder, 'x'), { recursive: true });
    execFileSync('mount', ['--bind', folder, folder]);
    try {
      execFileSync('mount', ['--make-shared', folder]);
      const bad = await run([{ source: folder, target: '/data', propagation: 'rshared' }]);
      assert.ok('error' in bad && /^run\.volumes\[0\]: volume .*rshared is not supported: Locker never sends the container's mounts back to the host; use rslave/.test(bad.error), JSON.stringify(bad));
      const r = await run([{ source: folder, target: '/data', propagation: 'rslave' }]);
      assert.ok('result' in r, JSON.stringify(r));
      const { container } = (r as { result: { container: { pid: number } } }).result;
      const points = (): string[] => readFileSync(`/proc/${container.pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith('/data'));
      assert.deepEqual(points(), ['/data']);
      execFileSync('mount', ['-t', 'tmpfs', 'none', join(folder, 'x')]);
      try {
        assert.deepEqual(points(), ['/data', '/data/x']);
      } finally {
        execFileSync('umount', [join(folder, 'x')]);
      }
      assert.deepEqual(points(), ['/data'], 'the host\'s umount reaches the container too');
    } finally {
      execFileSync('umount', ['-l', folder]);
    }
  });

  test('cap-add from the API reaches the container', async () => {
    const r = await service.dispatch('run', { command: ['/bin/sh', '-c', 'exec sleep 30'], namespaces: ['pid', 'mnt'], cols: 80, rows: 24, capAdd: ['SYS_ADMIN'], capDrop: ['CHOWN'] });
    assert.ok('result' in r, JSON.stringify(r));
    const { container } = (r as { result: { container: { pid: number } } }).result;
    const eff = BigInt(`0x${/^CapEff:\s+(\S+)/m.exec(readFileSync(`/proc/${container.pid}/status`, 'utf8'))![1]}`);
    assert.equal((eff >> 21n) & 1n, 1n, 'CAP_SYS_ADMIN kept');
    assert.equal(eff & 1n, 0n, 'CAP_CHOWN dropped');
  });
});
