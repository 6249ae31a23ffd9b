// Tarball import keeps the image as the tar holds it (issue 9, item 7): modes with setuid, setgid
// and sticky bits, numeric owners, xattrs, hard links and device nodes, under any umask; a rootless
// import says what it could not keep; old damaged imports are not reused; a killed CLI's tar dies.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, runAsUser, sandbox, until, userDataDir } from '../../testing/harness';
import { imagesDir } from '../data-dir';
import { defaultRootfs } from './default-rootfs';
import { isStaleImport, tarballKey } from './tarball';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-import-'));
chmodSync(work, 0o755); // the test user reads the tarball too
const tarball = join(work, 'image.tar');
let xattrs = false;
after(() => {
  sb.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** What the test checks, as busybox stat prints it inside the container. */
const PROBE = 'stat -c "%n %a %u:%g %h %F" /shared /bin/su-test /home/user /hard1 /devnode /usr /etc';

before(() => {
  const src = join(work, 'src');
  cpSync(defaultRootfs(imagesDir(sb.dataDir)), src, { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(src, 'shared'));
  chmodSync(join(src, 'shared'), 0o1777);
  writeFileSync(join(src, 'bin/su-test'), '#!/bin/sh\n');
  chmodSync(join(src, 'bin/su-test'), 0o4755);
  mkdirSync(join(src, 'home/user'), { recursive: true });
  chownSync(join(src, 'home/user'), 1000, 1000);
  chmodSync(join(src, 'home/user'), 0o700);
  mkdirSync(join(src, 'usr'), { recursive: true });
  chmodSync(join(src, 'usr'), 0o755);
  writeFileSync(join(src, 'hard1'), 'linked\n');
  linkSync(join(src, 'hard1'), join(src, 'hard2'));
  assert.equal(spawnSync('mknod', [join(src, 'devnode'), 'c', '1', '3']).status, 0);
  // user.* xattrs where the test filesystem has them (python: no attr tools needed)
  xattrs = spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.locker", b"kept")', join(src, 'hard1')]).status === 0;
  const t = spawnSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-cf', tarball, '-C', src, '.'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  chmodSync(tarball, 0o644);
});

const stats = (out: string): Record<string, string> =>
  Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0], l.split(' ').slice(1).join(' ')]));

/** The CLI under umask 077, as root. */
const runUnderUmask = (args: string[]) =>
  spawnSync('/bin/sh', ['-c', 'umask 077 && exec "$@"', 'sh', CLI, ...args], { env: sb.env, encoding: 'utf8', timeout: 60000 });

