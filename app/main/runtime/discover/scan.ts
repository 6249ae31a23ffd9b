// Every container on the machine, whoever made it: processes grouped by the set of namespaces they
// are in. A group counts as a container when it has a mount namespace of its own and a PID or UTS
// namespace of its own — what runc, crun, podman, docker, nspawn, LXC, bubblewrap and Locker all
// make — while sandboxed services (a private mount namespace only) and browser sandboxes (user, PID
// and net, but no mount namespace) are left out. Reading only: nothing here changes a process.
import { readdirSync, readlinkSync } from 'node:fs';
import { formatCmdline, parseNSpid, parseStat, type StatLine } from '../inspect/processes';
import { readProcFile, readProcText } from '../inspect/proc-read';

/** The namespace types that tell containers apart (time is too new to be set by most engines). */
export const GROUPING_TYPES = ['mnt', 'pid', 'uts', 'ipc', 'net', 'user', 'cgroup'] as const;
export type GroupingType = (typeof GROUPING_TYPES)[number];

export interface ScannedProcess extends StatLine {
  uid: number;
  /** Namespace links by type, e.g. mnt → "mnt:[4026532301]". */
  ns: Record<GroupingType, string>;
  cmdline: string;
  /** PID in each nested PID namespace, outermost first. */
  nspid: number[];
}

export interface NamespaceGroup {
  /** The group's first process: the one whose parent is outside the group (lowest PID inside on a tie). */
  init: ScannedProcess;
  /** The init's parent, outside the group (the engine's process: runc, conmon, a shim, bwrap…), if visible. */
  parent?: ScannedProcess;
  members: ScannedProcess[];
  /** Namespace types in which the group differs from the host (PID 1's). */
  own: GroupingType[];
}

function readProcess(pid: number): ScannedProcess | null {
  const stat = readProcText(`/proc/${pid}/stat`);
  const status = readProcText(`/proc/${pid}/status`);
  if (stat === null || status === null) return null;
  const s = parseStat(stat);
  if (!s) return null;
  const ns = {} as Record<GroupingType, string>;
  try {
    for (const t of GROUPING_TYPES) ns[t] = readlinkSync(`/proc/${pid}/ns/${t}`);
  } catch {
    // Gone, or another user's process we may not look into: not ours to show.
    return null;
  }
  const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? -1);
  return { ...s, uid, ns, cmdline: formatCmdline(readProcFile(`/proc/${pid}/cmdline`), s.name), nspid: parseNSpid(status) ?? [pid] };
}

/** Every process this user may look into (root: all), with its namespaces. */
export function scanProcesses(): ScannedProcess[] {
  const out: ScannedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const p = readProcess(Number(name));
    if (p && p.cmdline !== `[${p.name}]`) out.push(p); // kernel threads have no cmdline
  }
  return out;
}

const key = (p: ScannedProcess): string => GROUPING_TYPES.map((t) => p.ns[t]).join(' ');

/** The host's namespaces: those of PID 1 (ours, when PID 1 cannot be read). */
export function hostNamespaces(): Record<GroupingType, string> {
  const ns = {} as Record<GroupingType, string>;
  for (const t of GROUPING_TYPES) {
    try {
      ns[t] = readlinkSync(`/proc/1/ns/${t}`);
    } catch {
      ns[t] = readlinkSync(`/proc/self/ns/${t}`);
    }
  }
  return ns;
}

export function isContainer(own: readonly GroupingType[]): boolean {
  return own.includes('mnt') && (own.includes('pid') || own.includes('uts'));
}

/** Groups processes by namespace set and keeps the groups that are containers. */
export function groupContainers(procs: ScannedProcess[], host = hostNamespaces()): NamespaceGroup[] {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const groups = new Map<string, ScannedProcess[]>();
  for (const p of procs) {
    const k = key(p);
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  const out: NamespaceGroup[] = [];
  for (const members of groups.values()) {
    const own = GROUPING_TYPES.filter((t) => members[0].ns[t] !== host[t]);
    if (!isContainer(own)) continue;
    const pids = new Set(members.map((m) => m.pid));
    const tops = members.filter((m) => !pids.has(m.ppid));
    const inner = (m: ScannedProcess): number => m.nspid[m.nspid.length - 1];
    const init = [...(tops.length ? tops : members)].sort((a, b) => inner(a) - inner(b) || a.pid - b.pid)[0];
    out.push({ init, parent: byPid.get(init.ppid), members: members.sort((a, b) => a.pid - b.pid), own });
  }
  return withoutLaunchers(out).sort((a, b) => a.init.pid - b.init.pid);
}

/**
 * `unshare --pid --fork` and the like: the launcher unshares the other namespaces itself, then
 * forks the container's first process into the new PID namespace. Its own group is then only the
 * launcher, a parent of that container with a subset of its namespaces: the engine, not a container.
 */
function withoutLaunchers(groups: NamespaceGroup[]): NamespaceGroup[] {
  return groups.filter((g) => !groups.some((child) => child !== g && g.members.every((m) => child.init.ppid === m.pid)
    && g.own.every((t) => child.own.includes(t) && child.init.ns[t] === m0(g).ns[t])));
}

const m0 = (g: NamespaceGroup): ScannedProcess => g.members[0];
