// Discovery against real engines: containers started here with runc, crun, podman (through runc,
// with --network none so nothing is added to the host), bubblewrap, unshare(1) and Locker itself
// must each be found once, named from the engine's own state, and inspected like Locker's own.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { imagesDir } from '../data-dir';
import { defaultRootfs } from '../rootfs/default-rootfs';
import { inspectContainer } from '../inspect';
import { sandbox, startCli, until } from '../../testing/harness';
import { runcBundle } from '../../testing/runc-bundle';
import { discoverContainers, findDiscovered, type DiscoveredContainer } from '.';
import { groupContainers, type ScannedProcess } from './scan';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });

function find(pred: (c: DiscoveredContainer) => boolean, what: string): Promise<DiscoveredContainer> {
  return until(() => discoverContainers().find(pred), 10000).catch(() => {
    throw new Error(`${what} not discovered; found: ${JSON.stringify(discoverContainers().map((c) => [c.engine, c.id, c.command]))}`);
  });
}

describe('discovery of every container on the machine', () => {
  const sb = sandbox();
  const work = mkdtempSync(join(tmpdir(), 'locker-discover-'));
  chmodSync(work, 0o755);
  const cleanups: Array<() => void> = [];
  let rootfs = '';
  before(() => {
    rootfs = defaultRootfs(imagesDir(sb.dataDir));
  });
  after(() => {
    for (const c of cleanups.reverse()) c();
    rmSync(work, { recursive: true, force: true });
    sb.cleanup();
  });

  for (const engine of ['runc', 'crun'] as const) {
    test(`${engine}: found by its state dir, named by its id, inspected like a Locker container`, async (t) => {
      if (!has(engine)) return t.skip(`${engine} is not installed (apt-get install ${engine})`);
      // The engine's default root (/run/runc, /run/crun), where discovery looks as for any user's containers.
      const stateRoot = `/run/${engine}`;
      const id = `disc-${engine}-${process.pid}`;
      const b = runcBundle(work, rootfs, `${engine}-box`, ['sleep', '60']);
      // Detached, the container keeps the stdio it is given: none, or this call would wait for it.
      const r = spawnSync(engine, ['--root', stateRoot, 'run', '-d', '--bundle', b, id], { encoding: 'utf8', timeout: 60000, stdio: 'ignore' });
      if (r.status !== 0) {
        // Its reason is on the container's stderr, which a detached run cannot keep: ask again in the foreground.
        const why = sh(engine, ['--root', stateRoot, 'run', '--bundle', b, id + '-why']).stderr.trim();
        sh(engine, ['--root', stateRoot, 'delete', '--force', id + '-why']);
        if (/cgroups in hybrid mode not supported/.test(why)) return t.skip(`${engine} refuses this host's hybrid cgroups: ${why}`);
        assert.fail(`${engine} run -d failed: ${why}`);
      }
      cleanups.push(() => sh(engine, ['--root', stateRoot, 'delete', '--force', id]));
      const state = JSON.parse(sh(engine, ['--root', stateRoot, 'state', id]).stdout);
      const c = await find((x) => x.pid === state.pid, `${engine} container ${id}`);
      assert.equal(c.engine, engine);
      assert.equal(c.id, id);
      assert.deepEqual(c.own.filter((n) => ['mnt', 'pid', 'uts', 'ipc', 'net'].includes(n)), ['mnt', 'pid', 'uts', 'ipc', 'net']);
      assert.equal(findDiscovered(discoverContainers(), id)?.pid, state.pid, 'found by id');
      assert.equal(findDiscovered(discoverContainers(), String(state.pid))?.id, id, 'found by PID');
      const ins = inspectContainer({ id: c.id, pid: c.pid });
      assert.equal(ins.hostname.container, `${engine}-box`);
      const init = ins.containerProcesses.find((p) => p.pid === state.pid);
      assert.equal(init?.containerPid, 1, 'the init is PID 1 inside');
      for (const n of ['mnt', 'pid', 'uts'] as const) {
        assert.equal(ins.namespaces.find((x) => x.type === n)?.container, readlinkSync(`/proc/${state.pid}/ns/${n}`));
      }
      // The one change Locker makes to a foreign container, on request: exec into it (setns), into its cgroups.
      const ex = sb.run(['exec', '--no-tty', id, '--', 'sh', '-c', 'hostname; grep -E "^[0-9]+:pids:" /proc/self/cgroup; grep Seccomp: /proc/self/status']);
      assert.equal(ex.status, 0, ex.stderr);
      const pidsLine = (readFileSync(`/proc/${state.pid}/cgroup`, 'utf8').match(/^\d+:pids:.*$/m) ?? [''])[0];
      assert.equal(ex.stdout, `${engine}-box\n${pidsLine ? pidsLine + '\n' : ''}Seccomp:\t2\n`);
    });
  }

  test('podman (through runc): named by conmon, engine podman', async (t) => {
    if (!has('podman')) return t.skip('podman is not installed');
    const store = join(work, 'podman');
    const pm = ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver=vfs', '--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime', 'runc'];
    const name = `disc-pm-${process.pid}`;
    cleanups.push(() => {
      sh('podman', [...pm, 'rm', '-f', '-t', '0', name]);
      sh('podman', [...pm, 'rmi', '-a', '-f']);
    });
    const imp = spawnSync('sh', ['-c', `tar -C ${rootfs} -c . | podman ${pm.join(' ')} import - locker-discover-img`], { encoding: 'utf8', timeout: 120000 });
    if (imp.status !== 0) return t.skip(`podman cannot import an image here: ${imp.stderr.trim().split('\n').pop()}`);
    const r = sh('podman', [...pm, 'run', '-d', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--hostname', 'pm-box', '--name', name, 'locker-discover-img', 'sleep', '60']);
    if (r.status !== 0) return t.skip(`podman cannot run a container here: ${r.stderr.trim().split('\n').pop()}`);
    const id = r.stdout.trim();
    const c = await find((x) => x.id === id, `podman container ${name}`);
    assert.equal(c.engine, 'podman');
    assert.equal(c.name, name);
    assert.equal(inspectContainer({ id: c.id, pid: c.pid }).hostname.container, 'pm-box');
  });

  test('bubblewrap and unshare(1): found once, the launcher is not a container of its own', async (t) => {
    const kids: ChildProcess[] = [];
    cleanups.push(() => kids.forEach((k) => k.kill('SIGKILL')));
    const u = spawn('unshare', ['--pid', '--fork', '--mount', '--uts', '--kill-child', 'sleep', '60'], { stdio: 'ignore' });
    kids.push(u);
    const cu = await find((x) => x.engine === 'unshare' && x.command === 'sleep 60' && readlinkSync(`/proc/${x.pid}/ns/pid`) !== readlinkSync('/proc/self/ns/pid'), 'unshare container');
    assert.equal(discoverContainers().filter((x) => x.pid === u.pid).length, 0, 'unshare itself (mnt+uts, no pid ns) is the launcher');
    assert.deepEqual(cu.own, ['mnt', 'pid', 'uts']);
    if (!has('bwrap')) return t.skip('bwrap is not installed');
    const b = spawn('bwrap', ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'sleep', '61'], { stdio: 'ignore' });
    kids.push(b);
    const cb = await find((x) => x.engine === 'bubblewrap' && x.command.endsWith('sleep 61'), 'bwrap container');
    assert.ok(cb.own.includes('user') && cb.own.includes('net'), cb.own.join(','));
  });

  test('Locker: its own containers are named from its records (locker ps --all-engines --json)', async () => {
    const run = startCli(sb, ['run', '--no-tty', '--name', 'disc-own', '--', 'sleep', '60']);
    cleanups.push(() => run.child.kill('SIGTERM'));
    const mine = await until(() => {
      const r = sb.run(['ps', '--all-engines', '--json']);
      return (JSON.parse(r.stdout) as DiscoveredContainer[]).find((c) => c.name === 'disc-own');
    }, 10000);
    assert.equal(mine.engine, 'locker');
    const own = JSON.parse(sb.run(['ps', '--json']).stdout).find((c: { name: string }) => c.name === 'disc-own');
    assert.equal(mine.id, own.id);
    assert.equal(mine.pid, own.pid);
    const ins = JSON.parse(sb.run(['inspect', String(own.pid)]).stdout);
    assert.equal(ins.inspection.pid, own.pid, 'inspect by PID works for any container');
    assert.equal(sb.run(['stop', '-t', '0', own.id]).status, 0);
    await run.done;
  });
});

describe('grouping rules', () => {
  const p = (pid: number, ppid: number, ns: Partial<ScannedProcess['ns']>, nspid = [pid]): ScannedProcess => ({
    pid, ppid, name: 'x', state: 'S', startTime: 0, uid: 0, cmdline: 'x', nspid,
    ns: { mnt: 'm0', pid: 'p0', uts: 'u0', ipc: 'i0', net: 'n0', user: 'U0', cgroup: 'c0', ...ns },
  });
  const host = { mnt: 'm0', pid: 'p0', uts: 'u0', ipc: 'i0', net: 'n0', user: 'U0', cgroup: 'c0' };
  test('a sandboxed service (own mnt only) and a browser sandbox (user+pid+net, no mnt) are not containers', () => {
    assert.deepEqual(groupContainers([p(10, 1, { mnt: 'm1' }), p(20, 1, { user: 'U2', pid: 'p2', net: 'n2' })], host), []);
  });
  test('the init is the member whose parent is outside; exec\'d processes join its group', () => {
    const g = groupContainers([p(30, 1, { mnt: 'm3', pid: 'p3' }, [30, 1]), p(31, 30, { mnt: 'm3', pid: 'p3' }, [31, 2]), p(40, 1, { mnt: 'm3', pid: 'p3' }, [40, 3])], host);
    assert.equal(g.length, 1);
    assert.equal(g[0].init.pid, 30);
    assert.equal(g[0].members.length, 3);
  });
});
