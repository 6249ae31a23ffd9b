// cgroup v1 file logic: one directory per controller hierarchy (cpu and cpuacct may share one).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Controller } from './detect';
import { type Limits, v1CpuQuota } from './limits';
import { emptyStats, parseFlatKeyed, readKey, readNumber, readOptional, type CgroupStats } from './stats';

/** The cgroup's directory in each v1 controller hierarchy. */
export type V1Dirs = Partial<Record<V1Controller, string>>;

function need(dirs: V1Dirs, c: V1Controller, flag: string): string {
  const d = dirs[c];
  if (!d) throw new Error(`${flag} needs the ${c} cgroup controller, which is not mounted`);
  return d;
}

/** memory.limit_in_bytes, cpu.cfs_period_us + cpu.cfs_quota_us, pids.max. */
export function v1WriteLimits(dirs: V1Dirs, limits: Limits): void {
  if (limits.memory !== undefined) {
    writeFileSync(join(need(dirs, 'memory', '--memory'), 'memory.limit_in_bytes'), String(limits.memory));
  }
  if (limits.cpus !== undefined) {
    const cpu = need(dirs, 'cpu', '--cpus');
    const { quotaUs, periodUs } = v1CpuQuota(limits.cpus);
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(periodUs));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(quotaUs));
  }
  if (limits.pidsLimit !== undefined) {
    writeFileSync(join(need(dirs, 'pids', '--pids-limit'), 'pids.max'), String(limits.pidsLimit));
  }
}

export function v1ReadLimits(dirs: V1Dirs): Limits {
  const out: Limits = {};
  if (dirs.memory) {
    const m = readNumber(join(dirs.memory, 'memory.limit_in_bytes'));
    if (m !== null) out.memory = m;
  }
  if (dirs.cpu) {
    const q = readNumber(join(dirs.cpu, 'cpu.cfs_quota_us'));
    const p = readNumber(join(dirs.cpu, 'cpu.cfs_period_us'));
    if (q !== null && p !== null && p > 0) out.cpus = q / p;
  }
  if (dirs.pids) {
    const p = readNumber(join(dirs.pids, 'pids.max'));
    if (p !== null) out.pidsLimit = p;
  }
  return out;
}

/**
 * Gauges: pids.current/max/events, memory.usage_in_bytes/limit_in_bytes/failcnt, the oom_kill
 * count in memory.oom_control (v1 has no separate OOM-invocation counter, so oom = oomKill),
 * cpuacct.usage (ns → µs), and nr_throttled/throttled_time (ns → µs) from cpu.stat.
 */
export function v1ReadStats(dirs: V1Dirs): CgroupStats {
  const s = emptyStats();
  if (dirs.pids) {
    s.pidsCurrent = readNumber(join(dirs.pids, 'pids.current'));
    s.pidsMax = readNumber(join(dirs.pids, 'pids.max'));
    s.pidsRejected = readKey(join(dirs.pids, 'pids.events'), 'max');
  }
  if (dirs.memory) {
    s.memoryCurrent = readNumber(join(dirs.memory, 'memory.usage_in_bytes'));
    s.memoryMax = readNumber(join(dirs.memory, 'memory.limit_in_bytes'));
    const oomControl = readOptional(join(dirs.memory, 'memory.oom_control'));
    const oomKill = oomControl === undefined ? null : (parseFlatKeyed(oomControl).get('oom_kill') ?? null);
    s.memoryEvents = { oom: oomKill, oomKill, max: readNumber(join(dirs.memory, 'memory.failcnt')) };
  }
  if (dirs.cpuacct) {
    const ns = readOptional(join(dirs.cpuacct, 'cpuacct.usage'));
    if (ns !== undefined && /^\d+/.test(ns.trim())) s.cpuUsageUsec = Number(BigInt(ns.trim()) / 1000n);
  }
  if (dirs.cpu) {
    const stat = readOptional(join(dirs.cpu, 'cpu.stat'));
    if (stat !== undefined) {
      const c = parseFlatKeyed(stat);
      s.nrThrottled = c.get('nr_throttled') ?? null;
      const t = c.get('throttled_time');
      s.throttledUsec = t === undefined ? (c.get('throttled_usec') ?? null) : Math.floor(t / 1000);
    }
  }
  return s;
}
