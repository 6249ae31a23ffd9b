// The equivalents must actually run: the unshare line through /bin/sh, the config.json through runc,
// each checked against what `locker run` shows for the same options on the real kernel.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOTFUL_USERNS_BASE } from '../runtime/plan';
import { MASKED_DIRS, MASKED_FILES, READONLY_PATHS } from '../runtime/security/harden';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { validateSpec } from '../runtime/spec';
import { TEST_USER, cliForTestUser, runAsUser, sandbox, userDataDir } from '../testing/harness';
import { equivalentInput, takeJsonFlag } from './command';
import { dockerCommand, equivalents, ociConfig, shellJoin, shellQuote, unshareCommand, type EquivalentInput, type Equivalents } from './equivalent';

const NS = ['pid', 'uts', 'mnt', 'ipc', 'net', 'cgroup'] as const;
const SCRIPT = `echo $$; hostname; ls / | tr '\\n' ' '; echo; id -u; for n in ${NS.join(' ')} user; do readlink /proc/self/ns/$n; done`;

interface Seen { pid: string; hostname: string; root: string[]; uid: string; ns: Record<string, string> }

function parse(out: string): Seen {
  const lines = out.trim().split('\n');
  assert.ok(lines.length >= 4 + NS.length + 1, `unexpected output:\n${out}`);
  const links = lines.slice(4);
  const ns: Record<string, string> = {};
  for (const l of links) ns[l.split(':')[0]] = l;
  return { pid: lines[0], hostname: lines[1], root: lines[2].trim().split(/\s+/).sort(), uid: lines[3], ns };
}

const hostNs = (n: string): string => readlinkSync(`/proc/self/ns/${n}`);

/** What locker run guarantees, checked the same way for every equivalent. */
function assertIsolated(s: Seen, expect: { hostname: string; uid: string; root: string[]; user: boolean }, who = 'locker run'): void {
  assert.equal(s.pid, '1', `${who}: the command is PID 1`);
  assert.equal(s.hostname, expect.hostname, `${who}: hostname`);
  assert.equal(s.uid, expect.uid, `${who}: uid inside`);
  assert.deepEqual(s.root, expect.root, `${who}: ls / shows the rootfs`);
  for (const n of NS) assert.notEqual(s.ns[n], hostNs(n), `${who}: ${n} namespace differs from the host's`);
  if (expect.user) assert.notEqual(s.ns.user, hostNs('user'), `${who}: own user namespace`);
  else assert.equal(s.ns.user, hostNs('user'), `${who}: shares the host user namespace`);
}

/** Runs config.json with runc in a throwaway bundle (a copy of the rootfs) and state dir, then deletes the container. */
function runRunc(config: Equivalents['ociConfig'], rootfs: string, asUser?: string): { status: number | null; stdout: string; stderr: string } {
  const bundle = mkdtempSync(join(tmpdir(), 'locker-runc-'));
  const id = `locker-eq-${process.pid}-${Date.now()}`;
  const state = join(bundle, 'state');
  const user = asUser ? ['runuser', '-u', asUser, '--'] : [];
  try {
    chmodSync(bundle, 0o755);
    const cp = spawnSync('cp', ['-a', rootfs, join(bundle, 'rootfs')], { encoding: 'utf8' });
    assert.equal(cp.status, 0, cp.stderr);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ...config, root: { ...config.root, path: join(bundle, 'rootfs') } }));
    if (asUser) assert.equal(spawnSync('chown', ['-R', asUser, bundle]).status, 0);
    const [cmd, ...args] = [...user, 'runc', '--root', state, 'run', '--bundle', bundle, id];
    const r = spawnSync(cmd, args, { encoding: 'utf8', input: '', timeout: 20000, cwd: '/tmp' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    const runc = (...a: string[]) => spawnSync(user[0] ?? 'runc', [...user.slice(1), ...(user.length ? ['runc'] : []), '--root', state, ...a], { encoding: 'utf8' });
    runc('delete', '--force', id);
    const left = runc('list', '-q').stdout ?? '';
    rmSync(bundle, { recursive: true, force: true });
    assert.ok(!left.includes(id), `runc state for ${id} removed`);
  }
}

