// The default hardening every container gets, as Program steps (the same defaults runc and Docker
// apply): masked and read-only /proc and /sys paths, a session keyring of its own, the capability
// bounding set cut to DEFAULT_CAPS, and no_new_privs. Pure but for the host's CPU list, read once
// (as moby does) for the thermal_throttle masks; the caller passes the kernel's last capability number.
import { existsSync, readFileSync } from 'node:fs';
import { MS, PR } from '../../../../native/constants';
import type { Program } from '../../../../native/program';
import type { SeccompMode } from '../../../shared/types';
import { DEFAULT_CAPS, capMask, capName, capsToDrop, lastCap, type CapName } from './capabilities';
import { installDefaultSeccomp } from './seccomp';

const ENOENT = 2;
/** keyctl(2) command: join (here: make, as the name is NULL) a new anonymous session keyring. */
const KEYCTL_JOIN_SESSION_KEYRING = 1;

/** CPU numbers of a kernel cpu list such as "0-3,8" (/sys/devices/system/cpu/possible). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b = a] = part.split('-').map(Number);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** Per-CPU thermal interrupt counters the host has (moby masks them: GHSA-6fw5-f8r9-fgfm). */
function thermalThrottleDirs(): string[] {
  let cpus: number[] = [];
  try {
    cpus = parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  } catch {
    return [];
  }
  return cpus.map((n) => `/sys/devices/system/cpu/cpu${n}/thermal_throttle`).filter((d) => existsSync(d));
}

// Docker's lists (moby daemon/pkg/oci/defaults.go). runc bind-mounts /dev/null over a masked file
// and an empty read-only tmpfs over a masked directory; which is which is fixed here, as the plan
// is made before the container's /proc exists.
/** Files that show host-wide kernel state: /dev/null is bound over them (reads give nothing). */
export const MASKED_FILES = [
  '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug', '/proc/timer_list', '/proc/timer_stats',
];
/** Directories covered by an empty read-only tmpfs. */
export const MASKED_DIRS = [
  '/proc/acpi', '/proc/asound', '/proc/scsi', '/sys/devices/virtual/powercap', '/sys/firmware', ...thermalThrottleDirs(),
];
/** Kernel knobs the container may read but not write. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Masks and write-protects paths of the container's /proc and /sys. Runs after pivot_root (paths are
 * the container's); a path this kernel lacks is skipped (ENOENT accepted). Accepting ENOENT is safe
 * only because /proc and /sys are then known to be the procfs and sysfs the plan mounted: their
 * mountpoints were opened as real directories inside the root (populateRoot refuses a symlink),
 * so a missing path is the kernel's, never an image's trick to skip a mask. Remounts carry
 * nosuid/nodev/noexec because /proc has them: inside a user namespace they are locked, and a
 * remount that would clear them fails with EPERM.
 */
export function maskPaths(p: Program): void {
  for (const f of MASKED_FILES) p.mount('/dev/null', f, null, MS.BIND).allowErrno(ENOENT);
  for (const d of MASKED_DIRS) p.mount('tmpfs', d, 'tmpfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC).allowErrno(ENOENT);
  const locked = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  for (const r of READONLY_PATHS) {
    p.mount(r, r, null, MS.BIND | MS.REC).allowErrno(ENOENT);
    p.mount(null, r, null, MS.BIND | MS.REMOUNT | MS.RDONLY | locked).allowErrno(ENOENT);
  }
}

/**
 * The last steps before execve: drop every capability outside `keep` from the bounding set, set
 * effective/permitted to `keep` (inheritable empty), and set no_new_privs so no later execve (setuid,
 * file capabilities) can gain anything. In a user namespace these are the namespace's capabilities.
 */
export function dropPrivileges(p: Program, last = lastCap(), keep: readonly CapName[] = DEFAULT_CAPS, seccomp: SeccompMode = 'default', user?: { uid: number; gid: number; groups?: number[] }): void {
  // The bounding set first: dropping from it needs CAP_SETPCAP, which a non-root --user loses.
  for (const n of capsToDrop(keep, last)) p.prctl(PR.CAPBSET_DROP, n, capName(n));
  if (user) {
    // --user: the supplementary groups /etc/group gives the user (none for a bare UID), then the
    // ids; leaving uid 0 clears the effective and permitted sets (no SECBIT_KEEP_CAPS), so a
    // non-root user holds none, as with docker.
    p.setresgid(user.gid);
    p.setGroups(user.groups ?? []);
    p.setresuid(user.uid);
  }
  const mask = user && user.uid !== 0 ? 0n : capMask(keep);
  // Inheritable stays empty (CVE-2022-24769): a file with inheritable capabilities gains nothing.
  p.capset(mask, mask, 0n);
  p.prctl(PR.SET_NO_NEW_PRIVS, 1);
  // Docker's default seccomp profile, decided for `keep`; 'unconfined' (--security-opt seccomp=unconfined) skips it.
  if (seccomp === 'default') installDefaultSeccomp(p, keep);
}

/**
 * A new anonymous session keyring (runc's "join session keyring"): without it the container
 * shares the caller's session keyring and can read or use the caller's keys.
 */
export function ownSessionKeyring(p: Program): void {
  p.keyctl(KEYCTL_JOIN_SESSION_KEYRING, 'KEYCTL_JOIN_SESSION_KEYRING', null);
}
