// spec → plan: every syscall a container's init makes before execve, decided here in TypeScript
// and run by the native step. Pure: the same inputs give the same program, so it can be shown,
// tested and compared with `unshare`/runc equivalents.
import type { Namespace } from '../../shared/types';
import { CLONE, MNT, MS, PR, TIOCSCTTY } from '../../../native/constants';
import { Program } from '../../../native/program';
import { dropPrivileges, maskPaths } from './security/harden';

export const NS_FLAG: Record<Namespace, number> = {
  pid: CLONE.NEWPID, uts: CLONE.NEWUTS, mnt: CLONE.NEWNS, user: CLONE.NEWUSER,
  ipc: CLONE.NEWIPC, net: CLONE.NEWNET, cgroup: CLONE.NEWCGROUP,
};

/** The writable layer over the image: overlayfs, or a private copy when overlayfs is refused. */
export type Layer =
  | { kind: 'overlay'; lower: string; upper: string; work: string; merged: string }
  | { kind: 'copy'; dir: string };

export interface IdMap { inside: number; outside: number; count: number }

export interface PlanInput {
  namespaces: Namespace[];
  rootless: boolean;
  uid: number;
  gid: number;
  /** Set when the container gets its own root (mnt namespace). */
  layer?: Layer;
  hostname?: string;
  workdir: string;
  /** Absolute path of the program, as the container sees it. */
  executable: string;
  argv: string[];
  env: string[];
  /** pty slave: fd in the parent (inherited by clone) and its host path (bound over /dev/console). */
  tty?: { slaveFd: number; slavePath: string };
  /**
   * The parent moves the child into its own cgroup while it waits: the cgroup namespace is then
   * made by the child, after the move, so its root is that cgroup (as runc does).
   */
  joinsCgroup?: boolean;
  /** The kernel's highest capability number (/proc/sys/kernel/cap_last_cap); read from the host when omitted. */
  lastCap?: number;
}

export interface Plan {
  flags: number;
  program: Program;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  /** Rootless maps need setgroups denied first (user_namespaces(7)). */
  denySetgroups: boolean;
}

/** Where a rootful container with a user namespace maps its root: an unprivileged range. */
export const ROOTFUL_USERNS_BASE = 100000;

