// After a crash: what a runtime that died (SIGKILL, power cut, OOM) left behind, found and cleaned
// up by the next Runtime on the same data dir. A runtime is gone when its pid no longer runs the
// process that started (pid + start time); anything owned by a live runtime is left alone.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kill } from '../../../native/libc';
import { sweepStale } from './cgroups';
import { imagesDir } from './data-dir';
import { removeLayer } from './layer';
import { sweepStaleNetwork } from './network';
import { leaseAlive, leases } from './network/addresses';
import { stopPasta } from './network/usermode';
import { OWNER_FILE, RecordStore, processStartTime, type ContainerRecord } from './records';
import { isStaleImport } from './rootfs/tarball';
import { recordedExit, removeStaleSocket } from './detach';
import { decodeWaitStatus } from './wait';

/** Left-overs without any owner information are removed only when older than this. */
export const ORPHAN_AGE_MS = 10 * 60_000;

export interface RecoveryReport {
  /** Records of containers whose runtime died: now `exited`. */
  exited: string[];
  /** Container processes still running without their runtime, killed (host pids). */
  killed: number[];
  /** Container dirs of half-set-up containers (no record yet), removed. */
  removedDirs: string[];
  /** Writable layers removed from container dirs. */
  layers: string[];
  cgroups: string[];
  /** images/.partial-* of imports whose creator is gone. */
  partials: string[];
  veths: string[];
  errors: string[];
}

export const emptyReport = (): RecoveryReport => ({ exited: [], killed: [], removedDirs: [], layers: [], cgroups: [], partials: [], veths: [], errors: [] });

/** Is pid still the process that started at startTime? (Without a start time: is pid alive at all?) */
export function ownerAlive(pid: number, startTime?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = processStartTime(pid);
  if (now === undefined) return false;
  return !startTime || now === startTime;
}

