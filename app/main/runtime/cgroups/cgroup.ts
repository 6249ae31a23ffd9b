// One container's cgroup: `<root>/locker/<id>` in each hierarchy that serves a limit, with its
// limits written, processes added, gauges read, and teardown (kill everything, rmdir).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { O } from '../../../../native/constants';
import { cloneIntoCgroupWorks } from '../../../../native/libc';
import { hostLayout, LIMIT_CONTROLLERS, SUPERVISOR_LEAF, V1_CONTROLLERS, type CgroupLayout, type LimitController } from './detect';
import { v1WriteDevices, v2AttachDeviceFilter } from './devices';
import { hasLimits, type Limits } from './limits';
import { emptyStats, type CgroupStats } from './stats';
import { v1ReadLimits, v1ReadStats, v1WriteLimits, type V1Dirs } from './v1';
import { readProcs, v2EnableControllers, v2ReadLimits, v2ReadStats, v2WriteLimits } from './v2';

export const PARENT = 'locker';
/** How long remove() waits for killed processes to leave before giving up. */
export const REMOVE_TIMEOUT_MS = 2000;

export interface Cgroup {
  id: string;
  /** The cgroup's directory in each hierarchy it lives in (v1: one per controller mount). */
  paths: string[];
  v1: V1Dirs;
  v2?: string;
  /** Moves a process (its whole thread group) into the cgroup in every hierarchy. */
  addProcess(pid: number): void;
  /** PIDs in the cgroup (union over hierarchies), as the host sees them. */
  pids(): number[];
  stats(): CgroupStats;
  /** The limits in effect, read back from the kernel's files. */
  readLimits(): Limits;
  /** Kills what is left (cgroup.kill or SIGKILL, ≤ REMOVE_TIMEOUT_MS) and removes every directory. Idempotent. */
  remove(): Promise<void>;
}

const FLAG: Record<LimitController, string> = { memory: '--memory', cpu: '--cpus', pids: '--pids-limit' };
const requested = (l: Limits): LimitController[] =>
  LIMIT_CONTROLLERS.filter((c) => (c === 'memory' ? l.memory : c === 'cpu' ? l.cpus : l.pidsLimit) !== undefined);

function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) throw new Error(`invalid cgroup id ${JSON.stringify(id)}`);
}

/**
 * Where `locker/<id>` lives in each hierarchy we use, without touching the filesystem.
 * `everywhere`: every hierarchy the layout mounts (a crash may have left a cgroup in any of them).
 */
