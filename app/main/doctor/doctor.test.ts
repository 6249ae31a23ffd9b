// locker doctor against this machine's real state (as root and as an ordinary user), plus the
// judging functions fed states this machine does not have.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { detect } from '../runtime/cgroups';
import { TEST_USER, cliForTestUser } from '../testing/harness';
import {
  busyboxCheck, cgroupCheck, isInitialUidMap, kernelCheck, overlayListedCheck, privilegeCheck, runChecks, usernsSysctlCheck, type Check,
} from './checks';
import { doctorExitCode, formatChecks } from './command';
import { judgeNetwork } from './network';

const byId = (checks: Check[], id: string): Check => {
  const c = checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} present`);
  return c;
};

/** The cgroup version as /proc/self/mountinfo says, read here without the runtime's code. */
function expectedCgroupVersion(): string {
  const types = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' - ')[1]?.split(' ')[0]);
  const v2 = types.includes('cgroup2');
  const v1 = types.includes('cgroup');
  return v2 && v1 ? 'hybrid' : v2 ? 'v2' : v1 ? 'v1' : 'none';
}

const overlayLeftovers = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('.doctor-overlay-')) : []);
const mounts = (): string => readFileSync('/proc/self/mountinfo', 'utf8');

const DOCTOR_JS = (mod: string): string =>
  `require(${JSON.stringify(mod)}).doctorCommand(process.argv.slice(1)).then((c) => process.exit(c))`;

describe('judging', () => {
  test('kernel versions', () => {
    assert.equal(kernelCheck('5.4.0-150-generic').status, 'fail');
    assert.equal(kernelCheck('5.10.0-28-amd64').status, 'warn');
    assert.equal(kernelCheck('5.11.0').status, 'ok');
    assert.equal(kernelCheck('6.1.0-18-amd64').status, 'ok');
    assert.equal(kernelCheck('nonsense').status, 'warn');
  });

  test('user namespace sysctls: fatal when rootless, a warning as root', () => {
    assert.equal(usernsSysctlCheck({ maxUserNamespaces: '0' }, true).status, 'fail');
    assert.equal(usernsSysctlCheck({ maxUserNamespaces: '0' }, false).status, 'warn');
    assert.match(usernsSysctlCheck({ maxUserNamespaces: '0' }, true).fix ?? '', /max_user_namespaces=/);
    assert.equal(usernsSysctlCheck({ maxUserNamespaces: '100', unprivilegedUsernsClone: '0' }, true).status, 'fail');
    assert.equal(usernsSysctlCheck({ maxUserNamespaces: '100', unprivilegedUsernsClone: '0' }, false).status, 'ok');
    const aa = usernsSysctlCheck({ maxUserNamespaces: '100', apparmorRestrict: '1' }, true);
    assert.equal(aa.status, 'fail');
    assert.match(aa.fix ?? '', /apparmor_restrict_unprivileged_userns=0/);
    assert.equal(usernsSysctlCheck({ maxUserNamespaces: '100', apparmorRestrict: '0' }, true).status, 'ok');
  });

  test('privileges: root, root inside a user namespace, an ordinary user', () => {
    assert.equal(isInitialUidMap('         0          0 4294967295\n'), true);
    assert.equal(isInitialUidMap('0 1000 1\n'), false);
    assert.equal(privilegeCheck(0, '0 0 4294967295').status, 'ok');
    assert.equal(privilegeCheck(0, '0 1000 1').status, 'warn');
    assert.match(privilegeCheck(1000, '0 1000 1').detail, /rootless/);
  });

  test('cgroups: a rootless v2 host without delegation warns with the systemd fix', () => {
    const layout = detect({
      mountinfo: '30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n',
      selfCgroup: '0::/user.slice/user-1000.slice/session-1.scope\n',
      uid: 1000,
      writable: () => false,
    });
    const c = cgroupCheck(layout);
    assert.equal(c.status, 'warn');
    assert.match(c.detail, /^v2 /);
    assert.match(c.fix ?? '', /Delegate=yes/);
    const none = cgroupCheck(detect({ mountinfo: '', selfCgroup: '', uid: 0, writable: () => true }));
    assert.equal(none.status, 'warn');
  });

  test('overlay in /proc/filesystems, busybox source', () => {
    assert.equal(overlayListedCheck('nodev\tproc\nnodev\toverlay\n').status, 'ok');
    assert.equal(overlayListedCheck('nodev\tproc\nnodev\toverlayfake\n').status, 'warn');
    assert.equal(busyboxCheck({ kind: 'host' }).status, 'warn');
    assert.equal(busyboxCheck({ kind: 'busybox', path: '/bin/busybox' }).status, 'ok');
  });

  test('table with fix lines, exit code 1 only on a failure', () => {
    const checks: Check[] = [
      { id: 'a', title: 'A', status: 'ok', detail: 'fine', fix: 'never shown' },
      { id: 'b', title: 'B', status: 'warn', detail: 'meh', fix: 'do b' },
    ];
    assert.equal(doctorExitCode(checks), 0);
    const text = formatChecks(checks);
    assert.match(text, /^STATUS +CHECK +DETAIL/);
    assert.match(text, /fix: do b/);
    assert.ok(!text.includes('never shown'));
    checks.push({ id: 'c', title: 'C', status: 'fail', detail: 'broken', fix: 'do c' });
    assert.equal(doctorExitCode(checks), 1);
    assert.match(formatChecks(checks), /FAIL +C +broken\n +fix: do c/);
  });
});

describe('this machine, as root', () => {
  test('every check against the real system', () => {
    const before = mounts();
    const checks = runChecks();
    assert.deepEqual(checks.map((c) => c.id), ['privileges', 'userns-sysctl', 'userns-probe', 'cgroups', 'overlay-listed', 'overlay-probe', 'kernel', 'busybox', 'network']);
    assert.equal(byId(checks, 'privileges').status, 'ok');
    assert.match(byId(checks, 'privileges').detail, /running as root/);
    assert.equal(byId(checks, 'userns-probe').status, 'ok', byId(checks, 'userns-probe').detail);
    const cg = byId(checks, 'cgroups');
    assert.ok(cg.detail.startsWith(expectedCgroupVersion() + ' '), cg.detail);
    assert.equal(cg.status, 'ok', cg.detail);
    assert.equal(byId(checks, 'overlay-probe').status, 'ok', byId(checks, 'overlay-probe').detail);
    assert.equal(byId(checks, 'kernel').status, 'ok');
    const busyboxInstalled = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'busybox-static'], { encoding: 'utf8' }).stdout.includes('install ok installed');
    assert.equal(byId(checks, 'busybox').status, busyboxInstalled ? 'ok' : 'warn');
    // The overlay probe mounted in its own namespace only, and removed its directories.
    assert.equal(mounts(), before);
    assert.deepEqual(overlayLeftovers(tmpdir()), []);
  });

  test('the command: table by default, JSON with --json, exit 0', () => {
    const js = DOCTOR_JS(join(__dirname, 'index.js'));
    const table = spawnSync(process.execPath, ['-e', js], { encoding: 'utf8', timeout: 20000 });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^STATUS +CHECK +DETAIL\n/);
    assert.match(table.stdout, /\nok +overlayfs probe +mounted overlay/);
    const json = spawnSync(process.execPath, ['-e', js, '--', '--json'], { encoding: 'utf8', timeout: 20000 });
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; checks: Check[] };
    assert.equal(parsed.ok, true);
    assert.equal(parsed.checks.length, 9);
    const bad = spawnSync(process.execPath, ['-e', js, '--', '--bogus'], { encoding: 'utf8', timeout: 20000 });
    assert.notEqual(bad.status, 0);
  });

  test('with user namespaces disabled the probe really fails (a nested namespace with max_user_namespaces=0)', () => {
    const js = DOCTOR_JS(join(__dirname, 'index.js'));
    const r = spawnSync('unshare', ['--user', '--map-root-user', '/bin/sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" -e "$1" -- --json', process.execPath, js],
      { encoding: 'utf8', timeout: 20000, cwd: '/tmp' });
    const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
    assert.equal(byId(parsed.checks, 'privileges').status, 'warn', 'uid 0 inside a user namespace is noticed');
    assert.equal(byId(parsed.checks, 'userns-sysctl').status, 'warn');
    const probe = byId(parsed.checks, 'userns-probe');
    assert.equal(probe.status, 'warn');
    assert.match(probe.detail, /clone\(CLONE_NEWUSER.*ENOSPC/);
  });
});

describe('this machine, as an ordinary user', () => {
  test('rootless: user namespaces and overlay work, cgroup limits are judged', () => {
    const mod = join(cliForTestUser(), '..', '..', 'build', 'app', 'main', 'doctor', 'index.js');
    const before = overlayLeftovers('/tmp');
    const r = spawnSync('runuser', ['-u', TEST_USER, '--', 'env', 'HOME=/tmp', process.execPath, '-e', DOCTOR_JS(mod), '--', '--json'],
      { encoding: 'utf8', timeout: 20000, cwd: '/tmp' });
    const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(parsed.ok, true);
    const uid = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim();
    assert.match(byId(parsed.checks, 'privileges').detail, new RegExp(`uid ${uid} \\(rootless\\)`));
    assert.equal(byId(parsed.checks, 'userns-sysctl').status, 'ok');
    assert.equal(byId(parsed.checks, 'userns-probe').status, 'ok', byId(parsed.checks, 'userns-probe').detail);
    const op = byId(parsed.checks, 'overlay-probe');
    assert.equal(op.status, 'ok', op.detail);
    assert.match(op.detail, /inside a user namespace/);
    const cg = byId(parsed.checks, 'cgroups');
    const version = expectedCgroupVersion();
    assert.ok(cg.detail.startsWith(version + ' '), cg.detail);
    // cgroup v1 hierarchies are never delegated to a user: limits are unavailable, a warning not a failure.
    if (version === 'hybrid' || version === 'v1') {
      assert.equal(cg.status, 'warn', cg.detail);
      assert.match(cg.detail, /v1 cannot be delegated/);
    }
    assert.deepEqual(overlayLeftovers('/tmp'), before);
  });
});

describe('network check', () => {
  test('rootless: pasta usable is ok; a closed /dev/net/tun or no pasta is a warning with the fix', () => {
    assert.equal(judgeNetwork(true, { pasta: '/usr/bin/pasta' }, undefined, '/sbin/ip').status, 'ok');
    const tun = judgeNetwork(true, { pasta: '/usr/bin/pasta', tunProblem: '/dev/net/tun is not readable and writable by uid 1000' }, undefined, '/sbin/ip');
    assert.equal(tun.status, 'warn');
    assert.match(tun.detail, /loopback only: pasta is installed but \/dev\/net\/tun/);
    assert.match(tun.fix ?? '', /chmod 0666 \/dev\/net\/tun/);
    assert.match(judgeNetwork(true, {}, undefined, '/sbin/ip').fix ?? '', /apt install passt/);
    // a rootless container's interfaces are listed by `ip` through nsenter
    const noIp = judgeNetwork(true, { pasta: '/usr/bin/pasta' }, undefined, undefined);
    assert.equal(noIp.status, 'warn');
    assert.match(noIp.detail, /without `ip` the side-by-side view cannot list a container's interfaces$/);
    assert.equal(noIp.fix, 'apt install iproute2');
  });
  test('root: nft and ip present is ok; without nft no NAT and no -p', () => {
    assert.equal(judgeNetwork(false, {}, '/usr/sbin/nft', '/sbin/ip').status, 'ok');
    assert.match(judgeNetwork(false, {}, undefined, '/sbin/ip').fix ?? '', /apt install nftables/);
    // interfaces are netlink dumps as root: no `ip` needed
    assert.equal(judgeNetwork(false, {}, '/usr/sbin/nft', undefined).status, 'ok');
  });
});
