// Bind propagation through the real CLI and kernel: a tmpfs the host mounts under a bound folder after the
// container started appears inside with -v …:rslave (and --mount bind-propagation=rslave), not with the
// default (rprivate); :ro stays ro on the volume itself while the host's new mount keeps its own flags;
// a folder on a private host mount is refused in one line. Root, and rootless (the test user).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI, TEST_USER, cliForTestUser, hostState, sandbox, until, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
const work = mkdtempSync(join(tmpdir(), 'locker-propagation-'));
chmodSync(work, 0o755);
// the folder a mount of its own, shared (a peer group): what a systemd host's / is; this host's / may be private
const shared = join(work, 'shared');
mkdirSync(shared, { mode: 0o777 });
chmodSync(shared, 0o777);
execFileSync('mount', ['--bind', shared, shared]);
execFileSync('mount', ['--make-shared', shared]);
after(() => {
  for (const m of mountsUnder(work).reverse()) execFileSync('umount', [m]);
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)));
}

interface Mode { name: string; argv: (args: string[]) => [string, string[], NodeJS.ProcessEnv]; dataDir: string }
const MODES: Mode[] = [
  { name: 'root', argv: (a) => [CLI, a, sb.env], dataDir: sb.dataDir },
  { name: 'rootless', argv: (a) => ['runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${userData}`, 'HOME=/tmp', cliForTestUser(), ...a], process.env], dataDir: userData },
];

let counter = 0;
/**
 * Runs a container with `volume` (its folder `dir` under the shared mount); once it is up (it prints
 * ready) the host mounts a tmpfs on dir/x and writes dir/go; the container then prints its mount
 * table lines for /data and tries writes. The host's tmpfs is unmounted before the answer.
 */
async function withHostMount(mode: Mode, flag: string, volume: (dir: string) => string): Promise<{ code: number | null; out: string; err: string }> {
  const dir = join(shared, `v${++counter}`);
  mkdirSync(join(dir, 'x'), { recursive: true, mode: 0o777 });
  chmodSync(dir, 0o777);
  chmodSync(join(dir, 'x'), 0o777);
  const script = 'echo ready; while [ ! -e /data/go ]; do sleep 0.05; done; grep " /data" /proc/self/mountinfo | cut -d" " -f5,6; '
    + 'touch /data/x/in-tmpfs 2>/dev/null && echo tmpfs-writable; touch /data/on-volume 2>/dev/null && echo volume-writable; true';
  const [cmd, args, env] = mode.argv(['run', flag, volume(dir), '--', 'sh', '-c', script]);
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  const ended = { yes: false };
  void done.then(() => (ended.yes = true));
  try {
    await until(() => out.startsWith('ready\n') || ended.yes, 20000);
  } catch (e) {
    child.kill('SIGKILL');
    await done;
    throw e;
  }
  if (ended.yes) return done;
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=777', 'none', join(dir, 'x')]);
  try {
    writeFileSync(join(dir, 'go'), '');
    return await done;
  } finally {
    execFileSync('umount', [join(dir, 'x')]);
  }
}

for (const mode of MODES) {
  describe(`bind propagation, ${mode.name}`, () => {
    test('-v …:rslave: the host\'s later tmpfs appears at /data/x, a slave (master:N), writable; nothing is left', async () => {
      const before = hostState(mode.dataDir);
      const r = await withHostMount(mode, '-v', (dir) => `${dir}:/data:rslave`);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n');
      assert.equal(lines.filter((l) => l.startsWith('/data ')).length, 1, r.out);
      assert.equal(lines.filter((l) => l.startsWith('/data/x ')).length, 1, r.out);
      assert.ok(lines.includes('tmpfs-writable') && lines.includes('volume-writable'), r.out);
      assert.deepEqual(hostState(mode.dataDir), before);
    });

    test('the default (rprivate): the host\'s later tmpfs never reaches /data', async () => {
      const r = await withHostMount(mode, '-v', (dir) => `${dir}:/data`);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.split('\n').filter((l) => l.startsWith('/data')).map((l) => l.split(' ')[0]), ['/data'], r.out);
      // x is the empty directory under the host's tmpfs: the file lands on the folder, not in the tmpfs
      assert.ok(r.out.includes('tmpfs-writable'), r.out);
    });

    test('--mount …,readonly,bind-propagation=rslave: /data stays ro (EROFS), the host\'s tmpfs inside it has its own rw', async () => {
      const r = await withHostMount(mode, '--mount', (dir) => `type=bind,src=${dir},dst=/data,readonly,bind-propagation=rslave`);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n');
      assert.match(lines.find((l) => l.startsWith('/data '))!, /^\/data ro,/, r.out);
      assert.match(lines.find((l) => l.startsWith('/data/x '))!, /^\/data\/x rw,/, r.out);
      assert.ok(lines.includes('tmpfs-writable') && !lines.includes('volume-writable'), r.out);
    });
  });
}

test('rslave on a folder whose host mount is private: one line naming the mount and the fix, no container', () => {
  const dir = join(work, 'private');
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['--bind', dir, dir]);
  execFileSync('mount', ['--make-private', dir]);
  try {
    const before = hostState(sb.dataDir);
    const r = sb.run(['run', '-v', `${dir}:/data:rslave`, '--', 'true']);
    assert.notEqual(r.status, 0);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0], `locker: volume "${dir}" with rslave: the host mount it is on (${dir}) is private, so no mount made on the host could reach the container; make it shared first (mount --make-shared ${dir}, or a mount of the folder's own: mount --bind ${dir} ${dir} && mount --make-shared ${dir}) or drop rslave`);
    assert.deepEqual(hostState(sb.dataDir), before);
  } finally {
    execFileSync('umount', [dir]);
  }
});

test('-v and --mount propagation grammar: shared is refused, an unknown name and two names are one line each', () => {
  for (const [args, pattern] of [
    [['-v', '/tmp:/data:rshared'], /^locker: -v "\/tmp:\/data:rshared": rshared is not supported: Locker never sends the container's mounts back to the host; use rslave/],
    [['-v', '/tmp:/data:rslave,private'], /^locker: -v "\/tmp:\/data:rslave,private": names rslave and private; give one propagation$/],
    [['--mount', 'type=bind,src=/tmp,dst=/data,bind-propagation=slavish'], /^locker: --mount "type=bind,src=\/tmp,dst=\/data,bind-propag…": unknown propagation "slavish"; use rprivate, private, rslave, slave$/],
  ] as const) {
    const r = sb.run(['run', ...args, '--', 'true']);
    assert.notEqual(r.status, 0);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  }
});