function locate(id: string, layout: CgroupLayout, everywhere = false): { v1: V1Dirs; v2?: string } {
  const v1: V1Dirs = {};
  const usesV1 = everywhere ? !layout.rootless : layout.devices === 'v1' || LIMIT_CONTROLLERS.some((c) => layout.backend[c] === 'v1');
  if (usesV1) {
    for (const c of V1_CONTROLLERS) {
      const root = layout.v1Roots[c];
      const serves = c === 'cpuacct' || (c === 'devices' ? layout.devices === 'v1' : layout.backend[c] === 'v1');
      if (root && (everywhere || serves)) v1[c] = join(root, PARENT, id);
    }
  }
  const usesV2 = everywhere || layout.version === 'v2' || layout.devices === 'v2' || LIMIT_CONTROLLERS.some((c) => layout.backend[c] === 'v2');
  const v2 = usesV2 && layout.v2Parent ? join(layout.v2Parent, PARENT, id) : undefined;
  return { v1, v2 };
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/**
 * A non-root v2 cgroup that holds processes may not hand controllers to its children (EBUSY).
 * That is the case for our own delegated cgroup when rootless, and for the namespace root when
 * running as root inside a container: move those processes into a leaf next to `locker/`, retry.
 */
function enableWithSupervisorLeaf(parent: string, wanted: LimitController[]): void {
  try {
    v2EnableControllers(parent, wanted);
  } catch (e) {
    if (errCode(e) !== 'EBUSY') throw e;
    const leaf = join(parent, SUPERVISOR_LEAF);
    mkdirSync(leaf, { recursive: true });
    for (const pid of readProcs(parent)) {
      try {
        writeFileSync(join(leaf, 'cgroup.procs'), String(pid));
      } catch (err) {
        if (errCode(err) !== 'ESRCH') throw err;
      }
    }
    v2EnableControllers(parent, wanted);
  }
}

function makeDirs(layout: CgroupLayout, dirs: { v1: V1Dirs; v2?: string }): void {
  if (dirs.v2 && layout.v2Parent) {
    const wanted = LIMIT_CONTROLLERS.filter((c) => layout.backend[c] === 'v2');
    enableWithSupervisorLeaf(layout.v2Parent, wanted);
    const parent = join(layout.v2Parent, PARENT);
    mkdirSync(parent, { recursive: true });
    v2EnableControllers(parent, wanted);
    mkdirSync(dirs.v2, { recursive: true });
  }
  for (const d of new Set(Object.values(dirs.v1))) mkdirSync(d, { recursive: true });
}

/**
 * Creates `locker/<id>` in every hierarchy that serves a limit and writes the limits. Throws a
 * one-line error when a requested limit has no controller or the host does not allow cgroups.
 */
export function createCgroup(id: string, limits: Limits, layout: CgroupLayout = hostLayout()): Cgroup {
  checkId(id);
  if (!layout.canWrite) throw new Error(`resource limits are unavailable: ${layout.reason ?? 'cgroups are not writable'}`);
  for (const c of requested(limits)) {
    if (layout.backend[c] === null) {
      throw new Error(`${FLAG[c]} needs the ${c} cgroup controller, which is not available: ${layout.reason ?? 'not mounted'}`);
    }
  }
  const cg = openCgroup(id, layout);
  const existing = cg.paths.filter((p) => existsSync(p));
  if (existing.length > 0) {
    throw new Error(`cgroup ${existing[0]} already exists: another container has id ${id}, or sweepStale has not run since a crash`);
  }
  try {
    makeDirs(layout, cg);
    if (cg.v2) v2WriteLimits(cg.v2, limitsFor(limits, layout, 'v2'));
    v1WriteLimits(cg.v1, limitsFor(limits, layout, 'v1'));
    if (layout.devices === 'v1' && cg.v1.devices) v1WriteDevices(cg.v1.devices);
    if (layout.devices === 'v2' && cg.v2) v2AttachDeviceFilter(cg.v2);
  } catch (e) {
    void cg.remove().catch(() => undefined);
    throw new Error(`cannot set up cgroup ${PARENT}/${id}: ${(e as Error).message}`);
  }
  return cg;
}

function limitsFor(l: Limits, layout: CgroupLayout, v: 'v1' | 'v2'): Limits {
  const out: Limits = {};
  if (layout.backend.memory === v && l.memory !== undefined) out.memory = l.memory;
  if (layout.backend.cpu === v && l.cpus !== undefined) out.cpus = l.cpus;
  if (layout.backend.pids === v && l.pidsLimit !== undefined) out.pidsLimit = l.pidsLimit;
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function merge(a: CgroupStats, b: CgroupStats): CgroupStats {
  const pick = <T>(x: T | null, y: T | null): T | null => (x ?? y);
  return {
    pidsCurrent: pick(a.pidsCurrent, b.pidsCurrent),
    pidsMax: pick(a.pidsMax, b.pidsMax),
    pidsRejected: pick(a.pidsRejected, b.pidsRejected),
    memoryCurrent: pick(a.memoryCurrent, b.memoryCurrent),
    memoryMax: pick(a.memoryMax, b.memoryMax),
    memoryEvents: {
      oom: pick(a.memoryEvents.oom, b.memoryEvents.oom),
      oomKill: pick(a.memoryEvents.oomKill, b.memoryEvents.oomKill),
      max: pick(a.memoryEvents.max, b.memoryEvents.max),
    },
    cpuUsageUsec: pick(a.cpuUsageUsec, b.cpuUsageUsec),
    nrThrottled: pick(a.nrThrottled, b.nrThrottled),
    throttledUsec: pick(a.throttledUsec, b.throttledUsec),
  };
}

/**
 * Moves a process into a cgroup in every hierarchy (v1: one directory per controller; v2: the one
 * directory) by writing its pid from here. A container's init and `locker exec` join by themselves
 * instead (openCgroupJoin); this is for a process that is running already.
 */
export function joinCgroupPaths(paths: readonly string[], pid: number): void {
  for (const dir of paths) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      throw new Error(`cannot move pid ${pid} into cgroup ${dir}: ${errCode(e) ?? (e as Error).message}`);
    }
  }
}

