// spec → plan: every syscall a container's init makes before execve, decided here in TypeScript
// and run by the native step. Pure: the same inputs give the same program, so it can be shown,
// tested and compared with `unshare`/runc equivalents.
import type { Namespace, SeccompMode } from '../../shared/types';
import { CLONE, MNT, MS, PR, SIGNALS, TIOCSCTTY } from '../../../native/constants';
import { Program, type Opened } from '../../../native/program';
import { dropPrivileges, maskPaths, ownSessionKeyring } from './security/harden';
import { bindInside, bindOnFile, mountOnDir, openDir, openRoot } from './rootfs/mountpoints';
import type { Volume } from './spec';
import type { CapName } from './security/capabilities';
import type { CgroupHandle } from './cgroups';

export const NS_FLAG: Record<Namespace, number> = {
  pid: CLONE.NEWPID, uts: CLONE.NEWUTS, mnt: CLONE.NEWNS, user: CLONE.NEWUSER,
  ipc: CLONE.NEWIPC, net: CLONE.NEWNET, cgroup: CLONE.NEWCGROUP,
};

/** The writable layer over the image: overlayfs, or a private copy when overlayfs is refused. */
export type Layer =
  | { kind: 'overlay'; lower: string; upper: string; work: string; merged: string }
  | { kind: 'copy'; dir: string };

export interface IdMap { inside: number; outside: number; count: number }

/**
 * The child's first steps: into the container's cgroup in every hierarchy, through files the
 * parent opened on the host (never a path resolved in the container), before anything else runs.
 */
function joinCgroup(p: Program, files: readonly CgroupHandle[] | undefined): void {
  for (const f of files ?? []) p.write(f.fd, '0', f.path);
}

export interface PlanInput {
  namespaces: Namespace[];
  rootless: boolean;
  uid: number;
  gid: number;
  /** Set when the container gets its own root (mnt namespace). */
  layer?: Layer;
  /** A copy layer's host mount's nosuid/nodev/noexec (hostMountFlags), kept when it is made nodev. */
  layerHostFlags?: string[];
  hostname?: string;
  workdir: string;
  /** Absolute path of the program, as the container sees it. */
  executable: string;
  argv: string[];
  env: string[];
  /** pty slave: fd in the parent (inherited by clone) and its host path (bound over /dev/console). */
  tty?: { slaveFd: number; slavePath: string };
  /** Without a tty: fds in the parent (inherited by clone) that become the container's 0, 1, 2 (default: the parent's own). */
  stdio?: [number, number, number];
  /**
   * The child is in its own cgroup before its first step of its own (born there by clone3, or it
   * writes cgroupFiles): the cgroup namespace is then made by the child, after the move, so its
   * root is that cgroup (as runc does).
   */
  joinsCgroup?: boolean;
  /** The container's cgroup files the child writes "0" to first of all (cgroups/cgroup.ts openCgroupJoin). */
  cgroupFiles?: readonly CgroupHandle[];
  /** The kernel's highest capability number (/proc/sys/kernel/cap_last_cap); read from the host when omitted. */
  lastCap?: number;
  /** The syscall filter installed last before execve; omitted: Docker's default profile. */
  seccomp?: SeccompMode;
  /** Host paths bound into the root (-v, --mount type=bind), made before pivot_root while the host is in reach. */
  volumes?: Volume[];
  /** The capabilities the command keeps (--cap-add/--cap-drop); omitted: Docker's default set. */
  caps?: readonly CapName[];
  /** --read-only: the root remounted read-only once everything is mounted in it. */
  readOnly?: boolean;
  /** --user: the ids the command runs as, set last before execve; omitted: the container's root. */
  user?: { uid: number; gid: number; groups?: number[] };
  /** --init: the host's locker-init, bound read-only onto /dev/init (executable and argv then name it). */
  init?: { source: string; hostFlags: string[] };
  /** --privileged: the host's device nodes (names under /dev) bound in, /sys writable, nothing masked. */
  privileged?: { devices: string[] };
  /**
   * The container's own half of its network (network/setup.ts addContainerSteps): after its mounts,
   * in its new network namespace while it still holds every capability there and before seccomp.
   */
  network?: (p: Program) => void;
  /**
   * A network namespace made ahead with the container's network in it (spare.ts), open in
   * the parent: the child joins it (setns) instead of making one with its clone.
   */
  netnsFd?: number;
  /**
   * The process exists already (a spare's, cloned ahead by spareStart's program, spare.ts): in its
   * cgroup, cgroup and network namespaces, and the PID, UTS and IPC namespaces of its clone. Its
   * program starts with its mount namespace, made now (unshare: the host's mounts as they are now).
   */
  startedAhead?: boolean;
}

