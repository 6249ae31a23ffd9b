// spec → plan: every syscall a container's init makes before execve, decided here in TypeScript
// and run by the native step. Pure: the same inputs give the same program, so it can be shown,
// tested and compared with `unshare`/runc equivalents.
import type { Namespace } from '../../shared/types';
import { CLONE, MNT, MS, PR, TIOCSCTTY } from '../../../native/constants';
import { Program } from '../../../native/program';

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

function mountRoot(p: Program, input: PlanInput, layer: Layer): void {
  const root = rootDir(layer);
  const has = (n: Namespace): boolean => input.namespaces.includes(n);
  if (layer.kind === 'overlay') {
    p.mount('overlay', root, 'overlay', 0, `lowerdir=${layer.lower},upperdir=${layer.upper},workdir=${layer.work}`);
  } else {
    p.mount(root, root, null, MS.BIND | MS.REC);
  }
  p.mkdir(`${root}/proc`, 0o555);
  if (has('pid')) p.mount('proc', `${root}/proc`, 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else p.mount('/proc', `${root}/proc`, null, MS.BIND | MS.REC);

  p.mkdir(`${root}/dev`, 0o755);
  p.mount('tmpfs', `${root}/dev`, 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k');
  for (const d of DEVICES) {
    p.touch(`${root}/dev/${d}`, 0o666);
    p.mount(`/dev/${d}`, `${root}/dev/${d}`, null, MS.BIND);
  }
  p.mkdir(`${root}/dev/pts`, 0o755);
  p.mount('devpts', `${root}/dev/pts`, 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620');
  p.symlink('pts/ptmx', `${root}/dev/ptmx`);
  p.mkdir(`${root}/dev/shm`, 0o1777);
  p.mount('shm', `${root}/dev/shm`, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k');
  p.symlink('/proc/self/fd', `${root}/dev/fd`);
  p.symlink('/proc/self/fd/0', `${root}/dev/stdin`);
  p.symlink('/proc/self/fd/1', `${root}/dev/stdout`);
  p.symlink('/proc/self/fd/2', `${root}/dev/stderr`);
  if (input.tty) {
    p.touch(`${root}/dev/console`, 0o620);
    p.mount(input.tty.slavePath, `${root}/dev/console`, null, MS.BIND);
  }
  p.mkdir(`${root}/tmp`, 0o1777);
  p.mount('tmpfs', `${root}/tmp`, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777');
  p.mkdir(`${root}/sys`, 0o555);
  // sysfs shows the network namespace of its mounter; without a net namespace a non-root user may not mount it.
  if (has('net') || !input.rootless) p.mount('sysfs', `${root}/sys`, 'sysfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else p.mount('/sys', `${root}/sys`, null, MS.BIND | MS.REC);

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no way back.
  p.chdir(root);
  p.pivotRoot('.', '.');
  p.umount2('.', MNT.DETACH);
  p.chdir('/');
}

export function buildPlan(input: PlanInput): Plan {
  const has = (n: Namespace): boolean => input.namespaces.includes(n);
  const flags = input.namespaces.reduce((f, n) => f | NS_FLAG[n], 0);
  const p = new Program();
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
    // Become root of the new namespace, so files it creates belong to a mapped id.
    p.setresgid(0);
    if (!input.rootless) p.clearGroups();
    p.setresuid(0);
  }
  if (has('mnt')) {
    p.mount(null, '/', null, MS.REC | MS.PRIVATE);
    if (input.layer) mountRoot(p, input, input.layer);
  }
  if (has('uts') && input.hostname) p.sethostname(input.hostname);
  p.chdir(input.workdir);
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
  p.execve(input.executable, input.argv, input.env);
  return { flags, program: p, uidMap, gidMap, denySetgroups: has('user') && input.rootless };
}

export function formatIdMap(map: IdMap[]): string {
  return map.map((m) => `${m.inside} ${m.outside} ${m.count}\n`).join('');
}
