// Preflight: can this machine run Locker containers, and if not, what to change. Each check reads
// the real system; the judging parts take their inputs as arguments so they can be tested alone.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE, MS } from '../../../native/constants';
import { getgid, getuid, reapBlocking } from '../../../native/libc';
import { Program } from '../../../native/program';
import { spawnProcess } from '../../../native/spawn';
import { hostLayout, type CgroupLayout } from '../runtime/cgroups';
import { dataDir } from '../runtime/data-dir';
import { chooseSource, type RootfsSource } from '../runtime/rootfs/default-rootfs';
import { decodeWaitStatus } from '../runtime/wait';
import { networkCheck } from './network';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface UsernsSysctls {
  maxUserNamespaces?: string;
  unprivilegedUsernsClone?: string;
  apparmorRestrict?: string;
}

function sysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readUsernsSysctls(): UsernsSysctls {
  return {
    maxUserNamespaces: sysctl('user.max_user_namespaces'),
    unprivilegedUsernsClone: sysctl('kernel.unprivileged_userns_clone'),
    apparmorRestrict: sysctl('kernel.apparmor_restrict_unprivileged_userns'),
  };
}

/** Whether /proc/self/uid_map is the initial namespace's identity map (not inside a user namespace). */
export function isInitialUidMap(uidMap: string): boolean {
  return uidMap.trim().split(/\s+/).join(' ') === '0 0 4294967295';
}

export function privilegeCheck(uid: number, uidMap: string): Check {
  if (uid === 0 && !isInitialUidMap(uidMap)) {
    return {
      id: 'privileges', title: 'Privileges', status: 'warn',
      detail: `uid 0 inside a user namespace (uid_map: ${uidMap.trim().replace(/\s+/g, ' ')}): root here is not root on the host, so cgroups and some mounts may be refused`,
      fix: 'run locker on the host, or as an ordinary user there',
    };
  }
  if (uid === 0) {
    return { id: 'privileges', title: 'Privileges', status: 'ok', detail: 'running as root: every namespace is optional, cgroup limits are available' };
  }
  return {
    id: 'privileges', title: 'Privileges', status: 'ok',
    detail: `running as uid ${uid} (rootless): every container gets a user namespace that maps uid ${uid} to root inside`,
  };
}