function readOwner(dir: string): { pid: number; start?: string } | undefined {
  try {
    const [pid, start] = readFileSync(join(dir, OWNER_FILE), 'utf8').trim().split(/\s+/);
    // Empty while its writer is between truncate and write (50 concurrent `run -d` hit it): no
    // owner known yet, so the age rule decides, and a dir being set up right now is left alone.
    if (!/^[1-9]\d*$/.test(pid)) return undefined;
    return { pid: Number(pid), start: start || undefined };
  } catch {
    return undefined;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * True while some process works inside dir (cwd, root or an open fd below it): e.g. a tar or cp the
 * dead runtime started, still extracting. Such a dir is left for a later recovery.
 */
export function busyIn(dir: string): boolean {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const inside = (p: string): boolean => p === dir || p.startsWith(prefix);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (inside(readlinkSync(`/proc/${pid}/cwd`)) || inside(readlinkSync(`/proc/${pid}/root`))) return true;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (inside(readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // gone, or not ours to look at
    }
  }
  return false;
}

async function waitGone(pid: number, start: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (processStartTime(pid) !== start) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return processStartTime(pid) !== start;
}

function imageNames(images: string): string[] {
  try {
    return readdirSync(images);
  } catch {
    return []; // no images yet
  }
}

/**
 * Partial image imports whose creator is gone (the creator's pid and start time are in the name,
 * .partial-KEY-p<pid>s<start>-XXXXXX) and in which no process works any more.
 */
export function orphanPartials(images: string): string[] {
  return imageNames(images).filter((name) => {
    if (!name.startsWith('.partial-')) return false;
    const path = join(images, name);
    const m = /-p(\d+)s(\d*)-[^-]+$/.exec(name);
    const orphan = m ? !ownerAlive(Number(m[1]), m[2] || undefined) : ageMs(path) > ORPHAN_AGE_MS;
    return orphan && !busyIn(path);
  });
}

/** Images made by an older import format (damaged: see IMPORT_FORMAT), which runs no longer use. */
export function staleImages(images: string): string[] {
  return imageNames(images).filter(isStaleImport);
}

/** Whether a record's runtime is alive (pid and, when the dir says, start time): then the container is its business. */
export function recordOwned(r: ContainerRecord, dir: string): boolean {
  const owner = readOwner(dir);
  return ownerAlive(r.ownerPid, owner?.pid === r.ownerPid ? owner.start : undefined);
}

/**
 * Finds and cleans what dead runtimes left in dataRoot (and the host-wide cgroups and veths of
 * those containers). Never touches containers whose runtime still runs.
 */
export async function recover(dataRoot: string, store = new RecordStore(dataRoot)): Promise<RecoveryReport> {
  const report = emptyReport();
  const attempt = (what: string, f: () => void): void => {
    try {
      f();
    } catch (e) {
      report.errors.push(`${what}: ${(e as Error).message}`);
    }
  };
  /** Ids of this data dir whose container is (or may still be) alive. */
  const alive = new Set<string>();
  /** Ids of this data dir known dead: their cgroups go. */
  const dead = new Set<string>();

  for (const id of store.ids()) {
    const dir = store.containerDir(id);
    const r = store.load(id);
    if (!r) {
      // No record yet: set up was under way. Its creator alive → in progress; gone → half set up.
      const owner = readOwner(dir);
      const orphan = owner ? !ownerAlive(owner.pid, owner.start) : ageMs(dir) > ORPHAN_AGE_MS;
      if (!orphan || busyIn(dir)) {
        alive.add(id);
        continue;
      }
      attempt(`removing ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
      report.removedDirs.push(id);
      dead.add(id);
      continue;
    }
    if (r.state === 'running' && recordOwned(r, dir)) {
      alive.add(id);
      continue;
    }
    if (r.state === 'running') {
      // Its runtime died without recording the end. PDEATHSIG should have killed the init with it;
      // if the init survived (or ignored it), kill it now: nobody owns or reaps it.
      let signal = 'SIGKILL';
      if (processStartTime(r.pid) === r.pidStartTime) {
        attempt(`killing ${r.pid}`, () => kill(r.pid, 9, 3 /* ESRCH */));
        report.killed.push(r.pid);
        if (!(await waitGone(r.pid, r.pidStartTime, 2000))) {
          report.errors.push(`container ${id} (pid ${r.pid}) did not die after SIGKILL`);
          alive.add(id);
          continue;
        }
      } else {
        // Gone already: its init was killed by the kernel when the runtime died (PR_SET_PDEATHSIG=SIGKILL).
        signal = 'SIGKILL';
      }
      // A detached container's monitor (its owner) writes the status before it exits; without the
      // file the monitor was killed, and the container with it (its PR_SET_PDEATHSIG names the monitor).
      const ended = r.monitor ? recordedExit(dir) : undefined;
      if (ended) Object.assign(r, { state: 'exited', ...decodeWaitStatus(ended.status), finishedAt: ended.at });
      else Object.assign(r, { state: 'exited', exitCode: 128 + 9, signal, finishedAt: r.finishedAt ?? Date.now() });
      attempt(`saving ${id}`, () => store.save(r));
      report.exited.push(id);
    }
    dead.add(id);
    if (r.network?.mode === 'pasta') attempt(`stopping the pasta of ${id}`, () => stopPasta(dir));
    if (r.monitor) attempt(`removing the attach socket of ${id}`, () => removeStaleSocket(dir));
    // A kept container (run -d, --keep) keeps its files until rm; the others' go.
    if (!r.kept && ['upper', 'work', 'rootfs'].some((d) => existsSync(join(dir, d))) && !busyIn(dir)) {
      attempt(`removing the layer of ${id}`, () => removeLayer(dir));
      report.layers.push(id);
    }
    // run -d --rm whose monitor died before its exit command removed it: removed now, as it asked.
    if (r.autoRemove && !busyIn(dir)) {
      attempt(`removing ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
      report.removedDirs.push(id);
    }
  }

  const images = imagesDir(dataRoot);
  for (const name of orphanPartials(images)) {
    const path = join(images, name);
    attempt(`removing ${path}`, () => rmSync(path, { recursive: true, force: true }));
    report.partials.push(name);
  }

  // Host-wide resources named by container id. Only ids of this data dir that are known dead go:
  // another data dir's containers (another user, a test) are never ours to judge.
  // So are the ids of spares whose runtime died (spare.ts): no data dir knows them, their
  // lease says whose they were. Read before the network sweep below releases those leases.
  for (const l of leases()) if (l.spare && l.id && !leaseAlive(l)) dead.add(l.id);
  const isAlive = (id: string): boolean => !dead.has(id);
  try {
    report.cgroups = await sweepStale(isAlive);
  } catch (e) {
    report.errors.push((e as Error).message);
  }
  try {
    report.veths = sweepStaleNetwork((id) => alive.has(id) || !dead.has(id)).veths;
  } catch (e) {
    report.errors.push((e as Error).message);
  }
  return report;
}