describe('shell quoting', () => {
  test('every word survives a real /bin/sh unchanged', () => {
    const words = ['plain', '', 'with space', "it's", '$HOME', '`id`', 'a"b', 'back\\slash', 'new\nline', '*', '-e', 'ü', "''"];
    const r = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${shellJoin(words)}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), words);
  });
  test('safe words stay bare', () => {
    assert.equal(shellQuote('/bin/echo'), '/bin/echo');
    assert.equal(shellQuote('PATH=/a:/b'), 'PATH=/a:/b');
    assert.equal(shellQuote('a b'), "'a b'");
  });
  test('--json is taken from the options only', () => {
    assert.deepEqual(takeJsonFlag(['--hostname', 'x', '--json', '--', 'echo', '--json']), { json: true, rest: ['--hostname', 'x', '--', 'echo', '--json'] });
    assert.deepEqual(takeJsonFlag(['--hostname', '--json', 'echo']), { json: false, rest: ['--hostname', '--json', 'echo'] });
    assert.deepEqual(takeJsonFlag(['echo', '--json']), { json: false, rest: ['echo', '--json'] });
  });
});

describe('equivalents follow the spec', () => {
  const sb0 = sandbox();
  after(() => sb0.cleanup());
  const input = (over: Partial<EquivalentInput> & { ns?: string[]; tty?: boolean }, rootless = false): EquivalentInput => ({
    spec: validateSpec({ command: ['sh', '-c', 'echo hi'], namespaces: over.ns as never, hostname: over.ns && !over.ns.includes('uts') ? undefined : 'demo', env: ['A=b c'], tty: over.tty }, rootless),
    rootfs: '/r', rootless, hostname: 'demo', uid: 1001, gid: 1002, workdir: '/root', ...over,
  });

  test('rootful defaults: all but user, no id maps, docker with private namespaces', () => {
    const e = equivalents(input({}));
    assert.deepEqual(e.ociConfig.linux.namespaces.map((n) => n.type), ['pid', 'uts', 'mount', 'ipc', 'network', 'cgroup']);
    assert.equal(e.ociConfig.linux.uidMappings, undefined);
    assert.equal(e.ociConfig.ociVersion, '1.0.2');
    assert.equal(e.ociConfig.hostname, 'demo');
    assert.deepEqual(e.ociConfig.mounts.map((m) => `${m.destination}:${m.type}`), ['/proc:proc', '/dev:tmpfs', '/dev/pts:devpts', '/dev/shm:tmpfs', '/tmp:tmpfs', '/sys:sysfs']);
    assert.ok(e.unshare.includes(' --pid --fork --mount-proc --uts --mount --ipc --net --cgroup '), e.unshare);
    assert.ok(!e.unshare.includes('--user'), e.unshare);
    assert.match(e.docker, /^docker run --rm -i --hostname demo --network=bridge --cgroupns=private --userns=host --security-opt no-new-privileges -e 'A=b c' -w \/root busybox sh -c 'echo hi'$/);
  });

  test('rootless: caller uid/gid → 0, --map-root-user', () => {
    const e = equivalents(input({}, true));
    assert.deepEqual(e.ociConfig.linux.uidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
    assert.deepEqual(e.ociConfig.linux.gidMappings, [{ containerID: 0, hostID: 1002, size: 1 }]);
    assert.ok(e.unshare.includes('--user --map-root-user'), e.unshare);
    assert.ok(e.docker.includes(' --network=none '), `rootless has loopback only: ${e.docker}`);
  });

  test('without --hostname the host is named like a new container: 12 hex digits, not "locker" or --name', () => {
    const spec = validateSpec({ command: ['sh'], name: 'web', tty: false }, false);
    const i = equivalentInput(spec, false, sb0.dataDir);
    assert.match(i.hostname, /^[0-9a-f]{12}$/);
    assert.equal(ociConfig(i).hostname, i.hostname);
  });

  test('rootful with a user namespace maps 0 → 100000 for 65536 ids', () => {
    const c = ociConfig(input({ ns: ['user', 'mnt', 'pid'] }));
    assert.deepEqual(c.linux.uidMappings, [{ containerID: 0, hostID: ROOTFUL_USERNS_BASE, size: 65536 }]);
    assert.deepEqual(c.linux.gidMappings, [{ containerID: 0, hostID: ROOTFUL_USERNS_BASE, size: 65536 }]);
    // No net namespace inside a user namespace: /sys is bound, as plan.ts does.
    assert.deepEqual(c.mounts.find((m) => m.destination === '/sys')?.type, 'bind');
    assert.equal(c.hostname, undefined, 'no hostname without uts (runc refuses it)');
  });

  test('namespaces left out are shared in docker and absent in unshare/runc', () => {
    const i = input({ ns: ['mnt'], hostname: 'host-name' });
    const d = dockerCommand(i);
    for (const f of ['--uts=host', '--pid=host', '--ipc=host', '--network=host', '--cgroupns=host']) assert.ok(d.includes(f), `${f} in ${d}`);
    const u = unshareCommand(i);
    assert.ok(!/--pid|--uts|--net|--ipc|--cgroup|--mount-proc|hostname/.test(u), u);
    assert.ok(u.includes(' --mount ') && u.includes('--root=/r'), u);
    const c = ociConfig(i);
    assert.deepEqual(c.mounts.find((m) => m.destination === '/proc'), { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] });
  });

  test('limits become linux.resources and docker flags', () => {
    const spec = validateSpec({ command: ['sh'], memory: '64m', cpus: '0.5', pidsLimit: '20' }, false);
    const e = equivalents({ ...input({}), spec });
    assert.deepEqual(e.ociConfig.linux.resources, { memory: { limit: 67108864 }, cpu: { quota: 50000, period: 100000 }, pids: { limit: 20 } });
    assert.ok(e.docker.includes('--memory=67108864b --cpus=0.5 --pids-limit=20'), e.docker);
    assert.ok(e.notes.some((n) => n.startsWith('unshare: no resource limits')));
  });

  test('a tty becomes terminal: true and docker -it', () => {
    const e = equivalents(input({ tty: true }));
    assert.equal(e.ociConfig.process.terminal, true);
    assert.ok(e.docker.startsWith('docker run --rm -it '));
  });
});

