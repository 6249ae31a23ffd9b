// Step-through through the API, on the real runtime (root): a launch with stepThrough pauses before
// each planned call, the pending call goes out as `stepping` events, Next/Run to exec release it,
// and cancel leaves nothing behind (process, mounts, container dir, cgroup).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { RootfsLayers, RunResult, SteppingStatus, SyscallRecord } from '../../shared/api';
import type { DirListing, Inspection } from '../../shared/types';
import { Runtime } from '../runtime/runtime';
import { until } from '../testing/harness';
import { LockerService } from './service';

const dataDir = mkdtempSync(join(tmpdir(), 'locker-step-'));
const runtime = new Runtime({ dataDir });
const service = new LockerService(runtime, { spawnHostShell: () => { throw new Error('no host shells here'); } });
const events: SteppingStatus[] = [];
service.on('stepping', (s) => events.push(s));

after(async () => {
  for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
  service.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function paused(predicate: (s: SteppingStatus) => boolean = () => true): Promise<SteppingStatus> {
  const end = Date.now() + 10_000;
  for (;;) {
    const s = events.at(-1);
    if (s && s.state === 'paused' && predicate(s)) return s;
    if (Date.now() > end) throw new Error(`no pause; last event ${JSON.stringify(s)}`);
    await sleep(10);
  }
}

async function call<T>(method: string, arg?: unknown): Promise<T> {
  const env = await service.dispatch(method, arg);
  if ('error' in env) throw new Error(env.error);
  return env.result as T;
}

const procState = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
};

const mountsUnder = (dir: string): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));

const runArg = { command: ['/bin/sh', '-c', 'hostname; sleep 30'], namespaces: ['pid', 'uts', 'mnt', 'ipc'], hostname: 'stepper', cols: 80, rows: 24, stepThrough: true };

