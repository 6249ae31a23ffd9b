// Hostile images through the real CLI: a rootfs whose /dev, /proc, /sys, /tmp, /etc, /dev/pts or
// /dev/shm is a symlink out (absolute, or a `..` chain), a symlinked workdir, a FIFO or socket where
// a directory should be. Every link points only at a throwaway canary directory, so a regression
// writes there and fails the test instead of touching the machine. For each image: the canary stays
// empty with nothing mounted on it, nothing is left in the data dir, and the launch either gives a
// working container with a real /proc and its masks, or exactly one clear line and a non-zero exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { MASKED_FILES } from '../runtime/security/harden';
import { hostState, runAsUser, sandbox, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
const work = mkdtempSync(join(tmpdir(), 'locker-hostile-'));
chmodSync(work, 0o755);
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** A masked file this host really has and shows (/proc/kcore is absent on some kernels). */
const MASK_PROBE = MASKED_FILES.find((f) => {
  try {
    return readFileSync(f).length > 0;
  } catch {
    return false;
  }
});

interface Image { root: string; canary: string }
type Expect = { works: true; workdir?: string; check?: (out: string, img: Image) => void } | { refused: RegExp; workdir?: string };
/** volume: a host file bound onto that path of the image (-v), its contents shown by the probe. */
interface Case { name: string; make: (img: Image) => void; expect: Expect; volume?: string }

/** A `../../..` chain that, followed on the host from anywhere in the image, reaches the canary. */
const up = (to: string): string => '../'.repeat(16) + to.slice(1);
const replaceWithLink = (img: Image, entry: string, target: string): void => {
  rmSync(join(img.root, entry), { recursive: true, force: true });
  symlinkSync(target, join(img.root, entry));
};
const refusedAs = (path: string, what: string): Expect => ({
  refused: new RegExp(`^locker: the image's ${path} is ${what}.*; Locker mounts .* only on a real directory inside the rootfs: fix the image \\(make ${path} a directory\\)$`),
});

const CASES: Case[] = [
  { name: '/dev -> the canary (absolute)', make: (i) => replaceWithLink(i, 'dev', i.canary), expect: refusedAs('/dev', 'a symlink \\(to "/') },
  { name: '/dev -> ../../.. chain to the canary', make: (i) => replaceWithLink(i, 'dev', up(i.canary)), expect: refusedAs('/dev', 'a symlink \\(to "\\.\\./') },
  { name: '/dev -> / (the root itself)', make: (i) => replaceWithLink(i, 'dev', '/'), expect: refusedAs('/dev', 'a symlink') },
  { name: '/proc -> the canary (absolute)', make: (i) => replaceWithLink(i, 'proc', i.canary), expect: refusedAs('/proc', 'a symlink') },
  { name: '/proc -> ../../.. chain to the canary', make: (i) => replaceWithLink(i, 'proc', up(i.canary)), expect: refusedAs('/proc', 'a symlink') },
  { name: '/sys -> the canary', make: (i) => replaceWithLink(i, 'sys', i.canary), expect: refusedAs('/sys', 'a symlink') },
  { name: '/tmp -> ../../.. chain to the canary', make: (i) => replaceWithLink(i, 'tmp', up(i.canary)), expect: refusedAs('/tmp', 'a symlink') },
  {
    name: '/etc -> the canary: not a mountpoint, resolved inside the root (a dangling link there)',
    make: (i) => replaceWithLink(i, 'etc', i.canary),
    expect: { works: true, check: (out) => assert.match(out, /^etc=absent$/m) },
  },
  { name: '/dev/pts -> the canary: hidden under the fresh /dev', make: (i) => symlinkSync(i.canary, join(i.root, 'dev', 'pts')), expect: { works: true } },
  { name: '/dev/shm -> ../../.. chain: hidden under the fresh /dev', make: (i) => symlinkSync(up(i.canary), join(i.root, 'dev', 'shm')), expect: { works: true } },
  {
    name: '--workdir /w with w -> /etc: the container\'s /etc',
    make: (i) => symlinkSync('/etc', join(i.root, 'w')),
    expect: { works: true, workdir: '/w', check: (out) => assert.match(out, /^cwd=\/etc passwd-lines=2$/m) },
  },
  {
    name: '--workdir /w with w -> the canary (absolute): not in the root, refused',
    make: (i) => symlinkSync(i.canary, join(i.root, 'w')),
    expect: { workdir: '/w', refused: /^locker: --workdir \/w does not exist in the rootfs; pick an existing directory$/ },
  },
  { name: '/proc is a FIFO', make: (i) => { rmSync(join(i.root, 'proc'), { recursive: true }); mkfifo(join(i.root, 'proc')); }, expect: refusedAs('/proc', 'a FIFO') },
  {
    // The target is made with mknodat, never opened: a write open of a FIFO waits for a reader
    // (the setup hung for ever before), and any open of a device node may act (a watchdog starts).
    name: 'a FIFO where -v binds a file: the file is bound over it, no hang',
    make: (i) => mkfifo(join(i.root, 'etc', 'trap')),
    volume: '/etc/trap',
    expect: { works: true, check: (out) => assert.match(out, /^vol=from the host$/m) },
  },
  {
    // /dev/kmsg's numbers (harmless to open): an open of it fails (nodev, the devices cgroup) where
    // it does not do what the device does; never opened, it is simply covered by the bind.
    name: 'a device node where -v binds a file: never opened, the file is bound over it',
    make: (i) => mknodChar(join(i.root, 'etc', 'trap'), 1, 11),
    volume: '/etc/trap',
    expect: { works: true, check: (out) => assert.match(out, /^vol=from the host$/m) },
  },
  {
    // /dev/null's numbers, which the devices cgroup allows: only nodev on the root stops a write.
    name: 'a device node the image ships cannot be opened (the root is nodev in every mode)',
    make: (i) => mknodChar(join(i.root, 'shipped-null'), 1, 3),
    expect: { works: true, check: (out) => assert.match(out, /^shipped=refused$/m) },
  },
  { name: '/tmp is a socket', make: (i) => { rmSync(join(i.root, 'tmp'), { recursive: true }); bindSocket(join(i.root, 'tmp')); }, expect: refusedAs('/tmp', 'a socket') },
  { name: '/sys is a regular file', make: (i) => { rmSync(join(i.root, 'sys'), { recursive: true }); writeFileSync(join(i.root, 'sys'), 'x'); }, expect: refusedAs('/sys', 'a regular file') },
];

function mknodChar(path: string, major: number, minor: number): void {
  const r = spawnSync('mknod', ['-m', '0666', path, 'c', String(major), String(minor)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function bindSocket(path: string): void {
  const r = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python3 makes the socket: ${r.stderr}`);
}

/** A host file for -v, readable by the rootless user too. */
function volumeFile(): string {
  const path = join(work, 'volume.txt');
  writeFileSync(path, 'from the host\n', { mode: 0o644 });
  return path;
}

let base: string | undefined;
let counter = 0;
function makeImage(c: Case): Image {
  base ??= defaultRootfs(imagesDir(sb.dataDir));
  const dir = join(work, String(++counter));
  mkdirSync(dir);
  const img = { root: join(dir, 'rootfs'), canary: join(dir, 'canary') };
  const cp = spawnSync('cp', ['-a', base, img.root], { encoding: 'utf8' });
  assert.equal(cp.status, 0, cp.stderr);
  // World-writable, so that a regression as the rootless user would land here too, not fail on EACCES.
  mkdirSync(img.canary, { mode: 0o777 });
  chmodSync(img.canary, 0o777);
  c.make(img);
  return img;
}

const PROBE = [
  'grep "^Seccomp:" /proc/self/status',
  'grep " /proc " /proc/self/mountinfo',
  MASK_PROBE ? `echo "mask=$(cat ${MASK_PROBE} | wc -c)"` : 'echo mask=0',
  'echo "etc=$(test -e /etc/passwd && echo present || echo absent)"',
  'echo "cwd=$(pwd) passwd-lines=$(cat passwd 2>/dev/null | wc -l)"',
  'if [ -n "$VOL" ]; then echo "vol=$(cat "$VOL")"; fi',
  'if [ -e /shipped-null ]; then { echo x > /shipped-null; } 2>/dev/null && echo shipped=opened || echo shipped=refused; fi',
].join('\n');

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
}

const modes: Array<[string, (args: string[]) => ReturnType<typeof sb.run>, string]> = [
  ['root', (args) => sb.run(args), sb.dataDir],
  ['root with a user namespace', (args) => sb.run([args[0], '--ns', 'pid,uts,mnt,user,ipc,net,cgroup', ...args.slice(1)]), sb.dataDir],
  ['rootless', (args) => runAsUser(userData, args), userData],
];

for (const [mode, run, dataDir] of modes) {
  describe(`hostile images, ${mode}`, () => {
    for (const c of CASES) {
      test(c.name, () => {
        const img = makeImage(c);
        spawnSync('chmod', ['-R', 'a+rX', join(img.root, '..')]);
        const before = hostState(dataDir, work);
        const volume = c.volume ? ['-v', `${volumeFile()}:${c.volume}`, '-e', `VOL=${c.volume}`] : [];
        const args = ['run', '--rootfs', img.root, ...(c.expect.workdir ? ['--workdir', c.expect.workdir] : []), ...volume, '--', '/bin/sh', '-c', PROBE];
        const r = run(args);
        assert.deepEqual(readdirSync(img.canary), [], 'nothing was made in the host directory the link points to');
        assert.deepEqual(mountsUnder(img.canary), [], 'nothing is mounted on the host directory');
        const now = hostState(dataDir, work);
        assert.deepEqual(now.mounts, before.mounts, 'no mount left on the host');
        assert.deepEqual(now.containers, [], 'nothing left in the data dir');
        if ('refused' in c.expect) {
          assert.notEqual(r.status, 0, r.stdout);
          assert.equal(r.stdout, '');
          const lines = r.stderr.split('\n').filter(Boolean);
          assert.equal(lines.length, 1, r.stderr);
          assert.match(lines[0], c.expect.refused);
          return;
        }
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Seccomp:\s+\d$/m, 'a real /proc of the container');
        assert.match(r.stdout, / \/proc .*- proc /, 'procfs on the container\'s /proc');
        assert.match(r.stdout, /^mask=0$/m, `${MASK_PROBE ?? 'masked files'} masked`);
        c.expect.check?.(r.stdout, img);
      });
    }
  });
}

test('the mask probe is real: this host shows a masked file', () => {
  assert.ok(MASK_PROBE, `one of ${MASKED_FILES.join(' ')} is readable on the host`);
});
