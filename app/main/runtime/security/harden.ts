// The default hardening every container gets, as Program steps (the same defaults runc and Docker
// apply): masked and read-only /proc and /sys paths, the capability bounding set cut to
// DEFAULT_CAPS, and no_new_privs. Pure: the caller passes the kernel's last capability number.
import { MS, PR } from '../../../../native/constants';
import type { Program } from '../../../../native/program';
import { DEFAULT_CAPS, capMask, capName, capsToDrop, lastCap, type CapName } from './capabilities';

const ENOENT = 2;

/** Files that show host-wide kernel state: /dev/null is bound over them (reads give nothing). */
export const MASKED_FILES = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats'];
/** Directories covered by an empty read-only tmpfs. */
export const MASKED_DIRS = ['/proc/acpi', '/proc/scsi', '/sys/firmware'];
/** Kernel knobs the container may read but not write. */
export const READONLY_PATHS = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'];

/**
 * Masks and write-protects paths of the container's /proc and /sys. Runs after pivot_root (paths are
 * the container's); a path this kernel lacks is skipped (ENOENT accepted). Remounts carry
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
 * effective/permitted/inheritable to `keep`, and set no_new_privs so no later execve (setuid,
 * file capabilities) can gain anything. In a user namespace these are the namespace's capabilities.
 */
export function dropPrivileges(p: Program, last = lastCap(), keep: readonly CapName[] = DEFAULT_CAPS): void {
  for (const n of capsToDrop(keep, last)) p.prctl(PR.CAPBSET_DROP, n, capName(n));
  const mask = capMask(keep);
  p.capset(mask, mask, mask);
  p.prctl(PR.SET_NO_NEW_PRIVS, 1);
}
