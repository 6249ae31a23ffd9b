// Docker's default confinement, checked in real containers through the CLI: capabilities with an
// empty inheritable set (CVE-2022-24769), moby's full masked and read-only lists, and a session
// keyring of the container's own. Writes are only ever harmless: the current core_pattern written
// back, `h` (help) to /proc/sysrq-trigger.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { DEFAULT_CAPS, capMask, capNames } from '../runtime/security/capabilities';
import { MASKED_DIRS, MASKED_FILES, READONLY_PATHS } from '../runtime/security/harden';
import { CLI, TEST_USER, cliForTestUser, runAsUser, sandbox, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
const work = mkdtempSync(join(tmpdir(), 'locker-defaults-'));
chmodSync(work, 0o755);
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

type Run = (script: string, extra?: string[]) => ReturnType<typeof sb.run>;
const asRoot: Run = (s, extra = []) => sb.run(['run', ...extra, '--', '/bin/sh', '-c', s]);
const modes: Array<[string, Run]> = [
  ['root', asRoot],
  ['root with a user namespace', (s, extra = []) => asRoot(s, ['--ns', 'pid,uts,mnt,user,ipc,net,cgroup', ...extra])],
  ['rootless', (s, extra = []) => runAsUser(userData, ['run', ...extra, '--', '/bin/sh', '-c', s])],
];

const field = (status: string, name: string): string => {
  const m = new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status);
  assert.ok(m, `${name} in\n${status}`);
  return m[1];
};
const hostShows = (path: string): boolean => {
  try {
    return statSync(path).isDirectory() ? readdirSync(path).length > 0 : readFileSync(path).length > 0;
  } catch {
    return false;
  }
};

for (const [mode, run] of modes) {
  describe(`Docker's defaults, ${mode}`, () => {
    test('CapInh empty; bounding, effective and permitted sets are Docker\'s 14', () => {
      const r = run('cat /proc/self/status');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(field(r.stdout, 'CapInh'), '0000000000000000');
      for (const f of ['CapBnd', 'CapEff', 'CapPrm']) assert.deepEqual(capNames(BigInt('0x' + field(r.stdout, f))), capNames(capMask(DEFAULT_CAPS)), f);
      assert.equal(DEFAULT_CAPS.length, 14);
    });

    test('every masked path the host shows is empty inside (incl. /proc/asound, powercap, thermal_throttle when present)', () => {
      const files = MASKED_FILES.filter(hostShows);
      const dirs = MASKED_DIRS.filter(hostShows);
      assert.ok(files.length + dirs.length >= 2, 'the host shows some masked paths, so the check is real');
      const script = [...files.map((f) => `echo "${f} $(cat ${f} | wc -c)"`), ...dirs.map((d) => `echo "${d} $(ls -A ${d} | wc -l)"`)].join('\n');
      const r = run(script);
      assert.equal(r.status, 0, r.stderr);
      for (const p of [...files, ...dirs]) assert.match(r.stdout, new RegExp(`^${p} 0$`, 'm'), `${p} masked`);
    });

    test('every read-only path (incl. /proc/fs) is mounted read-only', () => {
      const r = run('cat /proc/self/mountinfo');
      assert.equal(r.status, 0, r.stderr);
      for (const p of READONLY_PATHS.filter((x) => existsSync(x))) {
        const line = r.stdout.split('\n').find((l) => l.split(' ')[4] === p);
        assert.ok(line, `${p} is a mount of its own\n${r.stdout}`);
        assert.match(line.split(' ')[5], /^ro,/, line);
      }
      assert.ok(READONLY_PATHS.includes('/proc/fs'));
    });

    test('writing core_pattern (its current value, back) and `h` to /proc/sysrq-trigger fail', () => {
      const hostPattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
      const r = run([
        'v="$(cat /proc/sys/kernel/core_pattern)"; test -n "$v" && echo read-ok',
        'printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern && echo CORE-WRITTEN || echo core-refused',
        'echo h > /proc/sysrq-trigger && echo SYSRQ-WRITTEN || echo sysrq-refused',
      ].join('\n'));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^read-ok$/m);
      assert.match(r.stdout, /^core-refused$/m);
      assert.match(r.stdout, /^sysrq-refused$/m);
      if (mode === 'root') assert.match(r.stderr, /Read-only file system/, 'refused by the read-only mount, not only by permissions');
      assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), hostPattern);
    });
  });
}