/** A cgroup's file or directory, open in this process, for a new process to join the cgroup by. */
export interface CgroupHandle { fd: number; path: string }

/**
 * How a new process joins a cgroup by itself, before it runs anything of the container, instead
 * of this process writing its pid to `cgroup.procs` (a migration by pid takes the kernel's global
 * cgroup_threadgroup_rwsem for writing and waits for an RCU grace period: 7–16 ms a launch here).
 * - v2: `into`, the directory, for clone3 CLONE_INTO_CGROUP: the child is born in it (a fork takes
 *   that lock only for reading). Where clone3 cannot do that, its `cgroup.procs` is one of `writes`.
 * - v1: each hierarchy's `tasks`, in `writes`: the child writes "0" and so moves only itself (it is
 *   single-threaded), which the kernel does without the global lock.
 * Everything is opened here, on the host, before the clone: never a path resolved inside a
 * container, which controls its own mount namespace. close() once the child is cloned (it holds
 * its own copies, close-on-exec).
 */
export interface CgroupJoin {
  into?: CgroupHandle;
  writes: CgroupHandle[];
  close(): void;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

export function openCgroupJoin(paths: readonly string[], intoWorks: () => boolean = cloneIntoCgroupWorks): CgroupJoin {
  const opened: CgroupHandle[] = [];
  const close = (): void => {
    for (const h of opened.splice(0)) closeSync(h.fd);
  };
  const open = (path: string, flags: number): CgroupHandle => {
    const h = { fd: openSync(path, flags), path };
    opened.push(h);
    return h;
  };
  let into: CgroupHandle | undefined;
  const writes: CgroupHandle[] = [];
  let dir = '';
  try {
    for (dir of paths) {
      const v2 = statfsSync(dir).type === CGROUP2_SUPER_MAGIC;
      if (v2 && !into && intoWorks()) into = open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      else writes.push(open(join(dir, v2 ? 'cgroup.procs' : 'tasks'), O.WRONLY | O.CLOEXEC));
    }
  } catch (e) {
    close();
    throw new Error(`cannot open cgroup ${dir} for a new process to join: ${errCode(e) ?? (e as Error).message}`);
  }
  return { into, writes, close };
}

/**
 * The join of handles opened elsewhere (a spare's, opened by openCgroupJoin on the namespace
 * thread and handed over as plain fds): close() closes them, once.
 */
export function cgroupJoinOf(into: CgroupHandle | undefined, writes: CgroupHandle[]): CgroupJoin {
  let open = true;
  return {
    into, writes,
    close: () => {
      if (open) for (const h of [...(into ? [into] : []), ...writes]) closeSync(h.fd);
      open = false;
    },
  };
}

/** A handle on `locker/<id>` without creating anything (e.g. to reattach after a restart, or to remove a cgroup left by a crash). */
export function openCgroup(id: string, layout: CgroupLayout = hostLayout(), everywhere = false): Cgroup {
  checkId(id);
  const { v1, v2 } = locate(id, layout, everywhere);
  const paths = [...new Set([...(v2 ? [v2] : []), ...Object.values(v1)])];

  const pids = (): number[] => [...new Set(paths.flatMap(readProcs))].sort((a, b) => a - b);

  return {
    id,
    paths,
    v1,
    v2,
    addProcess(pid: number): void {
      joinCgroupPaths(paths, pid);
    },
    pids,
    stats(): CgroupStats {
      let s = emptyStats();
      if (v2) s = merge(s, v2ReadStats(v2));
      if (Object.keys(v1).length > 0) s = merge(v1ReadStats(v1), s);
      return s;
    },
    readLimits(): Limits {
      return { ...(v2 ? v2ReadLimits(v2) : {}), ...v1ReadLimits(v1) };
    },
    async remove(): Promise<void> {
      const deadline = Date.now() + REMOVE_TIMEOUT_MS;
      if (v2 && existsSync(join(v2, 'cgroup.kill'))) {
        try {
          writeFileSync(join(v2, 'cgroup.kill'), '1');
        } catch {
          // already gone, or an older kernel: fall back to signals below
        }
      }
      for (;;) {
        // Never signal 0/1 (cgroup.procs shows 0 for processes outside our PID namespace) or ourselves.
        const left = pids().filter((p) => p > 1 && p !== process.pid);
        if (left.length === 0) break;
        if (Date.now() > deadline) {
          throw new Error(`cgroup ${PARENT}/${id}: processes ${left.join(' ')} still running after SIGKILL`);
        }
        for (const p of left) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // exited meanwhile
          }
        }
        await sleep(10);
      }
      for (const dir of paths) {
        for (;;) {
          try {
            rmdirSync(dir);
            break;
          } catch (e) {
            if (errCode(e) === 'ENOENT') break;
            if (errCode(e) !== 'EBUSY' || Date.now() > deadline) {
              throw new Error(`cannot remove cgroup ${dir}: ${errCode(e) ?? (e as Error).message}`);
            }
            await sleep(10);
          }
        }
      }
    },
  };
}