describe('the equivalents run and isolate like locker run', () => {
  const sb = sandbox();
  let rootfs = '';
  let locker: Seen;
  let e: Equivalents;
  before(() => {
    rootfs = defaultRootfs(imagesDir(sb.dataDir));
    const r = sb.run(['run', '--no-tty', '--hostname', 'demo', '--', '/bin/sh', '-c', SCRIPT]);
    assert.equal(r.status, 0, r.stderr);
    locker = parse(r.stdout);
    e = equivalents(equivalentInput(validateSpec({ command: ['/bin/sh', '-c', SCRIPT], hostname: 'demo', tty: false }, false), false, sb.dataDir));
  });
  after(() => sb.cleanup());

  test('locker run itself (the reference)', () => {
    assertIsolated(locker, { hostname: 'demo', uid: '0', root: locker.root, user: false });
    assert.ok(locker.root.includes('bin') && !locker.root.includes('work'), locker.root.join(' '));
  });

  test('the unshare command line, run by /bin/sh', () => {
    assert.ok(e.unshare.includes(`--root=${rootfs}`), e.unshare);
    const r = spawnSync('/bin/sh', ['-c', e.unshare], { encoding: 'utf8', input: '', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    assertIsolated(parse(r.stdout), { hostname: 'demo', uid: '0', root: locker.root, user: false }, 'unshare');
  });

  test('the config.json, run by runc', () => {
    assert.equal(e.ociConfig.process.terminal, false);
    const r = runRunc(e.ociConfig, rootfs);
    assert.equal(r.status, 0, r.stderr);
    assertIsolated(parse(r.stdout), { hostname: 'demo', uid: '0', root: locker.root, user: false }, 'runc');
  });

  test('--pids-limit: runc enforces the same limit as locker run', () => {
    const script = 'for i in 1 2 3 4 5 6; do sleep 1 & done; wait; echo done';
    const l = sb.run(['run', '--no-tty', '--pids-limit', '4', '--', 'sh', '-c', script]);
    assert.notEqual(l.status, 0, 'locker refuses the 5th process');
    assert.match(l.stderr, /can't fork/);
    const limited = equivalents(equivalentInput(validateSpec({ command: ['sh', '-c', script], tty: false, pidsLimit: '4', memory: '64m' }, false), false, sb.dataDir));
    assert.deepEqual(limited.ociConfig.linux.resources, { memory: { limit: 64 * 2 ** 20 }, pids: { limit: 4 } });
    const r = runRunc(limited.ociConfig, rootfs);
    assert.equal(r.status, l.status, r.stderr);
    assert.match(r.stderr, /can't fork/);
    const free = equivalents(equivalentInput(validateSpec({ command: ['sh', '-c', script], tty: false }, false), false, sb.dataDir));
    assert.equal(free.ociConfig.linux.resources, undefined);
    const ok = runRunc(free.ociConfig, rootfs);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'done');
  });

  test('runc with the printed config is confined exactly like locker run (capabilities, no_new_privs, seccomp, masks, writable /proc)', () => {
    // `: >> F` opens F for writing and writes nothing (busybox's `[ -w ]` says yes to root without
    // asking the kernel), so a regression can never change a kernel knob.
    const probe = [
      "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
      `for f in ${[...MASKED_FILES].join(' ')}; do [ -e $f ] && stat -c "$f %F %t:%T" $f; done`,
      `for d in ${[...MASKED_DIRS].join(' ')}; do [ -d $d ] && echo "$d $(ls -A $d | wc -l) entries"; done`,
      `for w in ${[...READONLY_PATHS, '/proc/sys/kernel/core_pattern', '/proc/sys/vm/drop_caches'].join(' ')}; do ( : >> $w ) 2>/dev/null && echo "$w writable" || echo "$w read-only"; done`,
    ].join('; ');
    const l = sb.run(['run', '--no-tty', '--', 'sh', '-c', probe]);
    assert.equal(l.status, 0, l.stderr);
    const cfg = equivalents(equivalentInput(validateSpec({ command: ['sh', '-c', probe], tty: false }, false), false, sb.dataDir)).ociConfig;
    const r = runRunc(cfg, rootfs);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, l.stdout, 'runc and locker see the same confinement');
    assert.match(l.stdout, /^CapInh:\s+0+$/m);
    assert.match(l.stdout, /^NoNewPrivs:\s+1$/m);
    assert.match(l.stdout, /^\/proc\/sys\/kernel\/core_pattern read-only$/m);
    assert.match(l.stdout, /^\/proc\/keys character special file 1:3$/m);
    assert.match(l.stdout, /^Seccomp:\s+2$/m);

    // --security-opt seccomp=unconfined: no filter in either, and docker says so too.
    const lu = sb.run(['run', '--no-tty', '--security-opt', 'seccomp=unconfined', '--', 'sh', '-c', probe]);
    assert.equal(lu.status, 0, lu.stderr);
    const eu = equivalents(equivalentInput(validateSpec({ command: ['sh', '-c', probe], tty: false, seccomp: 'unconfined' }, false), false, sb.dataDir));
    assert.equal(eu.ociConfig.linux.seccomp, undefined);
    assert.ok(eu.docker.includes('--security-opt seccomp=unconfined'), eu.docker);
    const ru = runRunc(eu.ociConfig, rootfs);
    assert.equal(ru.status, 0, ru.stderr);
    assert.equal(ru.stdout, lu.stdout);
    assert.match(lu.stdout, /^Seccomp:\s+0$/m);
  });

  test('exit status passes through both', () => {
    const x = equivalents(equivalentInput(validateSpec({ command: ['sh', '-c', 'exit 7'], tty: false }, false), false, sb.dataDir));
    assert.equal(spawnSync('/bin/sh', ['-c', x.unshare], { input: '', timeout: 20000 }).status, 7);
    assert.equal(runRunc(x.ociConfig, rootfs).status, 7);
  });
});

describe('rootless: the equivalents run as an ordinary user', () => {
  let data = '';
  let e: Equivalents;
  let locker: Seen;
  before(() => {
    data = userDataDir();
    const r = runAsUser(data, ['run', '--no-tty', '--hostname', 'demo', '--', '/bin/sh', '-c', SCRIPT]);
    assert.equal(r.status, 0, r.stderr);
    locker = parse(r.stdout);
    // `locker equivalent` as the user (the entry point the CLI registers), from the copy the user can read.
    const mod = join(cliForTestUser(), '..', '..', 'build', 'app', 'main', 'equivalent', 'index.js');
    const js = `require(${JSON.stringify(mod)}).equivalentCommand(process.argv.slice(1)).then((c) => process.exit(c))`;
    const g = spawnSync('runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${data}`, 'HOME=/tmp', process.execPath, '-e', js, '--',
      '--json', '--no-tty', '--hostname', 'demo', '--', '/bin/sh', '-c', SCRIPT], { encoding: 'utf8', cwd: '/tmp', timeout: 20000 });
    assert.equal(g.status, 0, g.stderr);
    e = JSON.parse(g.stdout) as Equivalents;
  });
  after(() => rmSync(data, { recursive: true, force: true }));

  test('locker run as the user: root inside, own user namespace', () => {
    assertIsolated(locker, { hostname: 'demo', uid: '0', root: locker.root, user: true });
  });

  test('the config maps the caller to root', () => {
    const uid = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim();
    assert.deepEqual(e.ociConfig.linux.uidMappings, [{ containerID: 0, hostID: Number(uid), size: 1 }]);
    assert.ok(e.unshare.includes('--user --map-root-user'), e.unshare);
  });

  test('the unshare command line as the user', () => {
    const r = spawnSync('runuser', ['-u', TEST_USER, '--', '/bin/sh', '-c', e.unshare], { encoding: 'utf8', input: '', timeout: 20000, cwd: '/tmp' });
    assert.equal(r.status, 0, r.stderr);
    assertIsolated(parse(r.stdout), { hostname: 'demo', uid: '0', root: locker.root, user: true }, 'rootless unshare');
  });

  test('the config.json with rootless runc', () => {
    const r = runRunc(e.ociConfig, e.ociConfig.root.path, TEST_USER);
    assert.equal(r.status, 0, r.stderr);
    assertIsolated(parse(r.stdout), { hostname: 'demo', uid: '0', root: locker.root, user: true }, 'rootless runc');
  });
});
