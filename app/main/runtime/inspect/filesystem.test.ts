import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listDirectory } from './filesystem';
import { startUnshare, type TestContainer } from './testing';

function makeRootfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'inspect-rootfs-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'proc'));
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  writeFileSync(join(root, 'etc', 'only-inside'), 'x');
  writeFileSync(join(root, 'file'), 'hello');
  symlinkSync('/', join(root, 'escape'));
  symlinkSync('../../..', join(root, 'up'));
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('/usr/share', join(root, 'hostonly'));
  symlinkSync('/proc/1/root', join(root, 'magic'));
  symlinkSync('../../../../..', join(root, 'sub', 'deeper', 'climb'));
  return root;
}

const names = (l: { entries: { name: string }[] }): string[] => l.entries.map((e) => e.name);

async function withContainer(t: { after: (fn: () => unknown) => void }): Promise<{ root: string; c: TestContainer }> {
  const root = makeRootfs();
  const c = await startUnshare(['--mount', '--pid', '--fork', `--root=${root}`, '--mount-proc=/proc',
    '/bin/busybox', 'sh', '-c', 'echo ready; exec /bin/busybox sleep 30']);
  t.after(async () => {
    await c.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return { root, c };
}

test('host side: sorted dirs first, with types, sizes and link targets as-is', (t) => {
  const root = makeRootfs();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const l = listDirectory('host', 0, root);
  assert.equal(l.side, 'host');
  assert.equal(l.path, root);
  assert.deepEqual(names(l), ['bin', 'etc', 'proc', 'sub', 'abs', 'escape', 'file', 'hostonly', 'magic', 'up']);
  const byName = Object.fromEntries(l.entries.map((e) => [e.name, e]));
  assert.equal(byName.file.type, 'file');
  assert.equal(byName.file.size, 5);
  assert.equal(byName.file.uid, process.getuid!());
  assert.equal(byName.bin.type, 'dir');
  assert.equal(byName.escape.type, 'symlink');
  assert.equal(byName.escape.linkTarget, '/');
  assert.equal(byName.up.linkTarget, '../../..');
  assert.equal(byName.file.linkTarget, undefined);
  assert.equal(byName.file.mode & 0o170000, 0o100000);
  assert.throws(() => listDirectory('host', 0, join(root, 'file')), new RegExp(`^Error: cannot list ${join(root, 'file')} on the host: not a directory$`));
  assert.throws(() => listDirectory('host', 0, join(root, 'nope')), /cannot list .*nope on the host: no such file or directory/);
  assert.throws(() => listDirectory('host', 0, 'relative/path'), /must be absolute/);
  assert.deepEqual([...names(listDirectory('host', 0, '/'))].sort(), readdirSync('/').sort());
});

test('container side: symlinks, .. and magic links never leave the container root', async (t) => {
  const { root, c } = await withContainer(t);
  const rootList = names(listDirectory('container', c.pid, '/'));
  assert.deepEqual(rootList, ['bin', 'etc', 'proc', 'sub', 'abs', 'escape', 'file', 'hostonly', 'magic', 'up']);
  assert.deepEqual(rootList, names(listDirectory('host', 0, root)));
  const hostRoot = names(listDirectory('host', 0, '/'));
  assert.notDeepEqual(rootList, hostRoot);
  for (const p of ['/escape', '/up', '/..', '/../..', '/../../..', 'escape/../..', '/sub/deeper/climb', '/sub/../../..']) {
    assert.deepEqual(names(listDirectory('container', c.pid, p)), rootList, `${p} stays at the container root`);
  }
  assert.deepEqual(names(listDirectory('container', c.pid, '/abs')), ['only-inside']);
  assert.deepEqual(names(listDirectory('container', c.pid, 'etc')), ['only-inside']);
  assert.deepEqual(names(listDirectory('container', c.pid, '/up/etc')), ['only-inside']);
  // /usr/share exists on the host, not in the rootfs
  assert.throws(() => listDirectory('container', c.pid, '/hostonly'), /^Error: cannot list \/hostonly in the container \(pid \d+\): no such file or directory$/);
  // /proc/1/root is a magic link: refused rather than followed
  assert.ok(names(listDirectory('container', c.pid, '/proc/1')).includes('root'));
  assert.throws(() => listDirectory('container', c.pid, '/magic'), /cannot list \/magic in the container \(pid \d+\): too many symlinks, or a magic link/);
  assert.throws(() => listDirectory('container', c.pid, '/proc/1/root'), /cannot list \/proc\/1\/root in the container/);
  assert.throws(() => listDirectory('container', c.pid, '/file'), /cannot list \/file in the container \(pid \d+\): not a directory$/);
  const entries = listDirectory('container', c.pid, '/').entries;
  const escape = entries.find((e) => e.name === 'escape');
  assert.equal(escape?.type, 'symlink');
  assert.equal(escape?.linkTarget, '/');
  assert.equal(entries.find((e) => e.name === 'file')?.size, 5);
  assert.equal(entries.find((e) => e.name === 'bin')?.type, 'dir');
});

test('invalid paths are rejected with one clear line', () => {
  assert.throws(() => listDirectory('container', process.pid, '/a\0b'), /^Error: invalid path: contains a NUL byte$/);
  assert.throws(() => listDirectory('host', 0, '/' + 'a'.repeat(4096)), /^Error: invalid path: longer than 4096 bytes$/);
  assert.throws(() => listDirectory('container', 0x3fffffff, '/'), /cannot list \/ in the container \(pid \d+\): the container process is gone/);
});

test('listing closes every fd it opens', async (t) => {
  const { c } = await withContainer(t);
  const before = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 20; i++) {
    listDirectory('container', c.pid, '/');
    assert.throws(() => listDirectory('container', c.pid, '/nope'));
  }
  assert.equal(readdirSync('/proc/self/fd').length, before);
});
