// Default hardening and escape attempts, through the real CLI, as root and as an ordinary user.
// Every escape below must fail; each test also checks that the attempt was real (the tool ran,
// the capability it needs was present) so a broken test cannot pass by doing nothing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_CAPS, capMask, capNames } from '../runtime/security/capabilities';
import { CLI, REPO, TEST_USER, cliForTestUser, runAsUser, sandbox, startCli, until, userDataDir } from '../testing/harness';
import { openableHostDisk } from '../testing/devices';
import { buildSysprobeRootfs, probeResults } from '../testing/sysprobe';

const sb = sandbox();
const userData = userDataDir();
const work = mkdtempSync(join(tmpdir(), 'locker-security-'));
chmodSync(work, 0o755);
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const DEFAULT_MASK = capMask(DEFAULT_CAPS);
const asRoot = (script: string, extra: string[] = []) => sb.run(['run', ...extra, '--', '/bin/sh', '-c', script]);
const asUser = (script: string, extra: string[] = []) => runAsUser(userData, ['run', ...extra, '--', '/bin/sh', '-c', script]);
const modes: Array<[string, (s: string, extra?: string[]) => ReturnType<typeof asRoot>]> = [
  ['root', asRoot],
  ['root with a user namespace', (s, extra = []) => asRoot(s, ['--ns', 'pid,uts,mnt,user,ipc,net,cgroup', ...extra])],
  ['rootless', asUser],
];

function statusField(text: string, field: string): string {
  const m = new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(text);
  assert.ok(m, `${field} in\n${text}`);
  return m[1];
}

