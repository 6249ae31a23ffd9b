// cgroup v2 with real controllers, as Debian 12, Ubuntu 22.04+ and Fedora have it by default.
// This host kind is hybrid v1, so these run in the VM lane's pure v2 guest (`npm run test:vm`);
// elsewhere they are skipped with the reason. LOCKER_EXPECT_CGROUP=v2 (set by the lane) turns the
// skip into failures, so the lane cannot pass by skipping. Timeouts are generous: the guest runs
// under QEMU's TCG, 10–50× slower than the host.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sandbox, startCli, until, cliForTestUser, userDataDir, TEST_USER } from '../../testing/harness';
import { createCgroup } from './cgroup';
import { detect, LIMIT_CONTROLLERS, SUPERVISOR_LEAF } from './detect';
import { parseProcCgroup } from './proc-cgroup';
import { v2EnableControllers } from './v2';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const MiB = 1024 * 1024;
const SLOW = 300_000;
const layout = detect();
const pureV2 = layout.version === 'v2' && !layout.rootless && LIMIT_CONTROLLERS.every((c) => layout.backend[c] === 'v2');
const expected = process.env.LOCKER_EXPECT_CGROUP === 'v2';
const skip = pureV2 || expected ? false : `needs root on a pure cgroup v2 host with cpu, memory and pids (this host: ${layout.version}); npm run test:vm runs these in a VM`;
const uniq = `v2t${process.pid}`;
const sb = sandbox();
after(() => sb.cleanup());

