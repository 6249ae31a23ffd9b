// Real cgroups on this host: v1 controllers (memory, cpu, cpuacct, pids) when mounted and we are
// root, and a controller-less v2 hierarchy (hybrid hosts' /sys/fs/cgroup/unified, or a pure v2
// host) for membership, cgroup.kill and removal. Each test cleans up after itself.
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCgroup, listCgroups, openCgroup, sweepStale, type Cgroup } from './cgroup';
import { detect, type CgroupLayout } from './detect';
import { parseProcCgroup } from './proc-cgroup';

const layout = detect();
const v1 = !layout.rootless && (['memory', 'cpu', 'pids'] as const).every((c) => layout.backend[c] === 'v1');
const skipV1 = v1 ? false : `needs root and v1 memory/cpu/pids controllers (${layout.version}: ${layout.reason ?? 'v2 host'})`;
const uniq = `t${process.pid}-${Math.random().toString(36).slice(2, 7)}`;

interface Gated {
  child: ChildProcess;
  /** Lets the script run (it waits on stdin so it can be moved into the cgroup first). */
  go(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

function gated(script: string): Gated {
  const child = spawn('sh', ['-c', `read _; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, go: () => child.stdin?.end('\n'), exited, stdout: () => out, stderr: () => err };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Resolves undefined after ms without keeping the test process alive. */
const timeout = (ms: number): Promise<undefined> => new Promise((r) => setTimeout(() => r(undefined), ms).unref());

function cleanup(t: TestContext, cg: Cgroup, ...children: Gated[]): void {
  t.after(async () => {
    await cg.remove();
    for (const g of children) if (g.child.exitCode === null && g.child.signalCode === null) g.child.kill('SIGKILL');
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

test('v1: a process joins the cgroup and the limits read back', { skip: skipV1 }, async (t) => {
  const id = `${uniq}-basic`;
  const cg = createCgroup(id, { memory: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 50 }, layout);
  const child = spawn('sh', ['-c', 'exec sleep 5'], { stdio: 'ignore' }); // exec: one process, nothing forked before addProcess
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
  t.after(async () => {
    await cg.remove();
    child.kill('SIGKILL');
  });
  const pid = child.pid!;
  for (const p of cg.paths) assert.ok(existsSync(p), p);
  assert.ok(cg.paths.every((p) => p.endsWith(`/locker/${id}`)));

  cg.addProcess(pid);
  const where = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).v1;
  for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) assert.equal(where[c], `/locker/${id}`, c);
  assert.deepEqual(cg.pids(), [pid]);

  assert.deepEqual(cg.readLimits(), { memory: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 50 });
  assert.equal(readFileSync(join(layout.v1Roots.cpu!, 'locker', id, 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
  assert.equal(readFileSync(join(layout.v1Roots.cpu!, 'locker', id, 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
  const s = cg.stats();
  assert.equal(s.pidsCurrent, 1);
  assert.equal(s.pidsMax, 50);
  assert.equal(s.memoryMax, 64 * 1024 * 1024);
  assert.equal(typeof s.memoryCurrent, 'number');
  assert.equal(typeof s.cpuUsageUsec, 'number');
  assert.equal(s.memoryEvents.oomKill, 0);
  assert.ok(listCgroups(layout).includes(id));
  assert.throws(() => createCgroup(id, {}, layout), /already exists/);

  await cg.remove();
  assert.equal(await exited, 'SIGKILL');
  for (const p of cg.paths) assert.equal(existsSync(p), false, p);
  assert.equal(alive(pid), false);
  await cg.remove(); // idempotent
});

test('v1 demo: a fork bomb stops at pids.max', { skip: skipV1 }, async (t) => {
  const cg = createCgroup(`${uniq}-forkbomb`, { pidsLimit: 20 }, layout);
  const g = gated('for i in $(seq 100); do sleep 3 & done; wait');
  cleanup(t, cg, g);
  cg.addProcess(g.child.pid!);
  g.go();
  let peak = 0;
  const start = Date.now();
  while (Date.now() - start < 2500) {
    const s = cg.stats();
    peak = Math.max(peak, s.pidsCurrent ?? 0);
    if ((s.pidsRejected ?? 0) > 0 && Date.now() - start > 300) break;
    await sleep(15);
  }
  const s = cg.stats();
  assert.ok(peak <= 20, `pids.current peaked at ${peak}`);
  assert.ok(peak >= 10, `expected the bomb to fill the cgroup, peak ${peak}`);
  assert.ok((s.pidsRejected ?? 0) > 0, 'pids.events max counts refused forks');
  assert.match(g.stderr(), /fork/i);
  const left = cg.pids();
  await cg.remove();
  for (const p of cg.paths) assert.equal(existsSync(p), false);
  assert.ok(left.every((p) => !alive(p)), 'every bomb process is gone');
});

test('v1 demo: a memory hog is OOM-killed at memory.limit_in_bytes', { skip: skipV1 }, async (t) => {
  const cg = createCgroup(`${uniq}-oom`, { memory: 32 * 1024 * 1024 }, layout);
  const g = gated('x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo done');
  cleanup(t, cg, g);
  cg.addProcess(g.child.pid!);
  g.go();
  const r = await Promise.race([g.exited, timeout(5000)]);
  assert.ok(r, 'the hog ended');
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(g.stdout(), '');
  const s = cg.stats();
  assert.ok((s.memoryEvents.oomKill ?? 0) >= 1, `oom_kill ${s.memoryEvents.oomKill}`);
  assert.ok((s.memoryEvents.max ?? 0) > 0, 'failcnt counts hits of the limit');
  assert.equal(s.memoryMax, 32 * 1024 * 1024);
  await cg.remove();
  for (const p of cg.paths) assert.equal(existsSync(p), false);
});

test('v1 demo: a CPU spinner is throttled to 0.2 CPUs', { skip: skipV1 }, async (t) => {
  const cg = createCgroup(`${uniq}-cpu`, { cpus: 0.2 }, layout);
  const g = gated('while :; do :; done');
  cleanup(t, cg, g);
  cg.addProcess(g.child.pid!);
  const before = cg.stats().cpuUsageUsec ?? 0;
  const t0 = Date.now();
  g.go();
  await sleep(1000);
  const s = cg.stats();
  const elapsedUs = (Date.now() - t0) * 1000;
  const used = (s.cpuUsageUsec ?? 0) - before;
  assert.ok((s.nrThrottled ?? 0) > 0, `nr_throttled ${s.nrThrottled}`);
  assert.ok((s.throttledUsec ?? 0) > 0, `throttled ${s.throttledUsec} µs`);
  assert.ok(used > 0.05 * elapsedUs, `used ${used} µs of ${elapsedUs}`);
  assert.ok(used < 0.4 * elapsedUs, `used ${used} µs of ${elapsedUs}: more than 0.2 CPUs`);
  await cg.remove();
  assert.equal((await g.exited).signal, 'SIGKILL');
  for (const p of cg.paths) assert.equal(existsSync(p), false);
});

test('sweepStale removes the cgroups of dead containers only', { skip: skipV1 }, async (t) => {
  const dead = createCgroup(`${uniq}-dead`, { pidsLimit: 10 }, layout);
  const live = createCgroup(`${uniq}-live`, {}, layout);
  const g = gated('sleep 5');
  cleanup(t, dead, g);
  cleanup(t, live);
  dead.addProcess(g.child.pid!);
  // Only our own test ids count as dead: other tests may have cgroups of their own right now.
  const removed = await sweepStale((id) => !id.startsWith(uniq) || id === live.id, layout);
  assert.deepEqual(removed, [dead.id]);
  assert.equal((await g.exited).signal, 'SIGKILL');
  for (const p of dead.paths) assert.equal(existsSync(p), false);
  for (const p of live.paths) assert.equal(existsSync(p), true);
  await openCgroup(live.id, layout).remove();
  assert.ok(!listCgroups(layout).some((id) => id.startsWith(uniq)));
});

// A real cgroup2 hierarchy without controllers (hybrid: /sys/fs/cgroup/unified; pure v2 as root).
const v2Mount = layout.v2Root && !layout.rootless ? layout.v2Root : undefined;
const bareV2: CgroupLayout | undefined = v2Mount
  ? {
      version: 'v2',
      v2Root: v2Mount,
      v2Parent: v2Mount,
      v2Controllers: [],
      v1Roots: {},
      backend: { memory: null, cpu: null, pids: null },
      devices: null,
      rootless: false,
      canWrite: true,
    }
  : undefined;

test('v2 (real, no controllers): membership, cpu usage, cgroup.kill, rmdir', { skip: bareV2 ? false : 'no writable cgroup2 mount' }, async (t) => {
  const lay = bareV2!;
  assert.throws(() => createCgroup(`${uniq}-v2x`, { memory: 64 * 1024 * 1024 }, lay), {
    message: /^--memory needs the memory cgroup controller/,
  });
  const cg = createCgroup(`${uniq}-v2`, {}, lay);
  const g = gated('sleep 5 & sleep 5 & wait');
  cleanup(t, cg, g);
  assert.deepEqual(cg.paths, [join(v2Mount!, 'locker', `${uniq}-v2`)]);
  cg.addProcess(g.child.pid!);
  assert.equal(parseProcCgroup(readFileSync(`/proc/${g.child.pid}/cgroup`, 'utf8')).v2, `/locker/${uniq}-v2`);
  g.go();
  const start = Date.now();
  while (cg.pids().length < 3 && Date.now() - start < 2000) await sleep(10);
  const pids = cg.pids();
  assert.equal(pids.length, 3);
  assert.equal(typeof cg.stats().cpuUsageUsec, 'number');
  await cg.remove();
  assert.equal((await g.exited).signal, 'SIGKILL');
  assert.equal(existsSync(cg.paths[0]), false);
  assert.ok(pids.every((p) => !alive(p)));
});

test('createCgroup refuses bad ids and unwritable layouts', () => {
  assert.throws(() => createCgroup('../etc', {}, layout), /invalid cgroup id/);
  const no: CgroupLayout = { ...layout, canWrite: false, reason: 'because' };
  assert.throws(() => createCgroup('x', { pidsLimit: 1 }, no), { message: 'resource limits are unavailable: because' });
});

test('v2 file format: createCgroup lays out <parent>/locker/<id> with the limits', () => {
  // A temp directory shaped like a v2 parent cgroup (file logic; no kernel involved).
  const root = mkdtempSync(join(tmpdir(), 'locker-v2cg-'));
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    const lay: CgroupLayout = {
      version: 'v2',
      v2Root: root,
      v2Parent: root,
      v2Controllers: ['cpu', 'memory', 'pids'],
      v1Roots: {},
      backend: { memory: 'v2', cpu: 'v2', pids: 'v2' },
      devices: null,
      rootless: false,
      canWrite: true,
    };
    const cg = createCgroup('c1', { memory: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 20 }, lay);
    const dir = join(root, 'locker', 'c1');
    assert.deepEqual(cg.paths, [dir]);
    assert.equal(cg.v2, dir);
    assert.deepEqual(cg.v1, {});
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), '50000 100000');
    assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), '67108864');
    assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8'), '20');
    assert.ok(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').startsWith('+'));
    assert.deepEqual(cg.readLimits(), { memory: 67108864, cpus: 0.5, pidsLimit: 20 });
    writeFileSync(join(dir, 'pids.current'), '4\n');
    writeFileSync(join(dir, 'memory.events'), 'max 1\noom 1\noom_kill 1\n');
    const s = cg.stats();
    assert.equal(s.pidsCurrent, 4);
    assert.equal(s.pidsMax, 20);
    assert.deepEqual(s.memoryEvents, { oom: 1, oomKill: 1, max: 1 });
    assert.deepEqual(listCgroups(lay), ['c1']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
