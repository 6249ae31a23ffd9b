// An OCI config as a Program for the native step: the same building blocks as `locker run`'s plan
// (app/main/runtime/plan.ts: namespace flags, mountpoints opened inside the root with openat2,
// pivot_root with the old root detached, an own session keyring, Program steps the syscall log
// shows), but the mounts, identity, capabilities and filter come from config.json. Differences
// from `locker run`, as runc does them: no death signal tied to the parent (`create` exits and
// the container lives on), and the last step before the seccomp/execve tail waits on exec.fifo
// until `start`.
import { lstatSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { CLONE, MNT, MS, O, PR, TIOCSCTTY } from '../../../native/constants';
import { Program, type Opened } from '../../../native/program';
import type { Namespace } from '../../shared/types';
import { NS_FLAG, type IdMap } from '../runtime/plan';
import { bindOnFile, openDir, openRoot, STRICT } from '../runtime/rootfs/mountpoints';
import { capMask, capName, capNumber, capsToDrop, lastCap } from '../runtime/security/capabilities';
import { ownSessionKeyring } from '../runtime/security/harden';
import type { OciMount, OciProcess, OciSpec } from './config';
import { ConfigError } from './config';

export interface OciPlanInput {
  spec: OciSpec;
  /** Absolute path of process.args[0] inside the root. */
  executable: string;
  /** fds (open in the parent) of namespaces to join, by type. */
  join: Partial<Record<Namespace, number>>;
  /** exec.fifo opened O_RDWR in the parent: the child blocks reading it until `start` writes. */
  startFd?: number;
  /** pty slave (in the parent) for process.terminal. */
  tty?: { slaveFd: number; slavePath: string };
  /** --preserve-fds N: fds 3 … 3+N-1 stay open past execve. */
  preserveFds: number;
  noPivot: boolean;
  /** The compiled filter, installed last (after no_new_privs) or, without no_new_privs, before the capability drop. */
  seccomp?: { program: Buffer; summary: string };
  /** The parent moves the child into its cgroup first: a new cgroup namespace is made after that. */
  joinsCgroup: boolean;
  lastCap?: number;
}

export interface OciPlan {
  flags: number;
  program: Program;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
}

const FLAG_OPTIONS: Record<string, [set: number, clear: number]> = {
  ro: [MS.RDONLY, 0], rw: [0, MS.RDONLY], nosuid: [MS.NOSUID, 0], suid: [0, MS.NOSUID], nodev: [MS.NODEV, 0], dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0], exec: [0, MS.NOEXEC], sync: [MS.SYNCHRONOUS, 0], async: [0, MS.SYNCHRONOUS], dirsync: [MS.DIRSYNC, 0],
  mand: [MS.MANDLOCK, 0], nomand: [0, MS.MANDLOCK], noatime: [MS.NOATIME, 0], atime: [0, MS.NOATIME], nodiratime: [MS.NODIRATIME, 0],
  diratime: [0, MS.NODIRATIME], relatime: [MS.RELATIME, 0], norelatime: [0, MS.RELATIME], strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME], bind: [MS.BIND, 0], rbind: [MS.BIND | MS.REC, 0], remount: [MS.REMOUNT, 0], silent: [MS.SILENT, 0], loud: [0, MS.SILENT],
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};
/** runc-only options Locker does not implement; anything else unknown goes to the filesystem as data. */
const REFUSED_OPTIONS = ['tmpcopyup', 'idmap', 'ridmap', 'rro', 'rrw', 'rnosuid', 'rnodev', 'rnoexec', 'rsuid', 'rdev', 'rexec', 'rnoatime', 'ratime', 'rrelatime', 'rnorelatime', 'rstrictatime', 'rnostrictatime', 'rnosymfollow', 'nosymfollow'];

export interface MountOptions { flags: number; propagation: number; data: string[] }

export function mountOptions(m: OciMount, field: string): MountOptions {
  let flags = m.type === 'bind' ? MS.BIND : 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of m.options) {
    if (FLAG_OPTIONS[o]) flags = (flags | FLAG_OPTIONS[o][0]) & ~FLAG_OPTIONS[o][1];
    else if (PROPAGATION[o] !== undefined) propagation |= PROPAGATION[o];
    else if (REFUSED_OPTIONS.includes(o)) throw new ConfigError(`config.json: ${field}.options "${o}" is not supported by locker oci; remove it`);
    else data.push(o);
  }
  return { flags, propagation, data };
}