/** Where --init's reaper appears inside: the fresh /dev tmpfs, so the image itself is not touched. */
export const INIT_PATH = '/dev/init';

export interface Plan {
  flags: number;
  program: Program;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  /** Rootless maps need setgroups denied first (user_namespaces(7)). */
  denySetgroups: boolean;
  /**
   * The first step that needs the parent's part (id maps, the host's half of the network): where
   * the child waits for it (SpawnOptions.continueAt). In a user namespace that is its first step
   * (nothing works unmapped); otherwise its network steps, so that its mounts and the host's
   * network setup run at the same time.
   */
  hostPartBefore: number;
}

/** Where a rootful container with a user namespace maps its root: an unprivileged range. */
export const ROOTFUL_USERNS_BASE = 100000;

export function rootDir(layer: Layer): string {
  return layer.kind === 'overlay' ? layer.merged : layer.dir;
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * Mounts the writable layer over its own path and enters it; the rest of the setup is relative to it.
 * nodev, always: root keeps CAP_MKNOD (Docker's default set), and an image's own device nodes come
 * along (a user namespace's copy layer is `cp -a` of the image), so no node in the rootfs may open a
 * host device; the devices a container gets are bind mounts of their own.
 */
function attachRoot(p: Program, layer: Layer, hostFlags: readonly string[] = []): void {
  const root = rootDir(layer);
  if (layer.kind === 'overlay') {
    p.mount('overlay', root, 'overlay', MS.NODEV, `lowerdir=${layer.lower},upperdir=${layer.upper},workdir=${layer.work}`);
  } else {
    p.mount(root, root, null, MS.BIND | MS.REC);
    // The host mount's flags kept: a user namespace may not clear them (EPERM), nor should root.
    p.mount(null, root, null, MS.BIND | MS.REMOUNT | MS.NODEV | kept(hostFlags));
  }
  p.chdir(root);
}

/**
 * Fills the new root (the current directory) with /proc, /dev, /tmp and /sys, then pivots into it.
 * Every path is resolved from an fd of the root and never leaves it (rootfs/mountpoints.ts): an
 * image whose `dev` or `proc` is a symlink out (to `/`, `../../..`) is refused, not followed onto
 * the host. Everything in /dev is made in the fresh tmpfs, through an fd of that tmpfs.
 */
function populateRoot(p: Program, input: PlanInput): void {
  const has = (n: Namespace): boolean => input.namespaces.includes(n);
  const root = openRoot(p);
  if (has('pid')) mountOnDir(p, root, 'proc', 0o555, 'proc', 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else mountOnDir(p, root, 'proc', 0o555, '/proc', null, MS.BIND | MS.REC);

  mountOnDir(p, root, 'dev', 0o755, 'tmpfs', 'tmpfs', MS.NOSUID | MS.NODEV | MS.STRICTATIME, 'mode=755,size=65536k');
  // Opened again: the fd opened for the mount names the image's directory under the tmpfs.
  const dev = openDir(p, root, 'dev', 0o755);
  for (const d of DEVICES) bindOnFile(p, dev, d, 0o666, `/dev/${d}`, MS.BIND);
  mountOnDir(p, dev, 'pts', 0o755, 'devpts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620');
  p.symlinkAt('pts/ptmx', dev, 'ptmx');
  mountOnDir(p, dev, 'shm', 0o1777, 'shm', 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k');
  p.symlinkAt('/proc/self/fd', dev, 'fd');
  p.symlinkAt('/proc/self/fd/0', dev, 'stdin');
  p.symlinkAt('/proc/self/fd/1', dev, 'stdout');
  p.symlinkAt('/proc/self/fd/2', dev, 'stderr');
  if (input.tty) bindOnFile(p, dev, 'console', 0o620, input.tty.slavePath, MS.BIND);
  for (const d of input.privileged?.devices ?? []) bindOnFile(p, dev, d, 0o600, `/dev/${d}`, MS.BIND);
  p.close(dev);
  mountOnDir(p, root, 'tmp', 0o1777, 'tmpfs', 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777');
  // sysfs belongs to a network namespace: inside a user namespace it may be mounted only with a net namespace of its own.
  if (has('net') || !has('user')) mountOnDir(p, root, 'sys', 0o555, 'sysfs', 'sysfs', (input.privileged ? 0 : MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else mountOnDir(p, root, 'sys', 0o555, '/sys', null, MS.BIND | MS.REC);
  // a slave volume needs the mount namespace a slave of the host's; all else is made private again first
  const slave = receivesHostMounts(input.volumes);
  if (slave) p.mount(null, '.', null, MS.REC | MS.PRIVATE);
  bindVolumes(p, root, input.volumes ?? [], slave);
  if (input.init) bindInit(p, root, input.init);
  p.close(root);
  // --read-only: the root's own mount only; /dev, /dev/shm, /tmp, /proc and the volumes are mounts of their own.
  if (input.readOnly) p.mount(null, '.', null, MS.BIND | MS.REMOUNT | MS.RDONLY | (has('user') ? 0 : MS.NODEV));

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no way back.
  p.pivotRoot('.', '.');
  p.umount2('.', MNT.DETACH);
  p.chdir('/');
  // --privileged: /proc and /sys as the host has them, as docker's privileged containers see them.
  if (!input.privileged) maskPaths(p);
}

/** --init: the reaper bound read-only (keeping the host mount's locked nosuid/nodev/noexec) onto /dev/init. */
function bindInit(p: Program, root: Opened, init: NonNullable<PlanInput['init']>): void {
  bindInside(p, root, INIT_PATH, init.source, true, MS.BIND | MS.REMOUNT | MS.RDONLY | kept(init.hostFlags));
}

const HOST_FLAG: Record<string, number> = { nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC };
/** hostMountFlags' names as MS_* bits. */
const kept = (names: readonly string[]): number => names.reduce((f, name) => f | (HOST_FLAG[name] ?? 0), 0);

/**
 * -v/--mount binds, after the default mounts (a volume under /tmp lands on the container's tmpfs)
 * and outer targets before inner ones, as docker sorts them. A read-only volume is remounted
 * read-only keeping the host mount's nosuid/nodev/noexec, which a user namespace locks.
 */
function bindVolumes(p: Program, root: Opened, volumes: Volume[], slave: boolean): void {
  const depth = (v: Volume): number => v.target.split('/').length;
  for (const v of [...volumes].sort((a, b) => depth(a) - depth(b))) {
    // a bind of a slave mount is a slave of the same master; without a propagation it is made rprivate (docker's default)
    const propagation = slave ? PROPAGATION[v.propagation ?? 'rprivate'] : undefined;
    bindInside(p, root, v.target, v.source, v.file, v.readonly ? MS.BIND | MS.REMOUNT | MS.RDONLY | kept(v.hostFlags) : undefined, propagation);
  }
}

const PROPAGATION: Record<NonNullable<Volume['propagation']>, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
};

/** Whether a volume asks for the host's later mounts (slave or rslave). */
function receivesHostMounts(volumes: readonly Volume[] | undefined): boolean {
  return (volumes ?? []).some((v) => v.propagation === 'slave' || v.propagation === 'rslave');
}

/** The namespaces of a container cloned ahead (spareStart): Docker's, without a user namespace. */
export const STARTED_AHEAD: readonly Namespace[] = ['pid', 'uts', 'mnt', 'ipc', 'net', 'cgroup'];
/** What its clone makes; the rest are joined (net), made after the cgroup is joined (cgroup) or at its launch (mnt). */
export const STARTED_AHEAD_FLAGS = CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC;

/**
 * The first steps of a container cloned before it is asked for (spare.ts), with STARTED_AHEAD_FLAGS:
 * every fd but those it keeps closed (it waits for as long as no one runs a container, and must
 * hold nothing of the runtime's open: a socket, another container's terminal), its cgroup joined
 * through `cgroupFiles` (or born there: clone3), then its own cgroup namespace, the network
 * namespace made ahead joined, their fds closed, and death with the runtime. Then it waits for the
 * rest (buildPlan with startedAhead), which starts where these end.
 */
export function spareStart(input: { cgroupFiles: readonly CgroupHandle[]; netnsFd: number; keep: readonly number[] }): Program {
  const p = new Program();
  const joined = [...input.cgroupFiles.map((f) => f.fd), input.netnsFd];
  p.closeAllBut([...input.keep, ...joined]);
  joinCgroup(p, input.cgroupFiles);
  p.unshare(CLONE.NEWCGROUP);
  p.setns(input.netnsFd, CLONE.NEWNET);
  for (const fd of joined) p.closeFds(fd, fd);
  p.prctl(PR.SET_PDEATHSIG, SIGNALS.SIGKILL, 'SIGKILL');
  return p;
}

export function buildPlan(input: PlanInput): Plan {
  const has = (n: Namespace): boolean => input.namespaces.includes(n);
  if (input.startedAhead && (input.namespaces.length !== STARTED_AHEAD.length || !STARTED_AHEAD.every(has))) {
    throw new Error(`a container cloned ahead has the namespaces ${STARTED_AHEAD.join(', ')}, not ${input.namespaces.join(', ')}`);
  }
  const lateCgroupNs = has('cgroup') && input.joinsCgroup === true;
  const madeAhead = (n: Namespace): boolean => (n === 'cgroup' && lateCgroupNs) || (n === 'net' && input.netnsFd !== undefined);
  const flags = input.startedAhead ? STARTED_AHEAD_FLAGS : input.namespaces.reduce((f, n) => (madeAhead(n) ? f : f | NS_FLAG[n]), 0);
  const p = new Program();
  if (input.startedAhead) p.unshare(CLONE.NEWNS);
  else {
    joinCgroup(p, input.cgroupFiles);
    if (lateCgroupNs) p.unshare(CLONE.NEWCGROUP);
    // Before sysfs is mounted: a sysfs shows the network namespace of the process that mounts it.
    if (has('net') && input.netnsFd !== undefined) {
      if (has('user')) throw new Error('a network namespace made ahead belongs to the host\'s user namespace; a container with its own cannot join it');
      p.setns(input.netnsFd, CLONE.NEWNET);
    }
  }
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
    // private: nothing the host mounts later reaches the container, unless a volume asks for it (rslave)
    p.mount(null, '/', null, MS.REC | (receivesHostMounts(input.volumes) ? MS.SLAVE : MS.PRIVATE));
    if (input.layer) attachRoot(p, input.layer, input.layerHostFlags);
  }
  // Become root of the new namespace only now: reaching the layer may cross directories (a 0700
  // home) only the host identity may enter, and files made from here on must belong to mapped ids.
  becomeContainerRoot(p, has('user'), input.rootless);
  if (has('mnt') && input.layer) populateRoot(p, input);
  if (has('uts') && input.hostname) p.sethostname(input.hostname);
  p.chdir(input.workdir);
  // An inherited fd reached through /proc/self/fd/N would leave the cwd on the host (CVE-2024-21626).
  p.getcwd();
  const hostPartBefore = has('user') ? 0 : p.steps.length;
  input.network?.(p);
  startContainerProcess(p, input);
  return { flags, program: p, uidMap, gidMap, denySetgroups: has('user') && input.rootless, hostPartBefore };
}

/**
 * The container's identity, for init and exec alike: root of its user namespace (ids 0 there), and
 * none of the caller's supplementary groups (they would follow it in: `setpriv --groups`, a shell's
 * groups). Rootless, setgroups is denied in the namespace (user_namespaces(7)), so they stay.
 */
function becomeContainerRoot(p: Program, inUserNs: boolean, rootless: boolean): void {
  if (inUserNs) p.setresgid(0);
  if (!rootless) p.clearGroups();
  if (inUserNs) p.setresuid(0);
}

/** What the last steps of every container process need (init's PlanInput and ExecPlanInput both have it). */
type ProcessStart = Pick<PlanInput, 'executable' | 'argv' | 'env' | 'stdio' | 'lastCap' | 'seccomp' | 'caps' | 'user'> & { tty?: { slaveFd: number } };

/**
 * The shared tail of init and exec, after the identity is set: the terminal (or stdio), death with
 * the runtime, an own session keyring, no runtime fd past execve, the capability drop with
 * no_new_privs and seccomp, execve.
 */
function startContainerProcess(p: Program, input: ProcessStart): void {
  if (input.tty) {
    p.setsid();
    for (const fd of [0, 1, 2]) p.dup2(input.tty.slaveFd, fd);
    p.ioctl(0, TIOCSCTTY, 'TIOCSCTTY', 0);
  } else if (input.stdio) {
    // The caller's own descriptions of its pipes (fresh ones, blocking: cli/stdio.ts) become 0, 1, 2.
    input.stdio.forEach((fd, i) => (fd === i ? p.keepOnExec(i) : p.dup2(fd, i)));
  } else {
    for (const fd of [0, 1, 2]) p.keepOnExec(fd);
  }
  // If the runtime dies, its containers die with it instead of running on unseen.
  p.prctl(PR.SET_PDEATHSIG, SIGNALS.SIGKILL, 'SIGKILL');
  // After setresuid: the new keyring belongs to the container's root, and the caller's keys are out of reach.
  ownSessionKeyring(p);
  p.cloexecFrom(3);
  // Last, as they take away CAP_SYS_ADMIN that the mounts and pivot_root above needed.
  dropPrivileges(p, input.lastCap, input.caps, input.seccomp, input.user);
  p.execve(input.executable, input.argv, input.env);
}

/** setns order for exec: user first (it grants the capabilities the others need), mnt last before the chroot. */
export const EXEC_JOIN_ORDER: readonly Namespace[] = ['user', 'ipc', 'uts', 'net', 'pid', 'cgroup', 'mnt'];

export interface ExecPlanInput extends ProcessStart {
  /** fds (open in the parent) of the container's namespaces that differ from the caller's. */
  join: Partial<Record<Namespace, number>>;
  /** The container's cgroup files (v1 `tasks`, v2 `cgroup.procs` where clone3 cannot place it), written before any setns. */
  cgroupFiles?: readonly CgroupHandle[];
  /** The container's root, opened in the parent; absent when it is the caller's own. */
  rootFd?: number;
  workdir: string;
  rootless: boolean;
}

/**
 * `locker exec`: a process that joins a running container and then starts as its init did. It is
 * in the container's cgroups (born there by clone3, or through cgroupFiles, first of all, still in
 * the host's namespaces) before it joins anything else, so the fork below, into the PID namespace,
 * is already inside them.
 */
export function buildExecPlan(input: ExecPlanInput): Program {
  const p = new Program();
  joinCgroup(p, input.cgroupFiles);
  for (const ns of EXEC_JOIN_ORDER) {
    const fd = input.join[ns];
    if (fd !== undefined) p.setns(fd, NS_FLAG[ns]);
  }
  if (input.rootFd !== undefined) p.fchdir(input.rootFd).chroot('.');
  // getcwd fails when the cwd is outside the container's root (an inherited fd via /proc/self/fd).
  p.chdir(input.workdir).getcwd();
  // setns into a PID namespace applies to children only.
  if (input.join.pid !== undefined) p.fork();
  becomeContainerRoot(p, input.join.user !== undefined, input.rootless);
  startContainerProcess(p, input);
  return p;
}

export function formatIdMap(map: IdMap[]): string {
  return map.map((m) => `${m.inside} ${m.outside} ${m.count}\n`).join('');
}
