// A new process joins its cgroup by itself (openCgroupJoin): on this host's real hierarchies, the
// child of the native step writes "0" to each v1 `tasks` file the parent opened, or is born in a v2
// cgroup by clone3 CLONE_INTO_CGROUP (on a hybrid host: the controller-less /sys/fs/cgroup/unified),
// and /proc/self/cgroup inside it names the cgroup in every hierarchy before its program runs.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cloneIntoCgroupWorks, pipe2, reapBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { spawnProcess } from '../../../../native/spawn';
import { syscallLog, type SyscallEntry } from '../../../../native/syscall-log';
import { DetachedLaunch } from '../detach/launch';
import { exitSettled, monitorFiles } from '../detach/files';
import { createCgroup, openCgroupJoin, type Cgroup } from './cgroup';
import { detect, type CgroupLayout } from './detect';
import { parseProcCgroup, type ProcCgroup } from './proc-cgroup';

const layout = detect();
const uniq = `j${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const v1 = !layout.rootless && layout.backend.pids === 'v1';
const v2Mount = layout.v2Root && !layout.rootless ? layout.v2Root : undefined;
/** The host's cgroup2 hierarchy used without controllers (membership is all these tests need). */
const bareV2: CgroupLayout | undefined = v2Mount
  ? { version: 'v2', v2Root: v2Mount, v2Parent: v2Mount, v2Controllers: [], v1Roots: {}, backend: { memory: null, cpu: null, pids: null }, devices: null, rootless: false, canWrite: true }
  : undefined;

/**
 * Runs `cat /proc/self/cgroup` (and its thread count) in a child that joined through `join`; returns what it printed and the log.
 * light: cloned by locker-nsexec for this process (as a launch is), not by this process.
 */
function catCgroupIn(cg: Cgroup, intoWorks?: () => boolean, light = false): { seen: ProcCgroup; threads: string; log: SyscallEntry[] } {
  const join = openCgroupJoin(cg.paths, intoWorks);
  const [r, w] = pipe2(0o2000000);
  const log: SyscallEntry[] = [];
  const stop = syscallLog.subscribe((e) => log.push(e));
  let out: string;
  try {
    const program = new Program();
    for (const f of join.writes) program.write(f.fd, '0', f.path);
    program.dup2(w, 1).execve('/bin/sh', ['sh', '-c', 'cat /proc/self/cgroup; grep ^Threads: /proc/self/status'], []);
    const s = spawnProcess({ flags: 0, program, intoCgroup: join.into, light });
    closeSync(w);
    out = readFileSync(r, 'utf8');
    assert.equal(reapBlocking(s.pid), 0, out);
  } finally {
    stop();
    join.close();
    closeSync(r);
  }
  return { seen: parseProcCgroup(out), threads: /^Threads:\s*(\d+)/m.exec(out)?.[1] ?? '', log };
}

/** The same through a detached container's monitor (run -d), which clones the child: `cat /proc/self/cgroup`, read from its log. */
async function catCgroupDetached(cg: Cgroup, intoWorks?: () => boolean): Promise<ProcCgroup> {
  const dir = mkdtempSync(join(tmpdir(), 'locker-join-'));
  const launch = new DetachedLaunch(dir, false);
  const joining = openCgroupJoin(cg.paths, intoWorks);
  try {
    const [stdin, stdout, stderr] = launch.io().stdio!;
    const program = new Program();
    for (const f of joining.writes) program.write(f.fd, '0', f.path);
    program.dup2(stdin, 0).dup2(stdout, 1).dup2(stderr, 2).execve('/bin/cat', ['cat', '/proc/self/cgroup'], []);
    spawnProcess({ flags: 0, program, intoCgroup: joining.into, via: launch.via });
    assert.ok(await exitSettled(launch.monitor!, dir, 20_000), 'the monitor recorded the exit');
    reapBlocking(launch.monitor!.pid);
    return parseProcCgroup(readFileSync(monitorFiles(dir).log, 'utf8'));
  } finally {
    joining.close();
    launch.closeOurs();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('v1: the child writes "0" to every hierarchy\'s tasks and is in the cgroup in each', { skip: v1 ? false : 'needs root and v1 controllers' }, async (t) => {
  const cg = createCgroup(`${uniq}-v1`, { pidsLimit: 50, memory: 64 * 1024 * 1024 }, layout);
  t.after(() => cg.remove());
  const { seen, threads, log } = catCgroupIn(cg);
  for (const c of Object.keys(cg.v1)) assert.equal(seen.v1[c], `/locker/${cg.id}`, c);
  assert.equal(threads, '1');
  const writes = log.filter((e) => e.where === 'child' && e.name === 'write').map((e) => e.args);
  assert.deepEqual(writes.map((a) => a.replace(/^\d+/, 'N')), Object.values(cg.v1).map((d) => `N<${join(d, 'tasks')}>, "0", 1`));
  assert.ok(log.some((e) => e.name === 'clone' && e.args === 'SIGCHLD'), 'a plain clone: v1 has no clone3 flag');
});

test('v2: the child is born in the cgroup (clone3 CLONE_INTO_CGROUP), no write needed', { skip: bareV2 && cloneIntoCgroupWorks() ? false : 'needs a writable cgroup2 mount and clone3 CLONE_INTO_CGROUP' }, async (t) => {
  const cg = createCgroup(`${uniq}-v2`, {}, bareV2!);
  t.after(() => cg.remove());
  const { seen, log } = catCgroupIn(cg);
  assert.equal(seen.v2, `/locker/${cg.id}`);
  assert.ok(!log.some((e) => e.where === 'child' && e.name === 'write'));
  const clone = log.find((e) => e.name === 'clone');
  assert.match(clone?.args ?? '', new RegExp(`^\\{flags=CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=\\d+<${cg.v2}>\\} \\(clone3\\)$`));
});

test('light (cloned by locker-nsexec as CLONE_PARENT): the child joins as one cloned here does, v1 by its writes, v2 born there', { skip: v1 || bareV2 ? false : 'needs root and writable cgroups' }, async (t) => {
  const by = ' (by locker-nsexec, CLONE_PARENT)';
  if (v1) {
    const cg = createCgroup(`${uniq}-l1`, { pidsLimit: 50 }, layout);
    t.after(() => cg.remove());
    const { seen, log } = catCgroupIn(cg, undefined, true);
    for (const c of Object.keys(cg.v1)) assert.equal(seen.v1[c], `/locker/${cg.id}`, c);
    assert.ok(log.some((e) => e.name === 'clone' && e.args === `SIGCHLD${by}`), log.map((e) => e.args).join('\n'));
  }
  if (bareV2 && cloneIntoCgroupWorks()) {
    const cg = createCgroup(`${uniq}-l2`, {}, bareV2);
    t.after(() => cg.remove());
    const { seen, log } = catCgroupIn(cg, undefined, true);
    assert.equal(seen.v2, `/locker/${cg.id}`);
    assert.ok(!log.some((e) => e.where === 'child' && e.name === 'write'));
    assert.match(log.find((e) => e.name === 'clone')?.args ?? '', /CLONE_INTO_CGROUP.*\(by locker-nsexec, CLONE_PARENT\)$/);
  }
});

test('v2 where clone3 cannot: the child writes "0" to cgroup.procs instead', { skip: bareV2 ? false : 'needs a writable cgroup2 mount' }, async (t) => {
  const cg = createCgroup(`${uniq}-v2w`, {}, bareV2!);
  t.after(() => cg.remove());
  const { seen, log } = catCgroupIn(cg, () => false);
  assert.equal(seen.v2, `/locker/${cg.id}`);
  assert.ok(log.some((e) => e.where === 'child' && e.name === 'write' && e.args.endsWith(`<${cg.v2}/cgroup.procs>, "0", 1`)));
});

test('run -d: the monitor hands the child the files it writes (v1) or clones it into the cgroup (v2)', { skip: v1 || bareV2 ? false : 'needs root and writable cgroups' }, async (t) => {
  if (v1) {
    const cg = createCgroup(`${uniq}-d1`, { pidsLimit: 50 }, layout);
    t.after(() => cg.remove());
    const seen = await catCgroupDetached(cg);
    for (const c of Object.keys(cg.v1)) assert.equal(seen.v1[c], `/locker/${cg.id}`, c);
  }
  if (bareV2) {
    const cg = createCgroup(`${uniq}-d2`, {}, bareV2);
    t.after(() => cg.remove());
    assert.equal((await catCgroupDetached(cg)).v2, `/locker/${cg.id}`, 'born there (clone3) where it works, else by its write');
  }
});

test('a cgroup that is gone is one line naming it, and what was opened before it is closed', { skip: layout.canWrite && !layout.rootless ? false : 'needs root and writable cgroups' }, async (t) => {
  const cg = createCgroup(`${uniq}-gone`, {}, layout);
  t.after(() => cg.remove());
  const gone = join(cg.paths[0], 'no-such-child');
  const fds = readdirSync('/proc/self/fd').length;
  assert.throws(() => openCgroupJoin([...cg.paths, gone]), { message: `cannot open cgroup ${gone} for a new process to join: ENOENT` });
  assert.equal(readdirSync('/proc/self/fd').length, fds);
});