/** Directories of a path inside the root, each opened from the last (never leaving the root), the last one returned open. */
function walkDirs(p: Program, root: Opened, dirs: string[]): Opened {
  let at = root;
  for (const d of dirs) {
    const next = openDir(p, at, d, 0o755);
    if (at !== root) p.close(at);
    at = next;
  }
  return at;
}

const PATH_FILE = O.PATH | O.NOFOLLOW | O.CLOEXEC;
const PATH_DIR = O.PATH | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;

/** Is the host source of a bind mount a directory (the mountpoint made is one too)? */
function sourceIsDir(source: string): boolean {
  try {
    return statSync(source).isDirectory();
  } catch {
    return true; // the mount itself will say ENOENT, naming the source
  }
}

/** One config mount onto its destination inside the root (the current directory, before pivot_root). */
function planMount(p: Program, root: Opened, m: OciMount, i: number, spec: OciSpec): void {
  const field = `mounts[${i}]`;
  const o = mountOptions(m, field);
  const parts = posix.normalize(m.destination).split('/').filter(Boolean);
  if (parts.length === 0) throw new ConfigError(`config.json: ${field}.destination "/" is the root; set root.path instead`);
  const isBind = (o.flags & MS.BIND) !== 0;
  const source = isBind && !posix.isAbsolute(m.source) ? join(spec.bundle, m.source) : m.source;
  if (m.type === 'cgroup') {
    // runc shows the container's own cgroups there; Locker mounts an empty read-only tmpfs (said in --log).
    spec.notes.push(`${field} (cgroup at ${m.destination}): an empty read-only tmpfs is mounted; the container does not see cgroup files`);
    const parent = walkDirs(p, root, parts.slice(0, -1));
    const target = openDir(p, parent, parts[parts.length - 1], 0o555);
    p.mount('tmpfs', target, 'tmpfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755');
    p.close(target);
    if (parent !== root) p.close(parent);
    return;
  }
  const dir = !isBind || sourceIsDir(source);
  const parent = walkDirs(p, root, parts.slice(0, -1));
  const name = parts[parts.length - 1];
  const label = `${parent.label}/${name}`;
  let target: Opened;
  if (dir) target = openDir(p, parent, name, 0o755);
  else {
    p.createAt(parent, name, 0o644);
    target = p.openat2(parent, name, PATH_FILE, STRICT, label);
  }
  const data = o.data.join(',') || null;
  p.mount(isBind ? source : m.source || m.type, target, isBind ? null : m.type, o.flags & ~MS.REMOUNT & (isBind ? MS.BIND | MS.REC : ~0), isBind ? null : data);
  p.close(target);
  const remount = isBind && (o.flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.RELATIME | MS.STRICTATIME | MS.NODIRATIME)) !== 0;
  if (remount || o.propagation) {
    // Opened again: the fd opened before the mount names what lies beneath it.
    const again = p.openat2(parent, name, dir ? PATH_DIR : PATH_FILE, STRICT, label);
    if (remount) p.mount(null, again, null, (o.flags & ~MS.REC) | MS.REMOUNT | MS.BIND);
    if (o.propagation) p.mount(null, again, null, o.propagation);
    p.close(again);
  }
  if (parent !== root) p.close(parent);
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** runc's defaults in /dev (when the config mounts one): the six devices bound from the host, the usual links, the console. */
function populateDev(p: Program, root: Opened, input: OciPlanInput): void {
  const dev = openDir(p, root, 'dev', 0o755);
  for (const d of DEVICES) bindOnFile(p, dev, d, 0o666, `/dev/${d}`, MS.BIND);
  p.symlinkAt('/proc/self/fd', dev, 'fd');
  p.symlinkAt('/proc/self/fd/0', dev, 'stdin');
  p.symlinkAt('/proc/self/fd/1', dev, 'stdout');
  p.symlinkAt('/proc/self/fd/2', dev, 'stderr');
  if (input.spec.mounts.some((m) => posix.normalize(m.destination) === '/dev/pts')) p.symlinkAt('pts/ptmx', dev, 'ptmx');
  if (input.tty) bindOnFile(p, dev, 'console', 0o620, input.tty.slavePath, MS.BIND);
  p.close(dev);
}