function assertDefaultCaps(status: string): void {
  for (const f of ['CapBnd', 'CapEff', 'CapPrm']) {
    const mask = BigInt('0x' + statusField(status, f));
    assert.deepEqual(capNames(mask), capNames(DEFAULT_MASK), f);
  }
  // Inheritable empty, unlike Docker before CVE-2022-24769.
  assert.equal(statusField(status, 'CapInh'), '0000000000000000');
  assert.equal(statusField(status, 'CapAmb'), '0000000000000000');
  assert.equal(statusField(status, 'NoNewPrivs'), '1');
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A rootfs with busybox, a static escape program and a marker file only the container's root has. */
let escapeRootfs: string | undefined;
function buildEscapeRootfs(): string {
  if (escapeRootfs) return escapeRootfs;
  const root = join(work, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'root', 'mnt', 'etc']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'bin', 'busybox'), readFileSync('/bin/busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'ls', 'cat', 'echo', 'mkdir', 'readlink', 'head', 'mount', 'mknod', 'wc', 'grep', 'chroot', 'test', 'sha256sum', 'stat']) {
    symlinkSync('busybox', join(root, 'bin', a));
  }
  writeFileSync(join(root, 'CONTAINER_MARK'), 'inside\n');
  const src = join(work, 'breakout.c');
  // The classic chroot escape: chroot into a subdirectory while keeping a directory fd outside
  // it, fchdir there, walk up with "..", chroot("."). It works against a plain chroot jail.
  writeFileSync(src, `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  mkdir("/jail", 0755);
  int fd = open("/", O_RDONLY | O_DIRECTORY);
  if (fd < 0 || chroot("/jail") != 0) { perror("chroot jail"); return 2; }
  if (fchdir(fd) != 0) { perror("fchdir"); return 3; }
  for (int i = 0; i < 256; i++) chdir("..");
  if (chroot(".") != 0) { perror("chroot ."); return 4; }
  printf("container-mark=%s\\n", access("/CONTAINER_MARK", F_OK) == 0 ? "present" : "absent");
  printf("host-mark=%s\\n", argc > 1 && access(argv[1], F_OK) == 0 ? "visible" : "hidden");
  return 0;
}
`);
  const cc = spawnSync('cc', ['-static', '-O1', '-o', join(root, 'bin', 'breakout'), src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `a static C compiler is needed for the chroot escape test: ${cc.stderr}`);
  spawnSync('chmod', ['-R', 'a+rX', work]);
  return (escapeRootfs = root);
}

describe('default privileges', () => {
  for (const [mode, run] of modes) {
    test(`${mode}: Docker's default capabilities, bounding set cut, no_new_privs`, () => {
      const r = run('cat /proc/self/status');
      assert.equal(r.status, 0, r.stderr);
      assertDefaultCaps(r.stdout);
      // Without CAP_SYS_ADMIN: no mounts, no hostname change, no unshare.
      const denied = run('mount -t tmpfs none /mnt && echo MOUNTED; hostname evil 2>/dev/null && echo RENAMED; echo end');
      assert.equal(denied.stdout.trim(), 'end', denied.stdout);
    });
  }

  test('the syscall log names every capability dropped', () => {
    const r = sb.run(['run', '--trace', '--', 'true']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /prctl\(PR_CAPBSET_DROP, CAP_SYS_ADMIN\) = 0/);
    assert.match(r.stderr, /prctl\(PR_CAPBSET_DROP, CAP_SYS_MODULE\) = 0/);
    assert.doesNotMatch(r.stderr, /PR_CAPBSET_DROP, CAP_CHOWN\)/);
    assert.match(r.stderr, /capset\(.*eff=0x[0-9a-f]+.*\) = 0/);
    assert.match(r.stderr, /prctl\(PR_SET_NO_NEW_PRIVS, 1\) = 0/);
    // After pivot_root and every mount: they need CAP_SYS_ADMIN.
    const order = ['pivot_root', 'PR_CAPBSET_DROP, CAP_SYS_ADMIN', 'capset', 'PR_SET_NO_NEW_PRIVS', 'execve'];
    const at = order.map((s) => r.stderr.indexOf(s));
    const lastMount = r.stderr.lastIndexOf('] mount(');
    assert.ok(lastMount < at[1], 'all mounts come before the capability drop');
    for (let i = 1; i < at.length - 1; i++) assert.ok(at[i - 1] < at[i], `${order[i - 1]} before ${order[i]}`);
  });

  test('exec: the same capabilities and no_new_privs', async () => {
    const run = startCli(sb, ['run', '--name', 'capexec', '--', 'sh', '-c', 'echo ready; exec sleep 30']);
    await until(() => run.output().includes('ready'));
    const ex = sb.run(['exec', 'capexec', '--', 'cat', '/proc/self/status']);
    assert.equal(ex.status, 0, ex.stderr);
    assertDefaultCaps(ex.stdout);
    assert.equal(sb.run(['rm', '-f', 'capexec']).status, 0);
    await run.done;
  });
});