describe('step-through via the API', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  test('stepThrough is validated', async () => {
    const env = await service.dispatch('run', { ...runArg, stepThrough: 'yes' });
    assert.match((env as { error: string }).error, /run\.stepThrough must be true or false/);
    assert.match((await service.dispatch('stepNext', { id: 'nope' }) as { error: string }).error, /no step-through launch "nope"/);
  });

  test('pauses before each call; Next releases one; Run to exec starts the container', async () => {
    events.length = 0;
    const running = call<RunResult>('run', runArg);
    const first = await paused();
    const id = first.containerId;
    assert.equal(first.pending?.index, 0);
    assert.ok(first.total > 10, `a real plan has many calls (${first.total})`);
    assert.equal(runtime.get(id), undefined, 'not a container until it execs');
    assert.deepEqual((await call<SteppingStatus[]>('listStepping')).map((s) => s.containerId), [id]);
    const pid = first.pid!;
    await until(() => procState(pid) === 'S', 10_000); // bounded: a setup that never blocks fails the test instead of hanging it
    // the clone already happened and is in the log; the planned calls are not
    const log0 = await call<{ name: string; where: string }[]>('syscallLog', { id });
    assert.ok(log0.some((e) => e.name === 'clone' && e.where === 'host'));
    assert.ok(!log0.some((e) => e.where === 'child'));

    for (let i = 0; i < 3; i++) {
      const before = events.length;
      const pending = events.at(-1)!.pending!;
      await call('stepNext', { id });
      await paused((s) => s.pending!.index === i + 1 && events.length > before);
      const log = await call<{ name: string; where: string }[]>('syscallLog', { id });
      assert.equal(log.filter((e) => e.where === 'child').at(-1)?.name, pending.name, `call ${i} landed in the log`);
    }
    await assert.rejects(call('stepNext', { id: 'zzzz' }), /no step-through launch/);

    await call('stepRunToEnd', { id });
    const result = await running;
    assert.equal(result.container.id, id);
    assert.equal(result.container.state, 'running');
    assert.equal(events.at(-1)?.state, 'done');
    assert.deepEqual(await call('listStepping'), []);
    const log = await call<{ name: string; where: string }[]>('syscallLog', { id });
    assert.ok(log.some((e) => e.where === 'child' && e.name === 'pivot_root'));
    await call('remove', { id });
  });

  test('while paused the launch is inspected as it is: PID 1 at once, then each call shows; the log ends with execve', async () => {
    events.length = 0;
    const running = call<RunResult>('run', runArg);
    const first = await paused();
    const id = first.containerId;
    const names = async (side: 'host' | 'container'): Promise<string[]> => (await call<DirListing>('listDir', { id, side, path: '/' })).entries.map((e) => e.name).sort();
    const i0 = await call<Inspection>('inspect', { id });
    assert.equal(i0.pid, first.pid);
    assert.deepEqual(i0.containerProcesses.map((p) => [p.pid, p.containerPid]), [[first.pid, 1]], 'PID 1 exists as soon as clone returned');
    assert.equal(i0.hostname.container, i0.hostname.host, "before sethostname the UTS namespace holds the host's name, copied");
    assert.equal(await call('rootfsLayers', { id }), null, 'no overlay before its mount');
    assert.deepEqual(await names('container'), await names('host'), "before pivot_root the container's / is the host's");

    // Next until `name` has been made (bounded by the plan's length)
    const stepPast = async (name: string): Promise<void> => {
      for (let n = 0; n < first.total; n++) {
        const cur = events.at(-1)!;
        const at = cur.pending!;
        await call('stepNext', { id });
        await paused((s) => s.pending!.index === at.index + 1);
        if (at.name === name) return;
      }
      throw new Error(`no ${name} in the plan`);
    };
    await stepPast('mount'); // MS_PRIVATE
    await stepPast('mount'); // the overlay
    const layers = await call<RootfsLayers>('rootfsLayers', { id });
    assert.ok(layers, 'the overlay is in the mount table');
    assert.match(layers.upper, new RegExp(`/containers/${id}/upper$`));
    assert.match(layers.work, new RegExp(`/containers/${id}/work$`));
    assert.equal(layers.mountPoint, join(dataDir, 'containers', id, 'rootfs'), 'mounted, not yet the root');
    assert.equal(layers.lower.length, 1);
    await stepPast('pivot_root');
    assert.equal((await call<RootfsLayers>('rootfsLayers', { id })).mountPoint, '/');
    const inside = await names('container');
    assert.notDeepEqual(inside, await names('host'));
    assert.ok(inside.includes('bin'), inside.join(' '));
    await stepPast('sethostname');
    assert.equal((await call<Inspection>('inspect', { id })).hostname.container, 'stepper');

    await call('stepRunToEnd', { id });
    await running;
    const log = await call<SyscallRecord[]>('syscallLog', { id });
    const lastChild = log.filter((e) => e.where === 'child').at(-1);
    assert.equal(lastChild?.name, 'execve');
    assert.equal(lastChild?.inferred, 'eof', 'marked: inferred from the report pipe closing');
    assert.match(lastChild!.args, /^"\/bin\/sh"/);
    assert.equal(log.filter((e) => e.name === 'execve' && e.where === 'child').length, 1);
    await call('remove', { id });
  });

  test('cancel while paused: the launch fails and leaves nothing behind', async () => {
    events.length = 0;
    const running = call<RunResult>('run', { ...runArg, pidsLimit: 20 });
    const first = await paused();
    const id = first.containerId;
    const pid = first.pid!;
    await call('stepNext', { id });
    await paused((s) => s.pending!.index === 1);
    assert.ok(existsSync(join(dataDir, 'containers', id)), 'the container dir exists while paused');
    await call('stepCancel', { id });
    await assert.rejects(running, /step-through cancelled before/);
    assert.equal(events.at(-1)?.state, 'cancelled');
    assert.equal(existsSync(`/proc/${pid}`), false, 'the setup process is gone (and reaped)');
    assert.equal(existsSync(join(dataDir, 'containers', id)), false, 'no container dir');
    assert.deepEqual(mountsUnder(dataDir), [], 'no mounts');
    assert.equal(runtime.list().some((c) => c.id === id), false);
    for (const root of ['/sys/fs/cgroup/locker', '/sys/fs/cgroup/pids/locker']) {
      if (existsSync(root)) assert.ok(!readdirSync(root).includes(id), `no cgroup in ${root}`);
    }
    const log = await call<{ name: string; where: string; errno?: string }[]>('syscallLog', { id });
    assert.equal(log.filter((e) => e.where === 'child').at(-1)?.errno, 'EPIPE', 'the waiting read() got EOF');
  });
});