const readText = (path: string): string => readFileSync(path, 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A shell that waits for a line on stdin before running `script`, so it can join a cgroup first. */
function waiting(script: string) {
  const child = spawn('sh', ['-c', `read _; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, signal) => r(signal)));
  return { child, exited, go: () => child.stdin.end('\n') };
}

describe('pure cgroup v2 with controllers (real kernel)', { skip }, () => {
  test('the host is pure cgroup v2: cgroup2fs, no v1 hierarchy, cpu memory pids offered', () => {
    assert.equal(statfsSync('/sys/fs/cgroup').type, CGROUP2_SUPER_MAGIC, '/sys/fs/cgroup is not cgroup2fs');
    assert.equal(layout.version, 'v2', `detected ${layout.version}`);
    assert.deepEqual(layout.v1Roots, {});
    for (const c of LIMIT_CONTROLLERS) assert.ok(layout.v2Controllers.includes(c), `${c} missing from ${layout.v2Controllers.join(' ')}`);
    assert.equal(layout.reason, undefined);
  });

  test('createCgroup writes memory.max, cpu.max, pids.max, enables the controllers, reads gauges, and cgroup.kill removes it', async () => {
    const cg = createCgroup(`${uniq}-files`, { memory: 64 * MiB, cpus: 0.5, pidsLimit: 50 }, layout);
    const dir = join(layout.v2Parent!, 'locker', `${uniq}-files`);
    const w = waiting('exec sleep 60');
    try {
      assert.deepEqual(cg.paths, [dir]);
      assert.equal(readText(join(dir, 'memory.max')), String(64 * MiB));
      assert.equal(readText(join(dir, 'cpu.max')), '50000 100000');
      assert.equal(readText(join(dir, 'pids.max')), '50');
      for (const parent of [layout.v2Parent!, join(layout.v2Parent!, 'locker')]) {
        const enabled = readText(join(parent, 'cgroup.subtree_control')).split(' ');
        for (const c of LIMIT_CONTROLLERS) assert.ok(enabled.includes(c), `${c} not enabled in ${parent}`);
      }
      cg.addProcess(w.child.pid!);
      assert.equal(parseProcCgroup(readFileSync(`/proc/${w.child.pid}/cgroup`, 'utf8')).v2, `/locker/${uniq}-files`);
      w.go();
      assert.deepEqual(cg.readLimits(), { memory: 64 * MiB, cpus: 0.5, pidsLimit: 50 });
      const s = cg.stats();
      assert.equal(s.pidsCurrent, 1);
      assert.equal(s.pidsMax, 50);
      assert.equal(s.memoryMax, 64 * MiB);
      assert.ok((s.memoryCurrent ?? 0) > 0, `memory.current ${s.memoryCurrent}`);
      assert.equal(typeof s.cpuUsageUsec, 'number');
      assert.equal(typeof s.nrThrottled, 'number', 'cpu.stat has the throttling keys once the cpu controller is on');
      assert.deepEqual(s.memoryEvents, { oom: 0, oomKill: 0, max: 0 });
    } finally {
      await cg.remove();
    }
    assert.equal(await w.exited, 'SIGKILL');
    assert.equal(existsSync(dir), false);
  });

  test('a memory hog is OOM-killed at memory.max and memory.events counts it', { timeout: SLOW }, async () => {
    const cg = createCgroup(`${uniq}-oom`, { memory: 32 * MiB }, layout);
    const w = waiting('x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived');
    try {
      cg.addProcess(w.child.pid!);
      w.go();
      assert.equal(await w.exited, 'SIGKILL');
      const s = cg.stats();
      assert.ok((s.memoryEvents.oomKill ?? 0) >= 1, `oom_kill ${s.memoryEvents.oomKill}`);
      assert.ok((s.memoryEvents.max ?? 0) >= 1, `max ${s.memoryEvents.max}`);
    } finally {
      await cg.remove();
    }
    assert.equal(existsSync(cg.paths[0]), false);
  });

  test('locker run --cpus 0.2: a spinner is throttled, and inspect shows it', { timeout: SLOW }, async () => {
    // No network namespace: the veth setup is not what this tests, and is slow under TCG.
    const run = startCli(sb, ['run', '--name', `${uniq}-spin`, '--no-ns', 'net', '--cpus', '0.2', '--', 'sh', '-c', 'echo up; while :; do :; done']);
    let ended: { code: number | null; err: string } | undefined;
    void run.done.then((d) => (ended = d));
    try {
      await until(() => run.output().includes('up') || ended, SLOW);
      assert.equal(ended, undefined, `locker run ended before the spinner started: ${JSON.stringify(ended)}`);
      await sleep(1500);
      const info = JSON.parse(sb.run(['inspect', `${uniq}-spin`], { timeoutMs: SLOW }).stdout);
      assert.deepEqual(info.limits, { cpus: 0.2 });
      const stats = info.inspection.resources.stats;
      assert.ok(stats.nrThrottled > 0, `nr_throttled ${stats.nrThrottled}`);
      assert.ok(stats.throttledUsec > 0, `throttled_usec ${stats.throttledUsec}`);
      assert.ok(stats.cpuUsageUsec > 0, `usage_usec ${stats.cpuUsageUsec}`);
    } finally {
      sb.run(['stop', '-t', '0', `${uniq}-spin`], { timeoutMs: SLOW });
      await run.done;
    }
    assert.deepEqual(readdirSync(join(layout.v2Parent!, 'locker')).filter((id) => id.startsWith(uniq)), []);
  });
});

/**
 * A cgroup handed to the test user the way systemd's Delegate=yes does (the directory and its
 * cgroup.procs, cgroup.subtree_control and cgroup.threads owned by the user), outside locker/.
 */
function delegatedCgroup(uid: number): { dir: string; remove(): Promise<void> } {
  const dir = join(layout.v2Root!, `lane-user-${uniq}.slice`);
  v2EnableControllers(layout.v2Root!, LIMIT_CONTROLLERS);
  mkdirSync(dir);
  for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) chownSync(join(dir, f), uid, uid);
  return {
    dir,
    async remove() {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      const subdirs = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => [...subdirs(join(d, e.name)), join(d, e.name)]);
      for (const d of [...subdirs(dir), dir]) {
        for (let i = 0; ; i++) {
          try {
            rmdirSync(d);
            break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || i > 200) throw e;
            await sleep(20);
          }
        }
      }
    },
  };
}

describe('rootless limits in a delegated cgroup v2 subtree (real kernel)', { skip }, () => {
  test('an ordinary user in a delegated cgroup gets --pids-limit enforced, under its own subtree, removed afterwards', { timeout: SLOW }, async () => {
    const cli = cliForTestUser();
    const data = userDataDir();
    const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout);
    const deleg = delegatedCgroup(uid);
    try {
      // Join the delegated cgroup first (as root), then become the user: like a systemd user session.
      const script = 'echo $$ > "$1/cgroup.procs" && shift && exec runuser -u "$@"';
      const child = spawn('sh', ['-c', script, 'sh', deleg.dir, TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${data}`, 'HOME=/tmp', cli,
        'run', '--pids-limit', '10', '--', 'sh', '-c', 'for i in $(seq 40); do sleep 2 & done; wait; echo finished'], { cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.match(err, /can't fork/, `stdout: ${out}\nstderr: ${err}`);
      assert.notEqual(out.trim(), 'finished');
      assert.notEqual(code, 0);
      // The runtime moved itself into the supervisor leaf to enable controllers for locker/, as the
      // "no internal processes" rule requires, and left no container cgroup behind.
      assert.ok(existsSync(join(deleg.dir, SUPERVISOR_LEAF)), `no ${SUPERVISOR_LEAF} in ${readdirSync(deleg.dir).join(' ')}`);
      assert.ok(readText(join(deleg.dir, 'cgroup.subtree_control')).split(' ').includes('pids'));
      assert.deepEqual(readdirSync(join(deleg.dir, 'locker'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name), []);
    } finally {
      await deleg.remove();
      rmSync(data, { recursive: true, force: true });
    }
    assert.equal(existsSync(deleg.dir), false);
  });
});
