// User-facing resource limits (--memory, --cpus, --pids-limit): parsing, validation, and the
// values each cgroup version wants written.
import { availableParallelism } from 'node:os';
import * as grammar from '../../../shared/grammar';
import { problemLine, type Parsed } from '../../../shared/grammar';

export interface Limits {
  /** Memory limit in bytes. */
  memory?: number;
  /** CPU time as a number of CPUs, e.g. 0.5 = half of one CPU. */
  cpus?: number;
  /** Maximum number of processes and threads. */
  pidsLimit?: number;
}

/** Raw flag values as typed by the user (CLI strings or form fields). */
export interface LimitFlags {
  memory?: string | number;
  cpus?: string | number;
  pidsLimit?: string | number;
}

/** The CFS period used for --cpus, in microseconds (the kernel's and docker's default). */
export const CPU_PERIOD_US = 100_000;
export { MIN_MEMORY } from '../../../shared/grammar';

/** The shared grammar's answer, or a one-line error naming the flag (the rules live in app/shared/grammar.ts). */
function orThrow<T>(flag: string, input: string | number, r: Parsed<T>): T {
  if (!r.ok) throw new Error(problemLine(flag, input, r.problem));
  return r.value;
}

/** "64m", "1g", "512k", "1.5g", "1048576" → bytes. Throws a one-line error naming --memory. */
export function parseMemory(input: string | number): number {
  return orThrow('--memory', input, grammar.parseMemory(input));
}

/** "0.5" → 0.5 CPUs. Between 0.01 and the number of CPUs on this machine. */
export function parseCpus(input: string | number, ncpu = availableParallelism()): number {
  return orThrow('--cpus', input, grammar.parseCpus(input, ncpu));
}

/** "20" → 20. An integer from 1 to the kernel's PID_MAX_LIMIT. */
export function parsePidsLimit(input: string | number): number {
  return orThrow('--pids-limit', input, grammar.parsePidsLimit(input));
}

/** Parses every flag that is set; empty strings count as unset. */
export function parseLimits(flags: LimitFlags, ncpu = availableParallelism()): Limits {
  const set = (v: string | number | undefined): v is string | number => v !== undefined && String(v).trim() !== '';
  const out: Limits = {};
  if (set(flags.memory)) out.memory = parseMemory(flags.memory);
  if (set(flags.cpus)) out.cpus = parseCpus(flags.cpus, ncpu);
  if (set(flags.pidsLimit)) out.pidsLimit = parsePidsLimit(flags.pidsLimit);
  return out;
}

export function hasLimits(l: Limits): boolean {
  return l.memory !== undefined || l.cpus !== undefined || l.pidsLimit !== undefined;
}

/** CFS quota in µs per CPU_PERIOD_US for a number of CPUs (kernel minimum 1000 µs). */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

/** v2 cpu.max content: 0.5 → "50000 100000". */
export function v2CpuMax(cpus: number): string {
  return `${cpuQuotaUs(cpus)} ${CPU_PERIOD_US}`;
}

/** v1 cpu.cfs_quota_us / cpu.cfs_period_us values. */
export function v1CpuQuota(cpus: number): { quotaUs: number; periodUs: number } {
  return { quotaUs: cpuQuotaUs(cpus), periodUs: CPU_PERIOD_US };
}

/** 67108864 → "64m" (for display). */
export function formatBytes(n: number): string {
  for (const [u, f] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  }
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)}m`;
  return `${n}`;
}
