// What Locker can leave on the host, as a snapshot to compare before/after (tests, soak, doctor):
// the hostname, mount points, `locker/<id>` cgroups, lk* veths and the data dir's container dirs.
// cleanupLeaks removes what Locker made and nobody uses any more.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MNT } from '../../../native/constants';
import { umount2 } from '../../../native/libc';
import { listCgroups, openCgroup, hostLayout } from './cgroups';
import { containersDir } from './data-dir';
import { lockerVeths, teardownNetwork, hostVethName } from './network';
import { leases } from './network/addresses';
import { RecordStore, processStartTime } from './records';
import { recordOwned } from './recovery';

export interface HostSnapshot {
  hostname: string;
  /** Mount points of this process's mount namespace (decoded, sorted; repeated when stacked). */
  mounts: string[];
  /** Ids with a `locker/<id>` cgroup. */
  cgroups: string[];
  /** Host interfaces named lk* (container veths; not a spare network's, made ahead of its container). */
  veths: string[];
  /** Container dirs in the data dir. */
  containers: string[];
}

export type LeakKind = 'hostname' | 'mount' | 'cgroup' | 'veth' | 'container';
export interface Leak { kind: LeakKind; name: string }

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => unescape(l.split(' ')[4])).sort();
}

export function snapshotHost(dataDir: string): HostSnapshot {
  let containers: string[] = [];
  try {
    containers = readdirSync(containersDir(dataDir)).sort();
  } catch {
    // no containers dir yet
  }
  // A spare's veth and cgroup (made ahead by a live runtime, spare.ts) are no container's leak.
  const spareIds = new Set(leases().filter((l) => l.spare).map((l) => l.id));
  const spares = new Set([...spareIds].map((id) => hostVethName(id)));
  let cgroups: string[] = [];
  try {
    cgroups = listCgroups().filter((id) => !spareIds.has(id));
  } catch {
    // no cgroup hierarchy readable
  }
  return { hostname: hostname(), mounts: mountPoints(), cgroups, veths: lockerVeths().filter((v) => !spares.has(v)).sort(), containers };
}

/** Everything in `now` that `before` lacked (a mount stacked twice counts twice), and a changed hostname. */
export function compareHost(before: HostSnapshot, now: HostSnapshot): Leak[] {
  const leaks: Leak[] = [];
  if (before.hostname !== now.hostname) leaks.push({ kind: 'hostname', name: now.hostname });
  const extra = (a: string[], b: string[]): string[] => {
    const left = new Map<string, number>();
    for (const x of a) left.set(x, (left.get(x) ?? 0) + 1);
    return b.filter((x) => {
      const n = left.get(x) ?? 0;
      if (n > 0) {
        left.set(x, n - 1);
        return false;
      }
      return true;
    });
  };
  for (const m of extra(before.mounts, now.mounts)) leaks.push({ kind: 'mount', name: m });
  for (const c of extra(before.cgroups, now.cgroups)) leaks.push({ kind: 'cgroup', name: c });
  for (const v of extra(before.veths, now.veths)) leaks.push({ kind: 'veth', name: v });
  for (const c of extra(before.containers, now.containers)) leaks.push({ kind: 'container', name: c });
  return leaks;
}

export interface CleanupResult { removed: Leak[]; kept: Array<Leak & { why: string }> }

/**
 * Removes leaks Locker made: mounts under the data dir (lazily unmounted), `locker/<id>` cgroups and
 * lk* veths of containers that are not running, container dirs of containers that are not running.
 * A running container (its runtime alive, or processes in its cgroup) is kept, as are leaks Locker
 * did not make (a changed hostname, mounts outside the data dir): those are reported, not touched.
 */
/** How long an empty cgroup of another data dir is taken for a launch in progress. */
export const FOREIGN_CGROUP_GRACE_MS = 60_000;

/** Time since the most recent of these directories was made (or changed); Infinity when none exists. */
function youngestAgeMs(paths: readonly string[]): number {
  let age = Infinity;
  for (const p of paths) {
    try {
      age = Math.min(age, Date.now() - statSync(p).mtimeMs);
    } catch {
      // not in this hierarchy
    }
  }
  return age;
}

export async function cleanupLeaks(dataDir: string, leaks: Leak[]): Promise<CleanupResult> {
  const store = new RecordStore(dataDir);
  const running = new Set(store.ids().filter((id) => {
    const r = store.load(id);
    return r?.state === 'running' && recordOwned(r, store.containerDir(id)) && processStartTime(r.pid) === r.pidStartTime;
  }));
  const runningVeths = new Set([...running].map((id) => hostVethName(id)));
  const result: CleanupResult = { removed: [], kept: [] };
  const keep = (l: Leak, why: string): void => void result.kept.push({ ...l, why });
  const root = dataDir.endsWith('/') ? dataDir : dataDir + '/';
  // Deepest mounts first, so stacked and nested mounts come off in order.
  const ordered = [...leaks].sort((a, b) => (a.kind === 'mount' && b.kind === 'mount' ? b.name.length - a.name.length : 0));
  for (const l of ordered) {
    try {
      switch (l.kind) {
        case 'mount':
          if (!l.name.startsWith(root)) {
            keep(l, 'not under the data dir: not made by Locker');
            continue;
          }
          umount2(l.name, MNT.DETACH, 'MNT_DETACH');
          break;
        case 'cgroup': {
          if (running.has(l.name)) {
            keep(l, 'its container is running');
            continue;
          }
          const cg = openCgroup(l.name, hostLayout(), true);
          const ours = !!store.load(l.name);
          if (cg.pids().length > 0 && !ours) {
            keep(l, 'has processes and is not a container of this data dir');
            continue;
          }
          // An empty cgroup of another data dir (another CLI, another user) may be a launch in
          // progress: it is made before its child joins it. Only one left alone for a while is a leftover.
          const age = youngestAgeMs(cg.paths);
          if (!ours && age < FOREIGN_CGROUP_GRACE_MS) {
            keep(l, `made ${Math.round(age / 1000)} s ago by another process (a launch in progress?); run Clean up again later`);
            continue;
          }
          await cg.remove();
          break;
        }
        case 'veth':
          if (runningVeths.has(l.name)) {
            keep(l, 'its container is running');
            continue;
          }
          removeVeth(l.name);
          break;
        case 'container':
          if (running.has(l.name)) {
            keep(l, 'running');
            continue;
          }
          rmSync(join(containersDir(dataDir), l.name), { recursive: true, force: true });
          break;
        default:
          keep(l, 'not made by Locker');
          continue;
      }
      result.removed.push(l);
    } catch (e) {
      keep(l, (e as Error).message);
    }
  }
  return result;
}

function removeVeth(name: string): void {
  // teardownNetwork takes a container id; a veth is lk + the first 10 hex digits of one.
  teardownNetwork(name.slice(2));
}
