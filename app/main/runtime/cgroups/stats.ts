// The gauges a cgroup reports, and parsers for the cgroup file formats they are read from.
import { readFileSync } from 'node:fs';

/** null means "not available" (controller missing) or, for the *Max fields, "no limit". */
export interface CgroupStats {
  pidsCurrent: number | null;
  pidsMax: number | null;
  /** fork()/clone() calls refused because pids.max was reached (pids.events "max"). */
  pidsRejected: number | null;
  memoryCurrent: number | null;
  memoryMax: number | null;
  memoryEvents: {
    /** times the OOM killer was invoked (v1 has no such counter: same as oomKill there) */
    oom: number | null;
    /** processes killed by the OOM killer */
    oomKill: number | null;
    /** times usage hit the limit (v2 memory.events "max", v1 memory.failcnt) */
    max: number | null;
  };
  /** total CPU time used, µs */
  cpuUsageUsec: number | null;
  /** CFS periods in which the cgroup was throttled */
  nrThrottled: number | null;
  /** total time spent throttled, µs */
  throttledUsec: number | null;
}

export function emptyStats(): CgroupStats {
  return {
    pidsCurrent: null,
    pidsMax: null,
    pidsRejected: null,
    memoryCurrent: null,
    memoryMax: null,
    memoryEvents: { oom: null, oomKill: null, max: null },
    cpuUsageUsec: null,
    nrThrottled: null,
    throttledUsec: null,
  };
}

/** v1 memory.limit_in_bytes reads back as PAGE_COUNTER_MAX * page size when unlimited. */
const V1_UNLIMITED = 2n ** 62n;

/** "max" → null, "123" → 123; huge v1 "unlimited" values → null. */
export function parseLimitValue(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || t === '-1') return null;
  if (!/^\d+$/.test(t)) throw new Error(`unexpected cgroup value ${JSON.stringify(t)}`);
  if (BigInt(t) >= V1_UNLIMITED) return null;
  return Number(t);
}

/** Flat-keyed files ("key value" per line: cpu.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** Reads a cgroup file, or undefined when it does not exist or cannot be read. */
export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readNumber(path: string): number | null {
  const t = readOptional(path);
  return t === undefined ? null : parseLimitValue(t);
}

export function readKey(path: string, key: string): number | null {
  const t = readOptional(path);
  return t === undefined ? null : (parseFlatKeyed(t).get(key) ?? null);
}