test('rootless exec: the same capabilities and no_new_privs', async () => {
  const run = spawn('runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${userData}`, 'HOME=/tmp', cliForTestUser(), 'run', '--name', 'rlexec', '--', 'sh', '-c', 'echo ready; exec sleep 30'],
    { cwd: '/tmp', stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  run.stdout!.on('data', (d) => (out += d));
  const done = new Promise((r) => run.once('exit', r));
  try {
    await until(() => out.includes('ready'), 10000);
    const ex = runAsUser(userData, ['exec', 'rlexec', '--', 'cat', '/proc/self/status']);
    assert.equal(ex.status, 0, ex.stderr);
    assertDefaultCaps(ex.stdout);
  } finally {
    runAsUser(userData, ['rm', '-f', 'rlexec']);
    await done;
  }
});

describe('masked and read-only paths', () => {
  const hostHas = (p: string): boolean => existsSync(p);
  for (const [mode, run] of modes) {
    test(`${mode}: kernel files masked, /proc/sys and friends read-only`, () => {
      const script = [
        'for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do test -e $f && echo "$f $(head -c 4096 $f | wc -c)"; done',
        'echo 1 > /proc/sys/kernel/hostname 2>/dev/null && echo sys-writable || echo sys-readonly',
        'test -e /proc/sysrq-trigger && { echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable || echo sysrq-readonly; }',
        'echo acpi=$(ls -A /proc/acpi 2>/dev/null | wc -l) firmware=$(ls -A /sys/firmware 2>/dev/null | wc -l)',
        'grep -E " /proc/(sys|irq|bus|sysrq-trigger) " /proc/self/mountinfo',
      ].join('\n');
      const r = run(script);
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout;
      for (const f of ['/proc/keys', '/proc/timer_list', '/proc/kcore', '/proc/sched_debug', '/proc/latency_stats']) {
        if (hostHas(f)) assert.match(out, new RegExp(`^${f} 0$`, 'm'), `${f} masked`);
      }
      assert.ok(readFileSync('/proc/timer_list').length > 0, 'the host shows /proc/timer_list (the mask hides something)');
      assert.match(out, /^sys-readonly$/m);
      if (hostHas('/proc/sysrq-trigger')) assert.match(out, /^sysrq-readonly$/m);
      assert.match(out, /^acpi=0 firmware=0$/m);
      for (const p of ['/proc/sys', '/proc/irq', '/proc/bus'].filter(hostHas)) {
        assert.match(out, new RegExp(` ${p} ro,nosuid,nodev,noexec`), `${p} read-only`);
      }
    });
  }
});

describe('no fd leaks, no host cwd', () => {
  test('fds the runtime holds (inherited, no O_CLOEXEC) never reach the container', async () => {
    // The CLI gets a host directory at fd 3 and a host file at fd 4 without close-on-exec,
    // as runc got its cgroup dir fd in CVE-2024-21626.
    writeFileSync(join(work, 'secret'), 'host secret\n');
    const dirFd = openSync(work, 'r');
    const fileFd = openSync(join(work, 'secret'), 'r');
    try {
      const runWithFds = (args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn(CLI, args, { env: sb.env, stdio: ['ignore', 'pipe', 'pipe', dirFd, fileFd] });
        let out = '';
        let err = '';
        c.stdout!.on('data', (d) => (out += d));
        c.stderr!.on('data', (d) => (err += d));
        c.on('close', (code) => resolve({ code, out, err }));
      });
      // ls as the container's init: it lists what it got through execve, plus the fd of the
      // directory it reads (3 when nothing else is open).
      const r = await runWithFds(['run', '--', 'ls', '/proc/self/fd']);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.trim().split(/\s+/), ['0', '1', '2', '3']);
      const probe = await runWithFds(['run', '--', 'sh', '-c', 'readlink /proc/self/cwd; cat /proc/self/fd/4 2>/dev/null || echo no-fd4']);
      assert.equal(probe.out, '/root\nno-fd4\n', probe.err);
      // The CVE's trick: a workdir through the leaked fd. The runtime refuses before execve.
      for (const wd of ['/proc/self/fd/3', '/proc/self/fd/4/..']) {
        const bad = await runWithFds(['run', '--workdir', wd, '--', 'sh', '-c', 'echo ESCAPED; ls ../../..']);
        assert.notEqual(bad.code, 0, bad.out);
        assert.doesNotMatch(bad.out, /ESCAPED/);
      }
      const bad = await runWithFds(['run', '--workdir', '/proc/self/fd/3', '--', 'true']);
      // Refused before execve either way: by the runtime's check, or by the native step's chdir.
      assert.match(bad.err, /leads outside the container's root|not a directory|does not exist/i);
    } finally {
      closeSync(dirFd);
      closeSync(fileFd);
    }
  });

  test('exec -w through an inherited fd is refused', async () => {
    const run = startCli(sb, ['run', '--name', 'cwdexec', '--', 'sh', '-c', 'echo ready; exec sleep 30']);
    await until(() => run.output().includes('ready'));
    const dirFd = openSync(work, 'r');
    try {
      const r = spawnSync(CLI, ['exec', '-w', '/proc/self/fd/3', 'cwdexec', '--', 'sh', '-c', 'echo ESCAPED; pwd'], {
        env: sb.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', dirFd],
      });
      assert.notEqual(r.status, 0);
      assert.doesNotMatch(r.stdout, /ESCAPED/);
      const ok = spawnSync(CLI, ['exec', 'cwdexec', '--', 'ls', '/proc/self/fd'], {
        env: sb.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', dirFd],
      });
      assert.equal(ok.status, 0, ok.stderr);
      assert.deepEqual(ok.stdout.trim().split(/\s+/), ['0', '1', '2', '3']);
      const cwd = spawnSync(CLI, ['exec', 'cwdexec', '--', 'readlink', '/proc/self/cwd'], { env: sb.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', dirFd] });
      assert.equal(cwd.stdout, '/root\n', cwd.stderr);
    } finally {
      closeSync(dirFd);
      sb.run(['rm', '-f', 'cwdexec']);
      await run.done;
    }
  });
});

describe('escape attempts fail', () => {
  const hostMark = join(work, 'HOST_ONLY_MARK');
  writeFileSync(hostMark, 'host\n');
  const escapeModes: Array<[string, (s: string) => ReturnType<typeof asRoot>]> = [
    ['root', (s) => asRoot(s, ['--rootfs', buildEscapeRootfs()])],
    ['rootless', (s) => asUser(s, ['--rootfs', buildEscapeRootfs()])],
  ];
  for (const [mode, run] of escapeModes) {
    test(`${mode}: the chroot breakout stays in the container's root`, () => {
      const r = run(`/bin/breakout ${hostMark}; echo rc=$?; ls /`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^rc=0$/m, 'chroot succeeded (CAP_SYS_CHROOT is in the default set): the attempt was real\n' + r.stdout + r.stderr);
      assert.match(r.stdout, /^container-mark=present$/m);
      assert.match(r.stdout, /^host-mark=hidden$/m);
      assert.doesNotMatch(r.stdout, /^(work|usr|home)$/m, 'no host directories at the top');
    });

    test(`${mode}: no host disk: no node, no mount, a node made by hand does not open`, () => {
      const root = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!.split(' ');
      const [maj, min] = root[2].split(':');
      const src = root[root.indexOf('-') + 2];
      const r = run([
        `test -e ${src} && echo node-present || echo node-absent`,
        `mount ${src} /mnt 2>/dev/null && echo MOUNTED || echo mount-refused`,
        `mknod /disk b ${maj} ${min} 2>/dev/null && { head -c 512 /disk > /dev/null 2>&1 && echo READ || echo open-refused; } || echo mknod-refused`,
        `mknod /dev/disk b ${maj} ${min} 2>/dev/null && { head -c 512 /dev/disk > /dev/null 2>&1 && echo READ || echo open-refused; } || echo mknod-refused`,
        'cat /proc/self/mountinfo',
      ].join('\n'));
      assert.equal(r.status, 0, r.stderr);
      if (src.startsWith('/dev/')) assert.match(r.stdout, /^node-absent$/m);
      assert.match(r.stdout, /^mount-refused$/m);
      assert.doesNotMatch(r.stdout, /MOUNTED|READ/);
      // nodev on the root and /dev: a device node made with CAP_MKNOD cannot be opened.
      const mounts = r.stdout.split('\n').filter((l) => / - /.test(l) && ['/', '/dev'].includes(l.split(' ')[4]));
      assert.equal(mounts.length, 2, r.stdout);
      if (mode === 'root') for (const line of mounts) assert.match(line.split(' ')[5], /(^|,)nodev(,|$)/, line);
      // In a user namespace the kernel refuses device nodes outright.
      else assert.doesNotMatch(r.stdout, /open-refused/);
    });

    test(`${mode}: the runtime's binaries cannot be overwritten`, () => {
      const before = [sha(process.execPath), sha(CLI), sha(join(REPO, 'native', 'build', 'libnsexec.so'))];
      const r = run([
        'readlink /proc/self/exe; readlink /proc/1/exe',
        'echo x >> /proc/1/exe 2>/dev/null && echo WROTE-EXE || echo exe-refused',
        `test -e ${process.execPath} && echo node-visible || echo node-hidden`,
        `test -e ${CLI} && echo cli-visible || echo cli-hidden`,
        'echo x > /proc/self/exe 2>/dev/null && echo WROTE-SELF || echo self-refused',
      ].join('\n'));
      assert.equal(r.status, 0, r.stderr);
      const [self, init] = r.stdout.split('\n');
      assert.equal(self, '/bin/busybox');
      assert.equal(init, '/bin/busybox');
      assert.match(r.stdout, /^exe-refused$/m);
      assert.match(r.stdout, /^self-refused$/m);
      assert.match(r.stdout, /^node-hidden$/m);
      assert.match(r.stdout, /^cli-hidden$/m);
      assert.deepEqual([sha(process.execPath), sha(CLI), sha(join(REPO, 'native', 'build', 'libnsexec.so'))], before);
    });
  }

  test('root: no leaked fd to use, /proc/sysrq-trigger and /proc/sys not writable, kernel files masked', () => {
    const r = asRoot([
      'for n in 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do test -e /proc/$$/fd/$n && echo LEAK$n; done',
      'echo h > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ',
      'echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo SYSCTL',
      'cat /proc/keys /proc/timer_list /proc/kcore 2>/dev/null | wc -c',
    ].join('\n'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
  });
});

// The seccomp default profile (Docker's): each row is a syscall an escape or a kernel exploit
// needs, the answer a default container gets, and the answer with --security-opt
// seccomp=unconfined on this kernel, so every row shows that the filter, not something else, said no.
describe('seccomp: Docker\'s default profile', () => {
  let probeRoot = '';
  before(() => {
    probeRoot = buildSysprobeRootfs(work);
  });
  const ioUringOff = readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() !== '0';
  const notEperm = /^(?!EPERM$)/;
  const SECCOMP_ROWS: Array<{ attack: string; probe: string; confined: string; unconfined: RegExp }> = [
    // clone-newuser first: once unshare-user has moved the probe into a new user namespace, a nested one fails anyway.
    { attack: 'nested user namespace through clone(CLONE_NEWUSER)', probe: 'clone-newuser', confined: 'EPERM', unconfined: /^OK$/ },
    { attack: 'nested user namespace (unshare -U -r)', probe: 'unshare-user', confined: 'EPERM', unconfined: /^OK$/ },
    { attack: 'clone3, whose flags a filter cannot read', probe: 'clone3', confined: 'ENOSYS', unconfined: /^OK$/ },
    { attack: 'kernel keyring: keyctl', probe: 'keyctl', confined: 'EPERM', unconfined: /^OK$/ },
    { attack: 'kernel keyring: add_key', probe: 'add_key', confined: 'EPERM', unconfined: /^ENODEV$/ },
    { attack: 'kernel keyring: request_key', probe: 'request_key', confined: 'EPERM', unconfined: /^ENOKEY$/ },
    { attack: 'userfaultfd (wins kernel races)', probe: 'userfaultfd', confined: 'EPERM', unconfined: /^OK$/ },
    { attack: 'io_uring_setup', probe: 'io_uring_setup', confined: 'EPERM', unconfined: ioUringOff ? /^EPERM$/ : /^OK$/ },
    { attack: 'bpf', probe: 'bpf', confined: 'EPERM', unconfined: /^EINVAL$/ },
    { attack: 'perf_event_open', probe: 'perf_event_open', confined: 'EPERM', unconfined: notEperm },
    { attack: 'AF_VSOCK socket (to the hypervisor)', probe: 'vsock', confined: 'EPERM', unconfined: /^(OK|EAFNOSUPPORT)$/ },
    { attack: 'AF_VSOCK with high bits set in the family', probe: 'vsock-high-bits', confined: 'EPERM', unconfined: /^(OK|EAFNOSUPPORT)$/ },
    { attack: 'personality(ADDR_NO_RANDOMIZE): ASLR off', probe: 'personality-aslr-off', confined: 'EPERM', unconfined: /^OK$/ },
    // What programs need keeps working: fork, threads (glibc falls back from clone3 to clone), sockets.
    { attack: '(allowed) clone without namespace flags', probe: 'clone-plain', confined: 'OK', unconfined: /^OK$/ },
    { attack: '(allowed) fork', probe: 'fork', confined: 'OK', unconfined: /^OK$/ },
    { attack: '(allowed) pthread_create', probe: 'pthread', confined: 'OK', unconfined: /^OK$/ },
    { attack: '(allowed) AF_INET socket', probe: 'inet', confined: 'OK', unconfined: /^OK$/ },
    { attack: '(allowed) personality query', probe: 'personality-query', confined: 'OK', unconfined: /^OK$/ },
  ];
  const probes = ['status', ...SECCOMP_ROWS.map((r) => r.probe)];
  const seccompModes: Array<[string, (extra: string[]) => ReturnType<typeof asRoot>]> = [
    ['root', (extra) => sb.run(['run', '--rootfs', probeRoot, ...extra, '--', '/bin/sysprobe', ...probes])],
    ['root with a user namespace', (extra) => sb.run(['run', '--ns', 'pid,uts,mnt,user,ipc,net,cgroup', '--rootfs', probeRoot, ...extra, '--', '/bin/sysprobe', ...probes])],
    ['rootless', (extra) => runAsUser(userData, ['run', '--rootfs', probeRoot, ...extra, '--', '/bin/sysprobe', ...probes])],
  ];
  for (const [mode, run] of seccompModes) {
    test(`${mode}: each row denied by the filter, and allowed (or another answer) without it`, () => {
      const confined = run([]);
      assert.equal(confined.status, 0, confined.stderr);
      const c = probeResults(confined.stdout);
      assert.equal(c.Seccomp, '2', confined.stdout);
      assert.equal(c.Seccomp_filters, '1', confined.stdout);
      const open = run(['--security-opt', 'seccomp=unconfined']);
      assert.equal(open.status, 0, open.stderr);
      const u = probeResults(open.stdout);
      assert.equal(u.Seccomp, '0', open.stdout);
      for (const row of SECCOMP_ROWS) {
        assert.equal(c[row.probe], row.confined, `${row.attack}: ${row.probe} in a default container\n${confined.stdout}`);
        assert.match(u[row.probe] ?? '', row.unconfined, `${row.attack}: ${row.probe} unconfined\n${open.stdout}`);
      }
    });
  }

  for (const [mode, run] of modes) {
    test(`${mode}: ordinary programs still work under the filter`, () => {
      const r = run([
        "grep '^Seccomp:' /proc/self/status",
        'ls / > /dev/null && echo ls-ok',
        'cat /proc/version /proc/self/stat > /dev/null && echo cat-ok',
        'ps > /dev/null && echo ps-ok',
        'command -v bash > /dev/null && { bash -c "echo bash-ok" || echo BASH-FAILED; }',
        'date > /dev/null && id -u && echo x | tr x y && sleep 0 && echo tools-ok',
        'command -v wget > /dev/null && { wget --help > /dev/null 2>&1 && echo wget-ok || echo WGET-FAILED; } || true',
        '(echo sub-ok) & wait',
      ].join('\n'));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Seccomp:\s+2$/m);
      for (const ok of ['ls-ok', 'cat-ok', 'ps-ok', 'tools-ok', 'sub-ok']) assert.match(r.stdout, new RegExp(`^${ok}$`, 'm'), r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /FAILED/);
      const open = run("grep '^Seccomp:' /proc/self/status", ['--security-opt', 'seccomp=unconfined']);
      assert.match(open.stdout, /^Seccomp:\s+0$/m, open.stderr);
    });
  }

  test('the syscall log shows the filter installed after no_new_privs, the last step before execve', () => {
    const r = sb.run(['run', '--trace', '--', 'true']);
    assert.equal(r.status, 0, r.stderr);
    const m = /\[child\] seccomp\(SECCOMP_SET_MODE_FILTER, 0, \{len=(\d+), docker-default: (\d+) allowed, 3 checked by argument, clone3 ENOSYS, EPERM otherwise\}\) = 0/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.ok(Number(m[1]) < 4096 && Number(m[2]) > 250, m[0]);
    const child = r.stderr.split('\n').filter((l) => l.startsWith('[child]'));
    const at = child.findIndex((l) => l.includes('seccomp('));
    assert.match(child[at - 1], /prctl\(PR_SET_NO_NEW_PRIVS, 1\) = 0/);
    assert.ok(child.slice(at + 1).every((l) => l.includes('execve(')), child.slice(at).join('\n'));
    const open = sb.run(['run', '--trace', '--security-opt', 'seccomp=unconfined', '--', 'true']);
    assert.equal(open.status, 0, open.stderr);
    assert.doesNotMatch(open.stderr, /seccomp\(/);
  });

  test('bad --security-opt values get one line naming the fix', () => {
    for (const [opt, line] of [
      ['seccomp=/tmp/profile.json', /^locker: --security-opt seccomp=\/tmp\/profile\.json: profile files are not supported; use seccomp=unconfined/],
      ['seccomp=', /profile files are not supported; use seccomp=unconfined/],
      ['apparmor=unconfined', /^locker: --security-opt "apparmor=unconfined" is not supported; the one Locker knows is seccomp=unconfined/],
    ] as const) {
      const r = sb.run(['run', '--security-opt', opt, '--', 'true']);
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, line);
    }
  });

  for (const [mode, cli, start] of [
    ['root', (args: string[]) => sb.run(args), (args: string[]) => startCli(sb, args)],
    ['rootless', (args: string[]) => runAsUser(userData, args), (args: string[]) => startAsUser(args)],
  ] as const) {
    test(`${mode}: locker exec gets the container's filter (and none in an unconfined one)`, async () => {
      for (const [name, extra, want] of [[`sc-${mode[0]}`, [], '2'], [`scu-${mode[0]}`, ['--security-opt', 'seccomp=unconfined'], '0']] as const) {
        const run = start(['run', '--name', name, '--rootfs', probeRoot, ...extra, '--', '/bin/sysprobe', 'wait']);
        try {
          await until(() => run.output().includes('ready'), 10000);
          const ex = cli(['exec', name, '--', '/bin/sysprobe', 'status', 'unshare-user', 'keyctl', 'clone3', 'fork']);
          assert.equal(ex.status, 0, ex.stderr);
          const e = probeResults(ex.stdout);
          assert.equal(e.Seccomp, want, ex.stdout);
          if (want === '2') assert.deepEqual([e['unshare-user'], e.keyctl, e.clone3, e.fork], ['EPERM', 'EPERM', 'ENOSYS', 'OK'], ex.stdout);
          else assert.equal(e.keyctl, 'OK', ex.stdout);
        } finally {
          cli(['rm', '-f', name]);
          await run.done;
        }
      }
    });
  }
});

/** Starts the CLI as the test user without waiting (rootless exec tests). */
function startAsUser(args: string[]): { done: Promise<unknown>; output(): string } {
  const child = spawn('runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${userData}`, 'HOME=/tmp', cliForTestUser(), ...args],
    { cwd: '/tmp', stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return { done: new Promise((r) => child.once('exit', r)), output: () => out };
}

// exec planned like run (plan.ts buildExecPlan) and the device allowlist (cgroups/devices.ts): each
// row an attack through `locker exec` or a device node, run against a fresh default container as
// root on the real kernel; `check` gets what the probe printed (stdout + stderr) and its status.
describe('exec and device access', () => {
  const disk = openableHostDisk();
  const EXEC_ROWS: Array<{ attack: string; run: string[]; exec: string[]; caller?: string[]; check(out: string, status: number | null, id: string): void }> = [
    {
      attack: 'exec over --pids-limit 5: ten background processes',
      run: ['--pids-limit', '5'],
      exec: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & echo started; done'],
      check(out) {
        const started = out.match(/^started$/gm)?.length ?? 0;
        assert.ok(started >= 1 && started < 10, `${started} started:\n${out}`);
        assert.match(out, /can't fork|Resource temporarily unavailable/);
      },
    },
    {
      attack: 'exec over --memory 32m: 100 MB held by tail',
      run: ['--memory', '32m'],
      exec: ['sh', '-c', 'head -c 100m /dev/zero | tail > /dev/null; echo tail-status=$?'],
      check(out, _status, id) {
        assert.match(out, /^tail-status=137$/m, 'tail is OOM-killed (SIGKILL)\n' + out);
        const oomControl = `/sys/fs/cgroup/memory/locker/${id}/memory.oom_control`; // v1 (this host); v2: memory.events
        if (existsSync(oomControl)) assert.match(readFileSync(oomControl, 'utf8'), /^oom_kill [1-9]/m, 'counted in the container\'s cgroup');
      },
    },
    {
      attack: 'exec outside the container\'s cgroups',
      run: ['--pids-limit', '20'],
      exec: ['sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'],
      check(out, status) {
        assert.equal(status, 0, out);
        const [self, init] = out.split('---\n');
        assert.equal(self, init, 'the same cgroup as init in every hierarchy');
        // In the container's cgroup namespace its cgroup is the root: a process outside shows /.. paths.
        assert.doesNotMatch(self, /\.\./);
        assert.match(self, /:pids:\/\n/);
      },
    },
    {
      attack: 'exec keeps the caller\'s supplementary groups (setpriv --groups 10,20)',
      run: [],
      caller: ['setpriv', '--groups', '10,20'],
      exec: ['grep', '^Groups:', '/proc/self/status'],
      check(out, status) {
        assert.equal(status, 0, out);
        assert.match(out, /^Groups:\s*$/m, out);
      },
    },
    {
      attack: 'mknod a host disk in a default container, then read 1 byte',
      run: [],
      exec: ['sh', '-c', `mknod /tmp/disk b ${disk?.major} ${disk?.minor} && echo MADE; head -c1 /tmp/disk > /dev/null && echo READ; mknod /disk b ${disk?.major} ${disk?.minor} && echo MADE; echo end`],
      check(out) {
        assert.doesNotMatch(out, /MADE|READ/);
        assert.match(out, /mknod: \/tmp\/disk: Operation not permitted/, 'EPERM from the devices cgroup (m is not allowed)\n' + out);
        assert.match(out, /^end$/m);
      },
    },
    {
      attack: 'read 1 byte of a host disk from a container that shares the host\'s /dev (no nodev there)',
      run: ['--no-ns', 'mnt'],
      exec: ['sh', '-c', `head -c1 ${disk?.path} > /dev/null && echo READ; head -c1 /dev/zero | wc -c`],
      check(out) {
        assert.doesNotMatch(out, /READ/);
        assert.match(out, /Operation not permitted/, 'the devices cgroup alone refuses it\n' + out);
        assert.match(out, /^1$/m, '/dev/zero is on the list');
      },
    },
  ];
  for (const row of EXEC_ROWS) {
    test(`root: ${row.attack}`, { skip: disk ? false : 'no block device this process may open' }, async () => {
      const name = `ex${EXEC_ROWS.indexOf(row)}`;
      const run = startCli(sb, ['run', '--name', name, ...row.run, '--', 'sh', '-c', 'echo ready; exec sleep 60']);
      try {
        await until(() => run.output().includes('ready'), 10000);
        const id = JSON.parse(sb.run(['ps', '--json']).stdout).find((c: { name: string }) => c.name === name).id as string;
        const [cmd, ...args] = [...(row.caller ?? []), CLI, 'exec', name, '--', ...row.exec];
        const r = spawnSync(cmd, args, { env: sb.env, encoding: 'utf8', timeout: 20000 });
        row.check(r.stdout + r.stderr, r.status, id);
      } finally {
        sb.run(['rm', '-f', name]);
        await run.done;
      }
    });
  }

  test('root: init loses the caller\'s supplementary groups too', () => {
    const r = spawnSync('setpriv', ['--groups', '10,20', CLI, 'run', '--', 'grep', '^Groups:', '/proc/self/status'], { env: sb.env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Groups:\s*$/m);
    assert.match(spawnSync('setpriv', ['--groups', '10,20', 'grep', '^Groups:', '/proc/self/status'], { encoding: 'utf8' }).stdout, /^Groups:\s*10 20/m, 'the caller has them');
  });
});