describe('tarball import', () => {
  test('as root under umask 077: modes, setuid, sticky, owners, hard links, device nodes, xattrs as the tar holds them', () => {
    const r = runUnderUmask(['run', '--rootfs', tarball, '--', 'sh', '-c', PROBE]);
    assert.equal(r.status, 0, r.stderr);
    const s = stats(r.stdout);
    assert.equal(s['/shared'], '1777 0:0 2 directory');
    assert.equal(s['/bin/su-test'], '4755 0:0 1 regular file');
    assert.equal(s['/home/user'], '700 1000:1000 2 directory');
    assert.match(s['/hard1'], /^644 0:0 2 regular file$/);
    assert.match(s['/devnode'], / character special file$/);
    assert.match(s['/usr'], /^755 0:0 /, 'umask 077 did not reach /usr');
    assert.match(s['/etc'], /^755 0:0 /);
    assert.match(r.stderr, /^locker: imported \S+image\.tar \(\d+\.\d MB\); later runs use the cached copy\n$/, 'one final progress line');
    const image = join(imagesDir(sb.dataDir), tarballKey(tarball), 'rootfs');
    if (xattrs) {
      const x = spawnSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.locker").decode())', join(image, 'hard1')], { encoding: 'utf8' });
      assert.equal(x.stdout.trim(), 'kept', x.stderr);
    }
    assert.equal(statSync(image).mode & 0o7777, 0o755, 'the image root is 0755, not the umask\'s 0700');
  });

  test('rootless under umask 077: modes kept, and one line says which owners and device nodes were lost', () => {
    const data = userDataDir();
    try {
      const r = runAsUser(data, ['run', '--rootfs', tarball, '--', 'sh', '-c', `umask; ${PROBE.replace(' /devnode', '')}; test -e /devnode && echo devnode || echo no-devnode`], { timeoutMs: 60000 });
      assert.equal(r.status, 0, r.stderr);
      const s = stats(r.stdout.split('\n').slice(1).join('\n'));
      assert.equal(s['/shared'], '1777 0:0 2 directory');
      assert.equal(s['/bin/su-test'], '4755 0:0 1 regular file');
      assert.equal(s['/home/user'], '700 0:0 2 directory', 'the owner is lost: it is the caller, root inside');
      assert.match(s['/hard1'], /^644 0:0 2 regular file$/);
      assert.match(r.stdout, /no-devnode/);
      const notes = r.stderr.split('\n').filter((l) => /without root/.test(l));
      assert.equal(notes.length, 1, r.stderr);
      assert.match(notes[0], /^locker: imported \S+ without root: \d+ entries owned by other users \(e\.g\. 1000:1000\) now belong to root inside the container; 1 device nodes were skipped; import as root to keep them$/);
      // cached: the second run imports nothing and says nothing
      const again = runAsUser(data, ['run', '--rootfs', tarball, '--', 'true']);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stderr, '');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('an import made by an older format is not reused, and cleanup removes it', () => {
    const images = imagesDir(sb.dataDir);
    const real = realpathSync(tarball);
    const st = statSync(real);
    const oldKey = 'tar-' + createHash('sha256').update(`${real}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
    assert.ok(isStaleImport(oldKey) && !isStaleImport(tarballKey(tarball)) && !isStaleImport('default-busybox'));
    mkdirSync(join(images, oldKey, 'rootfs', 'bin'), { recursive: true });
    writeFileSync(join(images, oldKey, 'rootfs', 'damaged'), '');
    const r = runUnderUmask(['run', '--rootfs', tarball, '--', 'sh', '-c', 'test -e /damaged && echo damaged || echo fresh']);
    assert.equal(r.stdout.trim(), 'fresh', r.stderr);
    const dry = sb.run(['cleanup', '--dry-run']);
    assert.match(dry.stdout, new RegExp(`would remove image ${oldKey} \\(made by an older import\\)`));
    assert.ok(existsSync(join(images, oldKey)), 'dry run removes nothing');
    const c = sb.run(['cleanup']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`removed image ${oldKey}`));
    assert.deepEqual(readdirSync(images).filter((n) => n.startsWith('tar-')), [tarballKey(tarball)]);
  });

  test('a killed CLI takes its tar along, and recovery removes the partial import', async () => {
    const bigDir = join(work, 'big');
    mkdirSync(bigDir);
    // Big enough that tar is still extracting when the CLI is killed.
    assert.equal(spawnSync('sh', ['-c', `head -c 300000000 /dev/zero > "${bigDir}/zeros" && tar -cf "${work}/big.tar" -C "${bigDir}" .`]).status, 0);
    rmSync(bigDir, { recursive: true });
    const cli = spawn(CLI, ['run', '--rootfs', join(work, 'big.tar'), '--', 'true'], { env: sb.env, stdio: 'ignore' });
    const tarPid = await until(() => childNamed(cli.pid!, 'tar'), 20000);
    cli.kill('SIGKILL');
    await until(() => !existsSync(`/proc/${tarPid}`) || readFileSync(`/proc/${tarPid}/stat`, 'utf8').split(' ')[2] === 'Z', 5000);
    const images = imagesDir(sb.dataDir);
    const c = sb.run(['cleanup', '--dry-run']);
    assert.match(c.stdout, /would remove partial import \.partial-tar-v\d+-/);
    sb.run(['cleanup']);
    assert.deepEqual(readdirSync(images).filter((n) => n.startsWith('.partial-')), []);
    rmSync(join(work, 'big.tar'));
  });
});

/** The pid of a child of parent whose command name is comm. */
function childNamed(parent: number, comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes(`(${comm})`) && Number(fields[1]) === parent) return Number(d);
    } catch {
      // gone
    }
  }
  return undefined;
}
