// `locker oci` against the real kernel and real peers: a runc bundle (busybox rootfs, `runc spec`)
// driven through create → start → state → kill → delete; the same bundle under runc must give the
// same confinement probes; podman runs a container through bin/locker-runtime.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { DEFAULT_CAPS } from '../runtime/security/capabilities';
import { defaultOciSeccomp } from '../runtime/security/seccomp';
import { discoverContainers } from '../runtime/discover';
import { REPO, sandbox, until } from '../testing/harness';

const RUNTIME = join(REPO, 'bin', 'locker-runtime');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sh = (cmd: string, args: string[], timeout = 60000): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });

/** What a container says about its own confinement; the same script for locker oci and runc. */
const PROBE = [
  'echo "pid $$"', 'hostname', 'id -u', 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
  'echo "keys $(wc -c < /proc/keys)"', 'echo "acpi $(ls /proc/acpi | wc -l)"',
  'touch /rootfs-write 2>/dev/null && echo "root rw" || echo "root ro"',
  'echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo "sys rw" || echo "sys ro"',
  'unshare -U true 2>/dev/null && echo "unshare allowed" || echo "unshare denied"',
  'ls /dev | tr "\\n" " "; echo', 'echo done',
].join('; ');

describe('locker oci: an OCI runtime on Locker\'s plan', () => {
  const sb = sandbox();
  const work = mkdtempSync(join(tmpdir(), 'locker-oci-'));
  chmodSync(work, 0o755);
  const cleanups: Array<() => void> = [];
  let rootfs = '';
  let root = join(work, 'state');
  const oci = (args: string[]): SpawnSyncReturns<string> => sh(RUNTIME, ['--root', root, ...args]);

  /** A bundle from `runc spec` with the busybox rootfs, no terminal, read-only root, Docker's seccomp profile. */
  function bundle(args: string[], edit: (c: Record<string, any>) => void = () => undefined): string {
    const dir = mkdtempSync(join(work, 'bundle-'));
    cpSync(rootfs, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    assert.equal(sh('runc', ['spec', '--bundle', dir]).status, 0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.process.terminal = false;
    config.process.args = args;
    config.hostname = 'oci-box';
    config.linux.seccomp = defaultOciSeccomp(DEFAULT_CAPS);
    edit(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }

  /** `create` with the container's stdout and stderr in a file (a pipe would keep spawnSync waiting for the container); `via` runs the runtime through a wrapper (setpriv …). */
  function create(id: string, b: string, extra: string[] = [], via: string[] = []): { out: string; r: SpawnSyncReturns<string> } {
    const out = join(work, `${id}.out`);
    const fd = openSync(out, 'w');
    const [cmd, ...pre] = [...via, RUNTIME];
    try {
      const r = spawnSync(cmd, [...pre, '--root', root, 'create', '--bundle', b, ...extra, id], { encoding: 'utf8', stdio: ['ignore', fd, fd], timeout: 60000 });
      return { out, r: { ...r, stderr: readFileSync(out, 'utf8') } };
    } finally {
      closeSync(fd);
    }
  }
  const status = (id: string): string => JSON.parse(oci(['state', id]).stdout).status;

  before(() => {
    rootfs = defaultRootfs(imagesDir(sb.dataDir));
  });
  after(() => {
    for (const c of cleanups.reverse()) c();
    rmSync(work, { recursive: true, force: true });
    sb.cleanup();
  });

  test('create leaves the init blocked before execve; start runs it; state follows; delete leaves nothing', async (t) => {
    if (!has('runc')) return t.skip('runc is not installed (its `runc spec` makes the bundle)');
    // The default root (/run/locker-oci as root), where discovery looks for locker oci's containers.
    const own = root;
    root = '/run/locker-oci';
    t.after(() => {
      root = own;
    });
    const id = `oci-life-${process.pid}`;
    cleanups.push(() => sh(RUNTIME, ['delete', '--force', id]));
    const b = bundle(['sh', '-c', `${PROBE}; sleep 4`]);
    const { out, r } = create(id, b, ['--pid-file', join(work, 'pidfile')]);
    assert.equal(r.status, 0, r.stderr);
    const state = JSON.parse(oci(['state', id]).stdout);
    assert.equal(state.status, 'created');
    assert.equal(state.ociVersion, '1.0.2');
    assert.equal(state.bundle, b);
    assert.equal(Number(readFileSync(join(work, 'pidfile'), 'utf8')), state.pid);
    // Blocked in the native step: still a copy of the runtime (not busybox), reading exec.fifo, nothing printed.
    assert.notEqual(readlinkSync(`/proc/${state.pid}/exe`), '/bin/busybox');
    assert.doesNotMatch(readlinkSync(`/proc/${state.pid}/exe`), /busybox/);
    assert.equal(readFileSync(`/proc/${state.pid}/wchan`, 'utf8'), 'anon_pipe_read');
    assert.equal(readFileSync(out, 'utf8'), '');
    assert.match(readFileSync(`/proc/${state.pid}/status`, 'utf8'), /NSpid:\s+\d+\s+1\n/);
    // The launch's syscall log is in the state dir, for the app to show.
    const log = readFileSync(join(root, id, 'syscalls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const name of ['clone', 'pivot_root', 'sethostname', 'capset']) assert.ok(log.some((e) => e.name === name), `${name} in the syscall log`);
    assert.ok(discoverContainers().some((c) => c.pid === state.pid && c.engine === 'locker-oci' && c.id === id), 'discovered as locker-oci');

    assert.equal(oci(['start', id]).status, 0);
    await until(() => readFileSync(out, 'utf8').includes('done'), 10000);
    assert.equal(status(id), 'running');
    assert.match(readFileSync(out, 'utf8'), /^pid 1\noci-box\n0\n/);
    assert.match(oci(['start', id]).stderr, /cannot start container .* running/);
    await until(() => status(id) === 'stopped', 10000);
    assert.equal(oci(['delete', id]).status, 0);
    assert.ok(!existsSync(join(root, id)), 'state dir removed');
    assert.ok(!existsSync(`/proc/${state.pid}/exe`) || readFileSync(`/proc/${state.pid}/stat`, 'utf8').includes(') Z'), 'init gone');
    assert.match(oci(['state', id]).stderr, /does not exist/);
  });

  test('kill and delete: a running and a never-started container, cgroup and state removed', async (t) => {
    if (!has('runc')) return t.skip('runc is not installed');
    const b = bundle(['sleep', '60'], (c) => {
      c.linux.resources.pids = { limit: 50 };
    });
    const id = `oci-kill-${process.pid}`;
    cleanups.push(() => oci(['delete', '--force', id]));
    assert.equal(create(id, b).r.status, 0);
    const pid = JSON.parse(oci(['state', id]).stdout).pid;
    assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`locker/${id}`));
    assert.equal(oci(['start', id]).status, 0);
    await until(() => readlinkSync(`/proc/${pid}/exe`).includes('busybox'));
    assert.deepEqual(JSON.parse(oci(['ps', '--format', 'json', id]).stdout), [pid]);
    assert.match(oci(['delete', id]).stderr, /is running/);
    assert.equal(oci(['kill', id, 'KILL']).status, 0);
    await until(() => status(id) === 'stopped');
    assert.equal(oci(['delete', id]).status, 0);
    assert.ok(!existsSync(join(root, id)));
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(id));
    for (const c of ['pids', 'memory']) assert.ok(!existsSync(`/sys/fs/cgroup/${c}/locker/${id}`), `${c} cgroup removed`);

    const never = `oci-never-${process.pid}`;
    cleanups.push(() => oci(['delete', '--force', never]));
    assert.equal(create(never, b).r.status, 0);
    const npid = JSON.parse(oci(['state', never]).stdout).pid;
    // runtime.md: deleting a container that is not stopped is an error (runc deletes a created one anyway).
    assert.match(oci(['delete', never]).stderr, /is created; stop it first/);
    assert.equal(oci(['delete', '--force', never]).status, 0);
    await until(() => !existsSync(`/proc/${npid}/exe`) || readFileSync(`/proc/${npid}/stat`, 'utf8').includes(') Z'));
    assert.equal(oci(['delete', never]).status, 1);
    assert.equal(oci(['delete', '--force', never]).status, 0);
  });

  test('exec: a process in the running container (its PID namespace, user, env, cwd, filter, exit status), --process, --detach, --pid-file', async (t) => {
    if (!has('runc')) return t.skip('runc is not installed');
    const b = bundle(['sleep', '60']);
    const id = `oci-exec-${process.pid}`;
    cleanups.push(() => oci(['delete', '--force', id]));
    assert.equal(create(id, b).r.status, 0);
    assert.equal(oci(['start', id]).status, 0);
    const init = JSON.parse(oci(['state', id]).stdout).pid;
    const probe = 'echo "pid $$ ppid-ns $PPID"; hostname; id -u; id -g; pwd; echo "x=$X"; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/1/cmdline | tr "\\0" " "; echo; exit 3';
    const r = oci(['exec', '--env', 'X=1', '--cwd', '/etc', '--user', '1000:1001', id, 'sh', '-c', probe]);
    assert.equal(r.status, 3, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^pid \d+ ppid-ns 0$/, 'a new PID of the container\'s namespace, its parent outside it');
    assert.notEqual(lines[0], 'pid 1 ppid-ns 0');
    assert.deepEqual(lines.slice(1, 6), ['oci-box', '1000', '1001', '/etc', 'x=1']);
    assert.match(r.stdout, /CapEff:\s+0000000000000000\nNoNewPrivs:\s+1\nSeccomp:\s+2\n/, 'no capabilities as uid 1000; the container\'s no_new_privs and seccomp filter');
    assert.match(r.stdout, /\nsleep 60 \n/, 'sees the container\'s init as PID 1');
    // conmon's way: --process FILE --pid-file F --detach; the process outlives exec, as the runtime's child it was.
    const proc = join(work, 'process.json');
    const out = join(work, 'exec-detached.out');
    writeFileSync(proc, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'sleep 5; echo late'], env: ['PATH=/bin'], cwd: '/', capabilities: {} }));
    const fd = openSync(out, 'w');
    // Both streams to the file: spawnSync would wait for a pipe the detached process still holds.
    const d = spawnSync(RUNTIME, ['--root', root, 'exec', '--process', proc, '--pid-file', join(work, 'exec.pid'), '--detach', id], { stdio: ['ignore', fd, fd], timeout: 60000 });
    closeSync(fd);
    assert.equal(d.status, 0, readFileSync(out, 'utf8'));
    const epid = Number(readFileSync(join(work, 'exec.pid'), 'utf8'));
    assert.equal(readlinkSync(`/proc/${epid}/ns/pid`), readlinkSync(`/proc/${init}/ns/pid`), 'born in the container\'s PID namespace');
    const rootOf = (pid: number): string => { const st = statSync(`/proc/${pid}/root/`); return `${st.dev}:${st.ino}`; };
    assert.equal(rootOf(epid), rootOf(init), 'inside the container\'s root');
    await until(() => readFileSync(out, 'utf8').includes('late'), 20000);
    // Bad input: one line each.
    assert.match(oci(['exec', id]).stderr, /^locker oci: no command given; e\.g\. locker oci exec .* sh \(or --process FILE\)\n$/);
    assert.match(oci(['exec', id, 'nonexistent']).stderr, /^locker oci: exec: "nonexistent": executable file not found in \$PATH/);
    assert.match(oci(['exec', '--tty', id, 'sh']).stderr, /give --console-socket PATH/);
    writeFileSync(proc, JSON.stringify({ args: ['true'], scheduler: {} }));
    assert.match(oci(['exec', '--process', proc, id]).stderr, /process\.json: scheduler is not supported by locker oci/);
    const log = readFileSync(join(root, id, 'syscalls.jsonl'), 'utf8');
    assert.ok(log.includes('"name":"setns"') && log.includes('CLONE_NEWPID'), 'the exec launches are in the container\'s syscall log');
    assert.equal(oci(['kill', id, 'KILL']).status, 0);
    await until(() => status(id) === 'stopped');
    assert.match(oci(['exec', id, 'true']).stderr, /cannot exec in container .* it is stopped/);
    assert.equal(oci(['delete', id]).status, 0);
  });

  test('the same bundle under runc gives the same probes (PID 1, hostname, caps, no_new_privs, seccomp, masks, read-only root)', async (t) => {
    if (!has('runc')) return t.skip('runc is not installed');
    const b = bundle(['sh', '-c', PROBE]);
    const mine = sh(RUNTIME, ['--root', root, 'run', '--bundle', b, `oci-cmp-${process.pid}`]);
    assert.equal(mine.status, 0, mine.stderr);
    const runcRoot = join(work, 'runc-state');
    const theirs = sh('runc', ['--root', runcRoot, 'run', '--bundle', b, `oci-cmp-runc-${process.pid}`]);
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.match(mine.stdout, /Seccomp:\s+2\n/);
    assert.match(mine.stdout, /NoNewPrivs:\s+1\n/);
    assert.match(mine.stdout, /unshare denied/);
    assert.equal(mine.stdout, theirs.stdout);
    assert.ok(!existsSync(join(root, `oci-cmp-${process.pid}`)), 'run deletes the container when it exits');
  });

  test('a terminal: the pty master is sent over --console-socket (SCM_RIGHTS) and the program sees a tty', async (t) => {
    if (!has('runc')) return t.skip('runc is not installed');
    if (!has('python3')) return t.skip('python3 (the console socket receiver) is not installed');
    const sock = join(work, 'console.sock');
    const got = join(work, 'console.out');
    // Receives the fd as conmon would, then reads the terminal until the program is done.
    const receiver = `
import socket, array, os, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print('ready', flush=True)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(4))
fd = array.array('i', anc[0][2])[0]
out = b''
while b'end' not in out:
    try: d = os.read(fd, 4096)
    except OSError: break
    if not d: break
    out += d
open(sys.argv[2], 'wb').write(msg + b'\\n' + out)
`;
    const { spawn } = await import('node:child_process');
    const rec = spawn('python3', ['-c', receiver, sock, got], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => rec.kill('SIGKILL'));
    await new Promise((r) => rec.stdout.once('data', r));
    const b = bundle(['sh', '-c', 'tty; [ -t 0 ] && echo "stdin is a tty"; echo end'], (c) => {
      c.process.terminal = true;
    });
    const id = `oci-tty-${process.pid}`;
    cleanups.push(() => oci(['delete', '--force', id]));
    const r = create(id, b, ['--console-socket', sock]).r;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(oci(['start', id]).status, 0);
    await new Promise((r) => rec.once('exit', r));
    const text = readFileSync(got, 'utf8');
    assert.match(text, /^\/dev\/pts\/\d+\n/, 'the message names the pty, as runc sends it');
    assert.match(text, /\/dev\/console\r?\n/);
    assert.match(text, /stdin is a tty/);
    await until(() => status(id) === 'stopped');
    assert.equal(oci(['delete', id]).status, 0);
  });

  test('unsupported config fields and flags are refused with one line naming them', (t) => {
    if (!has('runc')) return t.skip('runc is not installed');
    const cases: Array<[(c: Record<string, any>) => void, RegExp]> = [
      [(c) => { c.process.scheduler = { policy: 'SCHED_FIFO' }; }, /config\.json: process\.scheduler is not supported/],
      [(c) => { c.linux.intelRdt = {}; }, /config\.json: linux\.intelRdt is not supported/],
      [(c) => { c.hooks = { createContainer: [{ path: '/bin/true' }] }; }, /hooks\.createContainer/],
      [(c) => { c.linux.seccomp.defaultAction = 'SCMP_ACT_LOG'; }, /linux\.seccomp\.defaultAction/],
      [(c) => { c.mounts.push({ destination: '/x', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] }); }, /mounts\[\d+\]\.options "idmap"/],
    ];
    for (const [edit, want] of cases) {
      const b = bundle(['true'], edit);
      const { r } = create(`oci-bad-${process.pid}`, b);
      assert.equal(r.status, 1);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], want);
      assert.ok(!existsSync(join(root, `oci-bad-${process.pid}`)), 'nothing left');
    }
    assert.match(oci(['--systemd-cgroup', 'state', 'x']).stderr, /--systemd-cgroup is not supported/);
    // A property the runtime spec does not define is ignored, as the spec says runtimes MUST, and said in --log.
    const extra = bundle(['true'], (c) => { c.lockerTestExtension = { x: 1 }; });
    const logFile = join(work, 'extension.log');
    const id = `oci-ext-${process.pid}`;
    const made = spawnSync(RUNTIME, ['--root', root, '--log', logFile, 'create', '--bundle', extra, id], { stdio: 'ignore', timeout: 60000 });
    assert.equal(made.status, 0);
    assert.match(readFileSync(logFile, 'utf8'), /config\.json: lockerTestExtension is not a property of the runtime spec: ignored/);
    assert.equal(oci(['delete', '--force', id]).status, 0);
  });

  test('a capability outside the runtime\'s own bounding set is refused by name (create, exec --process), nothing made', (t) => {
    if (!has('runc')) return t.skip('runc is not installed');
    if (!has('setpriv')) return t.skip('setpriv (util-linux) is not installed');
    // The runtime started without CAP_SYS_RESOURCE, as on a host (or in a container) that dropped it.
    const via = ['setpriv', '--bounding-set', '-sys_resource'];
    const id = `oci-nocap-${process.pid}`;
    const asking = bundle(['true'], (c) => { c.process.capabilities.effective.push('CAP_SYS_RESOURCE'); c.process.capabilities.permitted.push('CAP_SYS_RESOURCE'); });
    const { r } = create(id, asking, [], via);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'locker oci: config.json: process.capabilities.effective[3] "CAP_SYS_RESOURCE" cannot be given: it is not in the runtime\'s own bounding set (CapBnd in /proc/self/status), so no process it starts can hold it; remove it from config.json',
    ]);
    assert.ok(!existsSync(join(root, id)), 'nothing left');
    // The same runtime makes the bundle that does not ask for it; exec --process asking for it names the file.
    const plain = bundle(['sleep', '100']);
    assert.equal(create(id, plain, [], via).r.status, 0);
    cleanups.push(() => oci(['delete', '--force', id]));
    const file = join(work, 'nocap-process.json');
    const config = JSON.parse(readFileSync(join(plain, 'config.json'), 'utf8'));
    writeFileSync(file, JSON.stringify({ ...config.process, args: ['true'], capabilities: { ...config.process.capabilities, inheritable: ['CAP_SYS_RESOURCE'] } }));
    const ex = sh(via[0], [...via.slice(1), RUNTIME, '--root', root, 'exec', '--process', file, id]);
    assert.equal(ex.status, 1, ex.stderr);
    assert.equal(ex.stderr, `locker oci: ${file}: capabilities.inheritable[0] "CAP_SYS_RESOURCE" cannot be given: it is not in the runtime's own bounding set (CapBnd in /proc/self/status), so no process it starts can hold it; remove it from ${file}\n`);
    assert.equal(status(id), 'created');
    assert.equal(oci(['delete', '--force', id]).status, 0);
    assert.ok(!existsSync(join(root, id)), 'deleted');
  });

  test('podman --runtime bin/locker-runtime: run --rm prints hi; run -d, ps, stop, rm', async (t) => {
    if (!has('podman')) return t.skip('podman is not installed');
    const store = join(work, 'podman');
    const pm = ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver=vfs', '--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime', RUNTIME];
    // --network none: no CNI bridge or iptables rules on the host; ulimits within this sandbox's hard limits.
    const runOpts = ['--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
    const image = `locker-oci-img-${process.pid}`;
    const name = `locker-oci-pm-${process.pid}`;
    cleanups.push(() => {
      sh('podman', [...pm, 'rm', '-f', '-t', '0', name]);
      sh('podman', [...pm, 'rmi', '-a', '-f']);
      rmSync(store, { recursive: true, force: true });
    });
    const imp = spawnSync('sh', ['-c', `tar -C ${rootfs} -c . | podman ${pm.join(' ')} import - ${image}`], { encoding: 'utf8', timeout: 120000 });
    if (imp.status !== 0) return t.skip(`podman cannot import an image here: ${imp.stderr.trim().split('\n').pop()}`);
    const hi = sh('podman', [...pm, 'run', '--rm', ...runOpts, image, 'echo', 'hi'], 120000);
    assert.equal(hi.stderr.trim().split('\n').filter((l) => /error/i.test(l)).join('\n'), '');
    assert.equal(hi.stdout, 'hi\n');
    const d = sh('podman', [...pm, 'run', '-d', '--name', name, '--hostname', 'pm-oci', ...runOpts, image, 'sleep', '60'], 120000);
    assert.equal(d.status, 0, d.stderr);
    const cid = d.stdout.trim();
    assert.match(sh('podman', [...pm, 'ps']).stdout, new RegExp(`${name}`));
    const state = JSON.parse(sh(RUNTIME, ['state', cid]).stdout);
    assert.equal(state.status, 'running');
    assert.equal(readFileSync(`/proc/${state.pid}/root/etc/hostname`, 'utf8').trim(), 'pm-oci');
    assert.ok(existsSync(`/run/locker-oci/${cid}/syscalls.jsonl`), 'the launch\'s syscall log');
    // podman exec: conmon runs `exec --process F --pid-file P --detach` and reaps the process.
    const ex = sh('podman', [...pm, 'exec', '-u', '1000:1000', '-e', 'X=2', '-w', '/etc', name, 'sh', '-c', 'echo "$(hostname) $(id -u) $X $(pwd)"; exit 4'], 60000);
    assert.equal(ex.stdout, 'pm-oci 1000 2 /etc\n', ex.stderr);
    assert.equal(ex.status, 4, 'the exit status comes back through conmon');
    assert.equal(sh('podman', [...pm, 'exec', name, 'nonexistent'], 60000).status, 127, 'not found: 127, as podman says for runc');
    const detached = sh('podman', [...pm, 'exec', '-d', name, 'sleep', '30'], 60000);
    assert.equal(detached.status, 0, detached.stderr);
    assert.match(sh('podman', [...pm, 'top', name, 'args']).stdout, /sleep 30/);
    assert.equal(sh('podman', [...pm, 'stop', '-t', '1', name], 60000).status, 0);
    assert.match(sh('podman', [...pm, 'ps', '-a']).stdout, new RegExp(`Exited .*${name}`));
    assert.equal(sh('podman', [...pm, 'rm', name]).status, 0);
    assert.ok(!existsSync(`/run/locker-oci/${cid}`), 'podman rm deletes the runtime state');
  });
});
