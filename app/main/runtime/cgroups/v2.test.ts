// "v2 file format": a temp directory laid out like a v2 cgroup. This checks which files are
// written and how they are parsed; it is file logic, not a kernel mock.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcs, v2EnableControllers, v2ReadLimits, v2ReadStats, v2WriteLimits } from './v2';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'locker-v2fmt-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('v2 file format: limits are written as memory.max, cpu.max, pids.max', () => {
  withDir((dir) => {
    v2WriteLimits(dir, { memory: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 20 });
    assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), '67108864');
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), '50000 100000');
    assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8'), '20');
    assert.deepEqual(v2ReadLimits(dir), { memory: 67108864, cpus: 0.5, pidsLimit: 20 });
  });
});

test('v2 file format: unset limits are not written; "max" reads as no limit', () => {
  withDir((dir) => {
    v2WriteLimits(dir, { pidsLimit: 5 });
    assert.throws(() => readFileSync(join(dir, 'memory.max')));
    writeFileSync(join(dir, 'memory.max'), 'max\n');
    writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
    assert.deepEqual(v2ReadLimits(dir), { pidsLimit: 5 });
  });
});

test('v2 file format: stats', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'pids.current'), '7\n');
    writeFileSync(join(dir, 'pids.max'), '20\n');
    writeFileSync(join(dir, 'pids.events'), 'max 31\n');
    writeFileSync(join(dir, 'memory.current'), '1048576\n');
    writeFileSync(join(dir, 'memory.max'), 'max\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n');
    writeFileSync(
      join(dir, 'cpu.stat'),
      'usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 10\nnr_throttled 8\nthrottled_usec 640000\nnr_bursts 0\nburst_usec 0\n',
    );
    assert.deepEqual(v2ReadStats(dir), {
      pidsCurrent: 7,
      pidsMax: 20,
      pidsRejected: 31,
      memoryCurrent: 1048576,
      memoryMax: null,
      memoryEvents: { oom: 2, oomKill: 1, max: 12 },
      cpuUsageUsec: 5000,
      nrThrottled: 8,
      throttledUsec: 640000,
    });
  });
});

test('v2 file format: a cgroup without controllers still has cpu usage', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 42\nuser_usec 40\nsystem_usec 2\n');
    const s = v2ReadStats(dir);
    assert.equal(s.cpuUsageUsec, 42);
    assert.equal(s.nrThrottled, null);
    assert.equal(s.pidsCurrent, null);
    assert.equal(s.memoryMax, null);
    assert.deepEqual(s.memoryEvents, { oom: null, oomKill: null, max: null });
  });
});

test('v2 file format: enabling controllers writes +name for offered, not-yet-enabled ones', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(dir, 'cgroup.subtree_control'), 'cpu\n');
    // A regular file keeps only the last write; the kernel would add each controller in turn.
    assert.deepEqual(v2EnableControllers(dir, ['memory', 'cpu']), ['memory', 'cpu']);
    assert.equal(readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8'), '+memory');
    writeFileSync(join(dir, 'cgroup.controllers'), 'memory\n');
    writeFileSync(join(dir, 'cgroup.subtree_control'), '');
    assert.deepEqual(v2EnableControllers(dir, ['memory', 'cpu', 'pids']), ['memory']);
  });
});

test('v2 file format: cgroup.procs', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'cgroup.procs'), '12\n345\n');
    assert.deepEqual(readProcs(dir), [12, 345]);
    assert.deepEqual(readProcs(join(dir, 'gone')), []);
  });
});
