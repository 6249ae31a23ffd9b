// cgroup v2 file logic for one cgroup directory: enabling controllers, writing limits, reading
// limits and gauges. Every function takes the directory, so the formats are testable anywhere.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LimitController } from './detect';
import { CPU_PERIOD_US, type Limits, v2CpuMax } from './limits';
import { emptyStats, parseFlatKeyed, readKey, readNumber, readOptional, type CgroupStats } from './stats';

function words(path: string): string[] {
  return (readOptional(path) ?? '').trim().split(/\s+/).filter(Boolean);
}

/**
 * Enables `wanted` controllers for the children of `dir` (cgroup.subtree_control), skipping those
 * that are already enabled or that `dir` does not offer. Returns the controllers now enabled.
 * Throws the kernel's error (EBUSY when `dir` still holds processes, the "no internal processes" rule).
 */
export function v2EnableControllers(dir: string, wanted: readonly LimitController[]): string[] {
  const offered = words(join(dir, 'cgroup.controllers'));
  const enabled = new Set(words(join(dir, 'cgroup.subtree_control')));
  for (const c of wanted) {
    if (enabled.has(c) || !offered.includes(c)) continue;
    writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`);
    enabled.add(c);
  }
  return wanted.filter((c) => enabled.has(c));
}

/** Writes memory.max, cpu.max and pids.max for the limits that are set. */
export function v2WriteLimits(dir: string, limits: Limits): void {
  if (limits.memory !== undefined) writeFileSync(join(dir, 'memory.max'), String(limits.memory));
  if (limits.cpus !== undefined) writeFileSync(join(dir, 'cpu.max'), v2CpuMax(limits.cpus));
  if (limits.pidsLimit !== undefined) writeFileSync(join(dir, 'pids.max'), String(limits.pidsLimit));
}

/** Reads back the limits in effect ("max" = none). */
export function v2ReadLimits(dir: string): Limits {
  const out: Limits = {};
  const mem = readNumber(join(dir, 'memory.max'));
  if (mem !== null) out.memory = mem;
  const [quota, period] = words(join(dir, 'cpu.max'));
  if (quota !== undefined && quota !== 'max') out.cpus = Number(quota) / Number(period ?? CPU_PERIOD_US);
  const pids = readNumber(join(dir, 'pids.max'));
  if (pids !== null) out.pidsLimit = pids;
  return out;
}

/** Gauges from pids.*, memory.*, cpu.stat. Files that do not exist (controller not enabled) read as null. */
export function v2ReadStats(dir: string): CgroupStats {
  const s = emptyStats();
  const f = (name: string): string => join(dir, name);
  s.pidsCurrent = readNumber(f('pids.current'));
  if (readOptional(f('pids.max')) !== undefined) s.pidsMax = readNumber(f('pids.max'));
  s.pidsRejected = readKey(f('pids.events'), 'max');
  s.memoryCurrent = readNumber(f('memory.current'));
  if (readOptional(f('memory.max')) !== undefined) s.memoryMax = readNumber(f('memory.max'));
  const events = readOptional(f('memory.events'));
  if (events !== undefined) {
    const e = parseFlatKeyed(events);
    s.memoryEvents = { oom: e.get('oom') ?? 0, oomKill: e.get('oom_kill') ?? 0, max: e.get('max') ?? 0 };
  }
  // cpu.stat exists in every v2 cgroup; the throttling keys only with the cpu controller enabled.
  const cpu = readOptional(f('cpu.stat'));
  if (cpu !== undefined) {
    const c = parseFlatKeyed(cpu);
    s.cpuUsageUsec = c.get('usage_usec') ?? null;
    s.nrThrottled = c.get('nr_throttled') ?? null;
    s.throttledUsec = c.get('throttled_usec') ?? null;
  }
  return s;
}

/** PIDs in cgroup.procs (empty when the directory is gone). */
export function readProcs(dir: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map(Number);
}