/** Removes the directories of a cgroup no process ever joined (a spare's): no wait, no signal. */
export function removeUnusedCgroup(paths: readonly string[]): void {
  for (const dir of paths) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw new Error(`cannot remove cgroup ${dir}: ${errCode(e) ?? (e as Error).message}`);
    }
  }
}

/**
 * Whether a container gets a cgroup: for its limits, and as root for the device allowlist even
 * without limits (the first of the two device layers; runc makes one for every container too).
 */
export function needsCgroup(limits: Limits, layout: CgroupLayout = hostLayout()): boolean {
  return hasLimits(limits) || layout.devices !== null;
}

/**
 * The directories of a running container's cgroup (`locker/<id>` where it exists): where
 * `locker exec` puts its process. Empty when the container has none (rootless on v1).
 */
export function containerCgroupPaths(id: string, layout: CgroupLayout = hostLayout()): string[] {
  return openCgroup(id, layout).paths.filter((p) => existsSync(p));
}

/** Ids with a `locker/<id>` cgroup in any hierarchy of the layout. */
export function listCgroups(layout: CgroupLayout = hostLayout()): string[] {
  const parents = new Set<string>();
  if (layout.v2Parent) parents.add(join(layout.v2Parent, PARENT));
  for (const c of V1_CONTROLLERS) {
    const r = layout.v1Roots[c];
    if (r) parents.add(join(r, PARENT));
  }
  const ids = new Set<string>();
  for (const p of parents) {
    try {
      for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) ids.add(e.name);
    } catch {
      // no locker/ in this hierarchy
    }
  }
  return [...ids].sort();
}

/**
 * After a crash: removes every `locker/<id>` cgroup whose container is gone (isAlive(id) false),
 * killing anything still inside. Returns the ids removed; failures are collected, not thrown
 * one by one, so one stuck cgroup does not keep the others around.
 */
export async function sweepStale(isAlive: (id: string) => boolean, layout: CgroupLayout = hostLayout()): Promise<string[]> {
  if (!layout.canWrite) return [];
  const removed: string[] = [];
  const errors: string[] = [];
  for (const id of listCgroups(layout)) {
    if (isAlive(id)) continue;
    try {
      await openCgroup(id, layout, true).remove();
      removed.push(id);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(`sweeping stale cgroups: ${errors.join('; ')}`);
  return removed;
}