/**
 * A static helper: `host CMD…` puts a key in a new session keyring, then execs CMD (the CLI), which
 * a container inherits unless it gets a keyring of its own; `probe` (inside) prints its session
 * keyring's id and whether it finds that key.
 */
function keyringRootfs(): string {
  const root = join(work, 'keyring-rootfs');
  const cp = spawnSync('cp', ['-a', defaultRootfs(imagesDir(sb.dataDir)), root], { encoding: 'utf8' });
  assert.equal(cp.status, 0, cp.stderr);
  const src = join(work, 'keyprobe.c');
  writeFileSync(src, `#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static long kc(int cmd, unsigned long a, unsigned long b, unsigned long c) { return syscall(SYS_keyctl, cmd, a, b, c, 0); }
int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "host") == 0) {
    long ring = kc(KEYCTL_JOIN_SESSION_KEYRING, (unsigned long)"locker-test-session", 0, 0);
    if (ring < 0 || syscall(SYS_add_key, "user", "locker-canary", "host secret", 11, KEY_SPEC_SESSION_KEYRING) < 0) { perror("keyring"); return 2; }
    printf("host-session=%ld\\n", ring);
    fflush(stdout);
    execv(argv[2], argv + 2);
    perror("execv");
    return 2;
  }
  long ring = kc(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0);
  if (ring < 0) printf("session=%s\\n", strerrorname_np(errno)); else printf("session=%ld\\n", ring);
  long key = kc(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (unsigned long)"user", (unsigned long)"locker-canary");
  printf("canary=%s\\n", key >= 0 ? "found" : strerrorname_np(errno));
  return 0;
}
`);
  const cc = spawnSync('cc', ['-static', '-O1', '-o', join(root, 'bin', 'keyprobe'), src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `a static C compiler is needed for the keyring test: ${cc.stderr}`);
  spawnSync('chmod', ['-R', 'a+rX', work]);
  return root;
}

describe('a session keyring of the container\'s own (runc\'s "join session keyring")', () => {
  let rootfs: string | undefined;
  const probe = (asUser: boolean, extra: string[]) => {
    rootfs ??= keyringRootfs();
    const args = ['run', '--rootfs', rootfs, ...extra, '--', '/bin/keyprobe', 'probe'];
    const helper = join(rootfs, 'bin', 'keyprobe');
    const r = asUser
      ? spawnSync('runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${userData}`, 'HOME=/tmp', helper, 'host', cliForTestUser(), ...args], { encoding: 'utf8', cwd: '/tmp', timeout: 20000 })
      : spawnSync(helper, ['host', CLI, ...args], { env: sb.env, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    const host = /^host-session=(\d+)$/m.exec(r.stdout)?.[1];
    assert.ok(host, r.stdout);
    return { out: r.stdout, host };
  };
  const unconfinedKnown = (): boolean => !/unknown option|unknown seccomp/.test(sb.run(['run', '--security-opt', 'seccomp=unconfined', '--', 'true']).stderr);

  for (const asUser of [false, true]) {
    const who = asUser ? 'rootless' : 'root';
    test(`${who}: the container does not find the caller's key`, () => {
      const { out } = probe(asUser, []);
      assert.doesNotMatch(out, /^canary=found$/m);
      assert.match(out, /^canary=E[A-Z]+$/m);
    });

    test(`${who}, seccomp unconfined (keyctl allowed): another keyring, the key is not there`, (t) => {
      if (!unconfinedKnown()) return t.skip('--security-opt seccomp=unconfined is not in this CLI yet');
      const { out, host } = probe(asUser, ['--security-opt', 'seccomp=unconfined']);
      const inside = /^session=(\d+)$/m.exec(out)?.[1];
      assert.ok(inside, `keyctl works without seccomp, so the probe is real:\n${out}`);
      assert.notEqual(inside, host, 'not the caller\'s session keyring');
      assert.match(out, /^canary=ENOKEY$/m);
    });
  }
});
