// Rootfs sources: the embedded default (busybox or host binaries), directories and tarballs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sandbox } from '../../testing/harness';
import { chooseSource, defaultRootfs } from './default-rootfs';
import { isStaticElf } from './elf';

const sb = sandbox();
after(() => sb.cleanup());
const images = join(sb.dataDir, 'images');

describe('rootfs', () => {
  test('the default comes from static busybox when installed', () => {
    assert.ok(isStaticElf('/bin/busybox'), 'busybox-static is installed (CI installs it)');
    assert.deepEqual(chooseSource({}), { kind: 'busybox', path: '/bin/busybox' });
    const root = defaultRootfs(images, {});
    assert.ok(statSync(join(root, 'bin/busybox')).isFile());
    assert.ok(readdirSync(join(root, 'bin')).includes('sh'));
    assert.equal(defaultRootfs(images, {}), root, 'built once, then cached');
  });

  test('without busybox, host binaries and their libraries make a working rootfs', () => {
    const host = spawnSync(process.execPath, [join(__dirname, '..', '..', 'cli', 'main.js'), 'run', '--', 'sh', '-c', 'echo $$; cat /etc/os-release; ls /lib* >/dev/null && echo libs'],
      { env: { ...sb.env, LOCKER_ROOTFS_SOURCE: 'host' }, encoding: 'utf8', timeout: 60000 });
    assert.equal(host.status, 0, host.stderr);
    const lines = host.stdout.trim().split('\n');
    assert.equal(lines[0], '1');
    assert.match(host.stdout, /host binaries/);
    assert.equal(lines.at(-1), 'libs');
    assert.ok(readdirSync(images).includes('default-host'));
  });

  test('a directory rootfs is used in place and never modified', () => {
    const dir = join(sb.dataDir, 'mydir');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    spawnSync('cp', ['/bin/busybox', join(dir, 'bin/busybox')]);
    spawnSync('ln', ['-s', 'busybox', join(dir, 'bin/sh')]);
    writeFileSync(join(dir, 'marker'), 'mine\n');
    const r = sb.run(['run', '--rootfs', dir, '--', '/bin/sh', '-c', 'cat /marker; echo changed > /marker; /bin/busybox ls /']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^mine\n/);
    assert.match(r.stdout, /proc/);
    assert.equal(spawnSync('cat', [join(dir, 'marker')], { encoding: 'utf8' }).stdout, 'mine\n', 'the image is unchanged');
  });

  test('a tar.gz is imported once and cached', () => {
    const src = defaultRootfs(images, {});
    const tarball = join(sb.dataDir, 'export.tar.gz');
    assert.equal(spawnSync('tar', ['-czf', tarball, '-C', src, '.']).status, 0);
    const first = sb.run(['run', '--rootfs', tarball, '--', 'sh', '-c', 'echo $$; cat /etc/os-release']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^1\n/);
    const cached = readdirSync(images).filter((n) => n.startsWith('tar-'));
    assert.equal(cached.length, 1);
    const mtime = statSync(join(images, cached[0])).mtimeMs;
    assert.equal(sb.run(['run', '--rootfs', tarball, '--', 'true']).status, 0);
    assert.deepEqual(readdirSync(images).filter((n) => n.startsWith('tar-')), cached);
    assert.equal(statSync(join(images, cached[0])).mtimeMs, mtime, 'not extracted again');
  });
});
