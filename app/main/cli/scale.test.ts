// Many detached containers at once from the real CLI (issue 13's scale case): 50 concurrent
// `locker run -d`, all running with one small monitor each, stopped by one `locker stop` of all
// their ids, removed; then nothing of them is left: processes, monitors, cgroups, veths, leases,
// mounts, container dirs. Not timed (the bench measures the speed); generous waits on a busy machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { hostLayout } from '../runtime/cgroups';
import { hostVethName, leases } from '../runtime/network';
import { CLI, TIME_SCALE, hostState, sandbox, until } from '../testing/harness';

const COUNT = 50;
const sb = sandbox();
after(() => sb.cleanup());
const layout = hostLayout();

/** `locker ARGS` without blocking the event loop (50 of them run side by side). */
function locker(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(CLI, args, { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Host pids of the locker-monitor processes of this data dir. */
function monitors(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0].endsWith('locker-monitor') && argv.some((a) => a.includes(sb.dataDir));
    } catch {
      return false;
    }
  }).map(Number);
}

const cgroupDirs = (id: string): string[] =>
  Object.values(layout.v1Roots).map((r) => `${r}/locker/${id}`).concat(layout.v2Parent ? [`${layout.v2Parent}/locker/${id}`] : []);

describe(`${COUNT} detached containers at once`, () => {
  test('all run, one stop ends them all, and nothing of them is left', { timeout: 600_000 * TIME_SCALE }, async () => {
    const before = hostState(sb.dataDir);
    // A pids limit, so each has a cgroup to leak; the default namespaces, so each has a veth and a lease.
    const limit = layout.canWrite ? ['--pids-limit', '16'] : [];
    const started = await Promise.all(Array.from({ length: COUNT }, () => locker(['run', '-d', ...limit, '--', 'sleep', '600'])));
    for (const r of started) assert.equal(r.code, 0, r.err);
    const ids = started.map((r) => r.out.trim());
    for (const id of ids) assert.match(id, /^[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, COUNT);

    const running = await locker(['ps', '-q']);
    assert.equal(running.code, 0, running.err);
    assert.deepEqual(running.out.trim().split('\n').sort(), [...ids].sort());
    assert.equal(monitors().length, COUNT, 'one monitor per container');
    const records = ids.map((id) => JSON.parse(readFileSync(`${sb.dataDir}/containers/${id}/state.json`, 'utf8')) as { network?: { mode: string } });
    const bridged = records.some((r) => r.network?.mode === 'bridge');
    if (bridged) for (const id of ids) assert.ok(existsSync(`/sys/class/net/${hostVethName(id)}`), `veth of ${id}`);
    if (limit.length) for (const id of ids) assert.ok(cgroupDirs(id).some((d) => existsSync(d)), `cgroup of ${id}`);

    // One command for all of them, as `locker stop $(locker ps -q)`: sleep as PID 1 ignores
    // SIGTERM, so every one needs the SIGKILL after the grace period.
    const stop = await locker(['stop', '-t', '1', ...ids]);
    assert.equal(stop.code, 0, stop.err);
    assert.deepEqual(stop.out.trim().split('\n'), ids, 'each id printed, in the order given');
    await until(() => monitors().length === 0, 60_000 * TIME_SCALE);
    const all = await locker(['ps', '-a', '--json']);
    const states = (JSON.parse(all.out) as { id: string; state: string; exitCode?: number }[]).filter((c) => ids.includes(c.id));
    assert.equal(states.length, COUNT);
    for (const c of states) assert.deepEqual([c.state, c.exitCode], ['exited', 137], c.id);

    const rm = await locker(['rm', ...ids]);
    assert.equal(rm.code, 0, rm.err);
    const after = hostState(sb.dataDir);
    assert.deepEqual(after.containers, [], 'no container dir left');
    assert.deepEqual(after.mounts.filter((m) => m.includes(sb.dataDir)), [], 'no mount left');
    assert.deepEqual(after.children.filter((c) => !before.children.includes(c)), [], 'no process left');
    // The kernel removes a veth with its namespace, asynchronously: wait for it, do not assume it.
    await until(() => ids.every((id) => !existsSync(`/sys/class/net/${hostVethName(id)}`)), 30_000 * TIME_SCALE);
    assert.deepEqual(leases().filter((l) => ids.includes(l.id)), [], 'no address lease left');
    assert.deepEqual(ids.flatMap(cgroupDirs).filter((d) => existsSync(d)), [], 'no cgroup left');
  });
});