/** Judges the sysctls that forbid user namespaces: needed always when rootless, optional as root. */
export function usernsSysctlCheck(s: UsernsSysctls, rootless: boolean): Check {
  const seen = [
    `user.max_user_namespaces=${s.maxUserNamespaces ?? 'absent'}`,
    `kernel.unprivileged_userns_clone=${s.unprivilegedUsernsClone ?? 'absent'}`,
    `kernel.apparmor_restrict_unprivileged_userns=${s.apparmorRestrict ?? 'absent'}`,
  ].join(', ');
  const base = { id: 'userns-sysctl', title: 'User namespaces allowed' };
  const bad = rootless ? 'fail' : 'warn';
  const asRoot = rootless ? '' : ' (as root only --ns user needs it)';
  if (s.maxUserNamespaces === '0') {
    return { ...base, status: bad, detail: `user namespaces are disabled${asRoot}: ${seen}`, fix: 'sysctl -w user.max_user_namespaces=15000' };
  }
  if (rootless && s.unprivilegedUsernsClone === '0') {
    return { ...base, status: 'fail', detail: `unprivileged user namespaces are disabled: ${seen}`, fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (or run as root)' };
  }
  if (rootless && s.apparmorRestrict === '1') {
    return {
      ...base, status: 'fail', detail: `AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+): ${seen}`,
      fix: 'install an AppArmor profile allowing userns for node/electron, or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or run as root)',
    };
  }
  return { ...base, status: 'ok', detail: seen };
}

function writeIdMaps(pid: number, uid: number, gid: number): void {
  writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  writeFileSync(`/proc/${pid}/uid_map`, `0 ${uid} 1\n`);
  writeFileSync(`/proc/${pid}/gid_map`, `0 ${gid} 1\n`);
}

/** Runs program in a child cloned with flags (plus a user namespace mapping us to root when rootless); returns its wait status. */
function probe(flags: number, program: Program, rootless: boolean): number {
  const userns = rootless || (flags & CLONE.NEWUSER) !== 0;
  const uid = getuid();
  const gid = getgid();
  const spawned = spawnProcess({
    flags: flags | (rootless ? CLONE.NEWUSER : 0),
    program,
    beforeContinue: userns && rootless ? (pid) => writeIdMaps(pid, uid, gid) : undefined,
  });
  return reapBlocking(spawned.pid);
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const TRUE = ['/bin/true', '/usr/bin/true'].find((p) => existsSync(p)) ?? '/bin/true';

/** A real user namespace from the runtime's native step, running /bin/true. */
export function usernsProbeCheck(rootless: boolean): Check {
  const base = { id: 'userns-probe', title: 'User namespace probe' };
  try {
    const status = probe(CLONE.NEWUSER, new Program().execve(TRUE, [TRUE], []), false);
    const { exitCode } = decodeWaitStatus(status);
    if (exitCode !== 0) return { ...base, status: rootless ? 'fail' : 'warn', detail: `${TRUE} in a new user namespace exited with ${exitCode}` };
    return { ...base, status: 'ok', detail: `clone(CLONE_NEWUSER) and execve(${TRUE}) succeeded` };
  } catch (e) {
    return {
      ...base, status: rootless ? 'fail' : 'warn', detail: errText(e),
      fix: rootless ? 'allow unprivileged user namespaces (see the check above) or run as root' : 'only --ns user needs it; allow user namespaces to use it',
    };
  }
}

/** cgroup version and whether Locker may create cgroups (for --memory/--cpus/--pids-limit). */
export function cgroupCheck(layout: CgroupLayout): Check {
  const base = { id: 'cgroups', title: 'cgroups' };
  const where: string[] = [];
  if (layout.v2Root) where.push(`v2 at ${layout.v2Root}`);
  const v1 = Object.entries(layout.v1Roots).map(([c, p]) => `${c}=${p}`);
  if (v1.length) where.push(`v1 ${v1.join(' ')}`);
  const backends = Object.entries(layout.backend).map(([c, b]) => `${c}:${b ?? 'none'}`).join(' ');
  const detail = `${layout.version}${where.length ? ` (${where.join('; ')})` : ''}; limits ${backends}` +
    (layout.rootless ? `; delegated: ${layout.v2Parent ?? 'no'}` : '');
  if (layout.version === 'none') return { ...base, status: 'warn', detail, fix: 'mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup' };
  if (layout.reason) {
    const fix = layout.rootless
      ? 'run as root, or on a cgroup v2 host with delegation: systemd-run --user --scope -p Delegate=yes locker …'
      : 'enable the missing controllers (cgroup_enable=… on the kernel command line, or cgroup.subtree_control on v2)';
    return { ...base, status: 'warn', detail: `${detail}; ${layout.reason}`, fix };
  }
  return { ...base, status: 'ok', detail };
}

export function overlayListedCheck(filesystems: string): Check {
  const base = { id: 'overlay-listed', title: 'overlayfs in /proc/filesystems' };
  const listed = filesystems.split('\n').some((l) => l.trim().split(/\s+/).pop() === 'overlay');
  if (listed) return { ...base, status: 'ok', detail: 'overlay is registered' };
  return { ...base, status: 'warn', detail: 'overlay is not registered (it may load on first mount); without it each container gets a full copy of its rootfs', fix: 'modprobe overlay' };
}

/**
 * Mounts an overlay inside a fresh mount namespace (user namespace too when rootless) of a probe
 * child, never on the host, in the data dir when it exists (where layers live), else the temp dir.
 */
export function overlayProbeCheck(rootless: boolean, where = existsSync(dataDir()) ? dataDir() : tmpdir()): Check {
  const base = { id: 'overlay-probe', title: 'overlayfs probe' };
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(where, '.doctor-overlay-'));
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(dir!, d));
    if (/[,:\\]/.test(dir)) throw new Error(`${dir} has a character overlayfs options cannot carry`);
    for (const d of [lower, upper, work, merged]) mkdirSync(d);
    writeFileSync(join(lower, 'probe'), 'lower\n');
    // The probe file in the lower layer must show through the merged view.
    const p = new Program()
      .mount(null, '/', null, MS.REC | MS.PRIVATE)
      .mount('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${upper},workdir=${work}`)
      .chdir(merged)
      .execve('/bin/sh', ['sh', '-c', 'test "$(cat probe)" = lower && echo upper > probe'], ['PATH=/usr/bin:/bin']);
    const status = probe(CLONE.NEWNS, p, rootless);
    const { exitCode } = decodeWaitStatus(status);
    if (exitCode !== 0) return { ...base, status: 'warn', detail: `the overlay mounted but its merged view was wrong (probe exited with ${exitCode})` };
    // A write through the merged view lands in the upper layer, never in the lower one.
    const upperText = readFileSync(join(upper, 'probe'), 'utf8');
    const lowerText = readFileSync(join(lower, 'probe'), 'utf8');
    if (upperText !== 'upper\n' || lowerText !== 'lower\n') return { ...base, status: 'warn', detail: 'the overlay mounted but a write did not reach the upper layer' };
    return { ...base, status: 'ok', detail: `mounted overlay in a private mount namespace${rootless ? ' inside a user namespace' : ''} under ${where}` };
  } catch (e) {
    return {
      ...base, status: 'warn', detail: `${errText(e)}; containers fall back to a full copy of the rootfs (slower start, more disk)`,
      fix: rootless ? 'rootless overlayfs needs Linux ≥ 5.11 and a data dir on a filesystem that supports it (set LOCKER_DATA_DIR)' : 'modprobe overlay, or put LOCKER_DATA_DIR on ext4/xfs',
    };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export function parseKernelVersion(rel: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function kernelCheck(rel: string): Check {
  const base = { id: 'kernel', title: 'Kernel version' };
  const v = parseKernelVersion(rel);
  if (!v) return { ...base, status: 'warn', detail: `cannot parse kernel release "${rel}"` };
  const atLeast = (a: number, b: number): boolean => v[0] > a || (v[0] === a && v[1] >= b);
  if (!atLeast(5, 6)) {
    return { ...base, status: 'fail', detail: `Linux ${rel}: openat2 (5.6) is missing; Locker resolves commands inside the rootfs with it`, fix: 'upgrade to Linux 5.11 or newer' };
  }
  if (!atLeast(5, 11)) {
    return { ...base, status: 'warn', detail: `Linux ${rel}: overlayfs in a user namespace needs 5.11; rootless containers use a full copy`, fix: 'upgrade to Linux 5.11 or newer' };
  }
  return { ...base, status: 'ok', detail: `Linux ${rel} (openat2 needs 5.6, unprivileged overlayfs 5.11)` };
}

export function busyboxCheck(source: RootfsSource): Check {
  const base = { id: 'busybox', title: 'busybox-static (default rootfs)' };
  if (source.kind === 'busybox') return { ...base, status: 'ok', detail: `static busybox at ${source.path}` };
  return {
    ...base, status: 'warn', detail: 'no static busybox: the default rootfs is built from host binaries and their libraries',
    fix: 'apt-get install busybox-static',
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function runChecks(): Check[] {
  const uid = getuid();
  const rootless = uid !== 0;
  const filesystems = readText('/proc/filesystems');
  let cgroups: Check;
  try {
    cgroups = cgroupCheck(hostLayout());
  } catch (e) {
    cgroups = { id: 'cgroups', title: 'cgroups', status: 'warn', detail: `cannot detect: ${errText(e)}` };
  }
  return [
    privilegeCheck(uid, readText('/proc/self/uid_map')),
    usernsSysctlCheck(readUsernsSysctls(), rootless),
    usernsProbeCheck(rootless),
    cgroups,
    overlayListedCheck(filesystems),
    overlayProbeCheck(rootless),
    kernelCheck(release()),
    busyboxCheck(chooseSource()),
    networkCheck(rootless),
  ];
}
