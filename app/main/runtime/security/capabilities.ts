// Linux capabilities by number, and the set a container keeps: Docker's default list. Everything
// else is dropped from the bounding set (PR_CAPBSET_DROP) before execve, so neither the command nor
// anything it execs (setuid binaries, file capabilities) can get it back.
import { readFileSync } from 'node:fs';

/** capabilities(7) numbers, CAP_ prefix left off. */
export const CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;
export type CapName = (typeof CAPS)[number];

/**
 * The documented default, the same 14 capabilities Docker (moby's oci/caps/defaults.go) keeps.
 * Notably absent: SYS_ADMIN (mount, pivot_root, setns), SYS_MODULE, SYS_RAWIO, SYS_PTRACE,
 * SYS_TIME, NET_ADMIN, DAC_READ_SEARCH, SYS_BOOT, BPF, PERFMON.
 */
export const DEFAULT_CAPS: readonly CapName[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

export const capNumber = (name: CapName): number => CAPS.indexOf(name);

/** CAP_<NAME> for a number, or cap_<n> for one newer than this table. */
export const capName = (n: number): string => (CAPS[n] ? `CAP_${CAPS[n]}` : `cap_${n}`);

export function capMask(names: readonly CapName[]): bigint {
  return names.reduce((m, n) => m | (1n << BigInt(capNumber(n))), 0n);
}

/** Names of the bits in a mask, e.g. for `CapEff:` lines of /proc/PID/status. */
export function capNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(capName(i));
  return out;
}

let kernelLastCap: number | undefined;

/** The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap): read once, it is fixed at boot. */
export function lastCap(): number {
  if (kernelLastCap !== undefined) return kernelLastCap;
  try {
    const n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    if (Number.isInteger(n) && n >= 0 && n < 64) return (kernelLastCap = n);
  } catch {
    // no procfs: fall back to the table
  }
  return CAPS.length - 1;
}

/** Numbers to drop from the bounding set: every capability the kernel knows but the set keeps. */
export function capsToDrop(keep: readonly CapName[] = DEFAULT_CAPS, last = lastCap()): number[] {
  const kept = new Set(keep.map(capNumber));
  const out: number[] = [];
  for (let i = 0; i <= last; i++) if (!kept.has(i)) out.push(i);
  return out;
}
