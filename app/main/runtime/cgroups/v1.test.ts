// v1 file formats against a temp directory; the real kernel behaviour is in cgroup.test.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1ReadLimits, v1ReadStats, v1WriteLimits } from './v1';

test('v1 file format: limits and stats', () => {
  const root = mkdtempSync(join(tmpdir(), 'locker-v1fmt-'));
  try {
    const dirs = { memory: join(root, 'memory'), cpu: join(root, 'cpu'), cpuacct: join(root, 'cpuacct'), pids: join(root, 'pids') };
    for (const d of Object.values(dirs)) mkdirSync(d);
    v1WriteLimits(dirs, { memory: 32 * 1024 * 1024, cpus: 0.2, pidsLimit: 20 });
    assert.equal(readFileSync(join(dirs.memory, 'memory.limit_in_bytes'), 'utf8'), '33554432');
    assert.equal(readFileSync(join(dirs.cpu, 'cpu.cfs_quota_us'), 'utf8'), '20000');
    assert.equal(readFileSync(join(dirs.cpu, 'cpu.cfs_period_us'), 'utf8'), '100000');
    assert.equal(readFileSync(join(dirs.pids, 'pids.max'), 'utf8'), '20');
    assert.deepEqual(v1ReadLimits(dirs), { memory: 33554432, cpus: 0.2, pidsLimit: 20 });

    writeFileSync(join(dirs.pids, 'pids.current'), '3\n');
    writeFileSync(join(dirs.pids, 'pids.events'), 'max 4\n');
    writeFileSync(join(dirs.memory, 'memory.usage_in_bytes'), '4096\n');
    writeFileSync(join(dirs.memory, 'memory.failcnt'), '9\n');
    writeFileSync(join(dirs.memory, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    writeFileSync(join(dirs.cpuacct, 'cpuacct.usage'), '123456789\n');
    writeFileSync(join(dirs.cpu, 'cpu.stat'), 'nr_periods 10\nnr_throttled 6\nthrottled_time 480000000\n');
    assert.deepEqual(v1ReadStats(dirs), {
      pidsCurrent: 3,
      pidsMax: 20,
      pidsRejected: 4,
      memoryCurrent: 4096,
      memoryMax: 33554432,
      memoryEvents: { oom: 1, oomKill: 1, max: 9 },
      cpuUsageUsec: 123456,
      nrThrottled: 6,
      throttledUsec: 480000,
    });
    writeFileSync(join(dirs.memory, 'memory.limit_in_bytes'), '9223372036854771712\n');
    writeFileSync(join(dirs.cpu, 'cpu.cfs_quota_us'), '-1\n');
    writeFileSync(join(dirs.pids, 'pids.max'), 'max\n');
    assert.deepEqual(v1ReadLimits(dirs), {});
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v1: a limit without its controller names the flag', () => {
  assert.throws(() => v1WriteLimits({}, { pidsLimit: 3 }), { message: /^--pids-limit needs the pids cgroup controller/ });
});