/** What a masked path is, judged on the host: /proc and /sys are the kernel's, anything else is the image's. */
function kindOnHost(path: string, rootPath: string): 'dir' | 'file' | undefined {
  const host = /^\/(proc|sys)(\/|$)/.test(path) ? path : join(rootPath, path);
  try {
    return lstatSync(host).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

const ENOENT = 2;
const EPERM = 1;

/** maskedPaths and readonlyPaths as runc applies them (after pivot_root; a path the kernel lacks is skipped). */
function protectPaths(p: Program, spec: OciSpec): void {
  for (const path of spec.maskedPaths) {
    const kind = kindOnHost(path, spec.rootPath);
    if (kind === 'dir') p.mount('tmpfs', path, 'tmpfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC).allowErrno(ENOENT);
    else if (kind === 'file') p.mount('/dev/null', path, null, MS.BIND).allowErrno(ENOENT);
  }
  const locked = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  for (const path of spec.readonlyPaths) {
    p.mount(path, path, null, MS.BIND | MS.REC).allowErrno(ENOENT);
    p.mount(null, path, null, MS.BIND | MS.REMOUNT | MS.RDONLY | (/^\/proc(\/|$)/.test(path) ? locked : 0)).allowErrno(ENOENT);
  }
}

const idMap = (m: OciSpec['uidMappings']): IdMap[] => m.map((x) => ({ inside: x.containerID, outside: x.hostID, count: x.size }));

export function buildOciPlan(input: OciPlanInput): OciPlan {
  const { spec } = input;
  const fresh = spec.namespaces.filter((n) => !n.path).map((n) => n.type);
  const has = (n: Namespace): boolean => fresh.includes(n);
  const lateCgroupNs = has('cgroup') && input.joinsCgroup;
  const flags = fresh.reduce((f, n) => (n === 'cgroup' && lateCgroupNs ? f : f | NS_FLAG[n]), 0);
  const p = new Program();
  // Joined namespaces first (user ones are refused in config.ts), mnt last, as exec does.
  for (const ns of ['ipc', 'uts', 'net', 'cgroup', 'mnt'] as const) {
    const fd = input.join[ns];
    if (fd !== undefined) p.setns(fd, NS_FLAG[ns]);
  }
  if (lateCgroupNs) p.unshare(CLONE.NEWCGROUP);
  const userNs = has('user');
  const rootMapped = userNs && spec.uidMappings.some((m) => m.containerID === 0) && spec.gidMappings.some((m) => m.containerID === 0);
  if (userNs && rootMapped) {
    // Root of the new user namespace before any file is made, so files belong to mapped ids.
    p.setresgid(0);
    p.setresuid(0);
  }
  const ownMnt = has('mnt') || input.join.mnt !== undefined;
  if (ownMnt) {
    const prop = spec.rootfsPropagation ?? 'rprivate';
    p.mount(null, '/', null, MS.REC | (prop.endsWith('slave') ? MS.SLAVE : MS.PRIVATE));
    p.mount(spec.rootPath, spec.rootPath, null, MS.BIND | MS.REC);
    p.chdir(spec.rootPath);
    const root = openRoot(p);
    spec.mounts.forEach((m, i) => planMount(p, root, m, i, spec));
    if (spec.mounts.some((m) => posix.normalize(m.destination) === '/dev')) populateDev(p, root, input);
    p.close(root);
    if (input.noPivot) {
      p.mount('.', '/', null, MS.MOVE);
      p.chroot('.');
    } else {
      // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no way back.
      p.pivotRoot('.', '.');
      p.umount2('.', MNT.DETACH);
    }
    p.chdir('/');
    // As runc: the root's own propagation is set after pivot_root (which a shared root would refuse).
    if (spec.rootfsPropagation) p.mount(null, '/', null, PROPAGATION[spec.rootfsPropagation]);
    protectPaths(p, spec);
    if (spec.readonlyRoot) p.mount(null, '/', null, MS.BIND | MS.REMOUNT | MS.RDONLY);
  } else if (spec.mounts.length || spec.maskedPaths.length || spec.readonlyPaths.length || spec.readonlyRoot) {
    throw new ConfigError('config.json: mounts, maskedPaths, readonlyPaths and root.readonly need a mount namespace; add {"type": "mount"} to linux.namespaces');
  } else {
    p.chroot(spec.rootPath);
  }
  if (spec.hostname !== undefined && spec.hostname !== '') {
    if (!has('uts') && input.join.uts === undefined) throw new ConfigError('config.json: hostname needs a UTS namespace; add {"type": "uts"} to linux.namespaces');
    p.sethostname(spec.hostname);
  }
  if (spec.domainname) p.setdomainname(spec.domainname);
  startOciProcess(p, { ...input, process: spec.process });
  return { flags, program: p, uidMap: userNs ? idMap(spec.uidMappings) : undefined, gidMap: userNs ? idMap(spec.gidMappings) : undefined };
}

type ProcessStart = Pick<OciPlanInput, 'executable' | 'tty' | 'preserveFds' | 'seccomp' | 'startFd' | 'lastCap'> & { process: OciProcess };

/** The tail of the setup, in runc's order: bounding set, identity keeping capabilities, capsets, stdio, gate, filter, execve. */
function startOciProcess(p: Program, input: ProcessStart): void {
  const { process: proc } = input;
  const last = input.lastCap ?? lastCap();
  p.chdir(proc.cwd);
  // An inherited fd reached through /proc/self/fd/N would leave the cwd on the host (CVE-2024-21626).
  p.getcwd();
  if (input.tty) {
    p.setsid();
    for (const fd of [0, 1, 2]) p.dup2(input.tty.slaveFd, fd);
    p.ioctl(0, TIOCSCTTY, 'TIOCSCTTY', 0);
  } else {
    for (const fd of [0, 1, 2]) p.keepOnExec(fd);
  }
  p.cloexecFrom(3 + input.preserveFds);
  const seccompEarly = input.seccomp && !proc.noNewPrivileges;
  // Without no_new_privs a filter needs CAP_SYS_ADMIN: installed while the process still has it,
  // after the keyring is joined (as runc: a profile need not allow keyctl for the runtime's sake).
  if (seccompEarly && input.seccomp) {
    ownSessionKeyring(p);
    p.seccomp(input.seccomp.program, 0, input.seccomp.summary);
  }
  for (const n of capsToDrop(proc.caps.bounding, last)) p.prctl(PR.CAPBSET_DROP, n, capName(n));
  p.prctl(PR.SET_KEEPCAPS, 1);
  p.setGroups(proc.additionalGids);
  p.setresgid(proc.gid);
  p.setresuid(proc.uid);
  p.prctl(PR.SET_KEEPCAPS, 0);
  // Joined after the identity, the keyring belongs to the container's user.
  if (!seccompEarly) ownSessionKeyring(p);
  p.capset(capMask(proc.caps.effective), capMask(proc.caps.permitted), capMask(proc.caps.inheritable));
  // PR_CAP_AMBIENT_RAISE needs the capability permitted and inheritable; runc only warns when it is not.
  for (const c of proc.caps.ambient) p.prctl3(PR.CAP_AMBIENT, 2, capNumber(c), `PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_${c}`).allowErrno(EPERM);
  if (proc.noNewPrivileges) p.prctl(PR.SET_NO_NEW_PRIVS, 1);
  if (input.startFd !== undefined) {
    p.stopReporting();
    p.waitFor(input.startFd);
  }
  if (!seccompEarly && input.seccomp) p.seccomp(input.seccomp.program, 0, input.seccomp.summary);
  p.execve(input.executable, proc.args, proc.env);
}

export interface OciExecPlanInput extends Omit<ProcessStart, 'startFd'> {
  /** fds (open in the parent) of the init's namespaces that differ from ours, by type; pid is joined by the parent (see oci/exec.ts). */
  join: Partial<Record<Namespace, number>>;
  /** The init's root (/proc/PID/root), opened in the parent. */
  rootFd: number;
}

/**
 * `locker oci exec`: a process joining a created or running container. The parent has set its own
 * thread's PID namespace for children to the container's before the clone, so the child is born
 * inside it, the runtime's own child (runc's nsexec gets there with CLONE_PARENT): with --detach
 * the runtime exits and the process passes to the engine's subreaper (conmon), which reaps it.
 * Then as runc's setns init: the other namespaces (user first), the container's root, the process.
 */
export function buildOciExecPlan(input: OciExecPlanInput): Program {
  const p = new Program();
  for (const ns of ['user', 'ipc', 'uts', 'net', 'cgroup', 'mnt'] as const) {
    const fd = input.join[ns];
    if (fd !== undefined) p.setns(fd, NS_FLAG[ns]);
  }
  p.fchdir(input.rootFd).chroot('.');
  startOciProcess(p, input);
  return p;
}