export function rootDir(layer: Layer): string {
  return layer.kind === 'overlay' ? layer.merged : layer.dir;
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * Mounts the writable layer over its own path and enters it; the rest of the setup is relative to it.
 * nodev: root keeps CAP_MKNOD (Docker's default set), so a node made in the rootfs must not open a
 * host device; the devices a container gets are bind mounts of their own. (In a user namespace
 * mknod of a device is refused anyway.)
 */
function attachRoot(p: Program, layer: Layer, nodev: boolean): void {
  const root = rootDir(layer);
  if (layer.kind === 'overlay') {
    p.mount('overlay', root, 'overlay', nodev ? MS.NODEV : 0, `lowerdir=${layer.lower},upperdir=${layer.upper},workdir=${layer.work}`);
  } else {
    p.mount(root, root, null, MS.BIND | MS.REC);
    if (nodev) p.mount(null, root, null, MS.BIND | MS.REMOUNT | MS.NODEV);
  }
  p.chdir(root);
}

/** Fills the new root (the current directory) with /proc, /dev, /tmp and /sys, then pivots into it. */
function populateRoot(p: Program, input: PlanInput): void {
  const has = (n: Namespace): boolean => input.namespaces.includes(n);
  p.mkdir('proc', 0o555);
  if (has('pid')) p.mount('proc', 'proc', 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else p.mount('/proc', 'proc', null, MS.BIND | MS.REC);

  p.mkdir('dev', 0o755);
  p.mount('tmpfs', 'dev', 'tmpfs', MS.NOSUID | MS.NODEV | MS.STRICTATIME, 'mode=755,size=65536k');
  for (const d of DEVICES) {
    p.touch(`dev/${d}`, 0o666);
    p.mount(`/dev/${d}`, `dev/${d}`, null, MS.BIND);
  }
  p.mkdir('dev/pts', 0o755);
  p.mount('devpts', 'dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620');
  p.symlink('pts/ptmx', 'dev/ptmx');
  p.mkdir('dev/shm', 0o1777);
  p.mount('shm', 'dev/shm', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k');
  p.symlink('/proc/self/fd', 'dev/fd');
  p.symlink('/proc/self/fd/0', 'dev/stdin');
  p.symlink('/proc/self/fd/1', 'dev/stdout');
  p.symlink('/proc/self/fd/2', 'dev/stderr');
  if (input.tty) {
    p.touch('dev/console', 0o620);
    p.mount(input.tty.slavePath, 'dev/console', null, MS.BIND);
  }
  p.mkdir('tmp', 0o1777);
  p.mount('tmpfs', 'tmp', 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777');
  p.mkdir('sys', 0o555);
  // sysfs belongs to a network namespace: inside a user namespace it may be mounted only with a net namespace of its own.
  if (has('net') || !has('user')) p.mount('sysfs', 'sys', 'sysfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else p.mount('/sys', 'sys', null, MS.BIND | MS.REC);

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no way back.
  p.pivotRoot('.', '.');
  p.umount2('.', MNT.DETACH);
  p.chdir('/');
  maskPaths(p);
}

export function buildPlan(input: PlanInput): Plan {
  const has = (n: Namespace): boolean => input.namespaces.includes(n);
  const lateCgroupNs = has('cgroup') && input.joinsCgroup === true;
  const flags = input.namespaces.reduce((f, n) => (n === 'cgroup' && lateCgroupNs ? f : f | NS_FLAG[n]), 0);
  const p = new Program();
  if (lateCgroupNs) p.unshare(CLONE.NEWCGROUP);
  let uidMap: IdMap[] | undefined;
  let gidMap: IdMap[] | undefined;
  if (has('user')) {
    if (input.rootless) {
      uidMap = [{ inside: 0, outside: input.uid, count: 1 }];
      gidMap = [{ inside: 0, outside: input.gid, count: 1 }];
    } else {
      uidMap = [{ inside: 0, outside: ROOTFUL_USERNS_BASE, count: 65536 }];
      gidMap = [{ inside: 0, outside: ROOTFUL_USERNS_BASE, count: 65536 }];
    }
  }
  if (has('mnt')) {
    p.mount(null, '/', null, MS.REC | MS.PRIVATE);
    if (input.layer) attachRoot(p, input.layer, !has('user'));
  }
  if (has('user')) {
    // Become root of the new namespace only now: reaching the layer may cross directories (a 0700
    // home) only the host identity may enter, and files made from here on must belong to mapped ids.
    p.setresgid(0);
    if (!input.rootless) p.clearGroups();
    p.setresuid(0);
  }
  if (has('mnt') && input.layer) populateRoot(p, input);
  if (has('uts') && input.hostname) p.sethostname(input.hostname);
  p.chdir(input.workdir);
  // An inherited fd reached through /proc/self/fd/N would leave the cwd on the host (CVE-2024-21626).
  p.getcwd();
  if (input.tty) {
    p.setsid();
    for (const fd of [0, 1, 2]) p.dup2(input.tty.slaveFd, fd);
    p.ioctl(0, TIOCSCTTY, 'TIOCSCTTY', 0);
  } else {
    for (const fd of [0, 1, 2]) p.keepOnExec(fd);
  }
  // If the runtime dies, its containers die with it instead of running on unseen.
  p.prctl(PR.SET_PDEATHSIG, 9);
  p.cloexecFrom(3);
  // Last, as they take away CAP_SYS_ADMIN that the mounts and pivot_root above needed.
  dropPrivileges(p, input.lastCap);
  p.execve(input.executable, input.argv, input.env);
  return { flags, program: p, uidMap, gidMap, denySetgroups: has('user') && input.rootless };
}

export function formatIdMap(map: IdMap[]): string {
  return map.map((m) => `${m.inside} ${m.outside} ${m.count}\n`).join('');
}
