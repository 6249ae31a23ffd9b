// Discovery: every container on the machine with the engine that owns it.
import { groupContainers, scanProcesses, type GroupingType } from './scan';
import { ownerOf, runtimeStates, type Engine, type LockerRecords } from './engines';

export interface DiscoveredContainer {
  engine: Engine;
  id: string;
  name: string;
  /** Host PID of its first process. */
  pid: number;
  /** Owner's uid on the host. */
  uid: number;
  command: string;
  processes: number;
  /** Namespace types in which it differs from the host. */
  own: GroupingType[];
  source: string;
}

export function discoverContainers(locker: LockerRecords = new Map()): DiscoveredContainer[] {
  const procs = scanProcesses();
  const states = runtimeStates(procs);
  return groupContainers(procs).map((g) => {
    const o = ownerOf(g, procs, states, locker);
    return { engine: o.engine, id: o.id, name: o.name, pid: g.init.pid, uid: g.init.uid, command: g.init.cmdline, processes: g.members.length, own: g.own, source: o.source };
  });
}

/** Finds one by engine id (or a unique prefix of it), name, or host PID. */
export function findDiscovered(all: DiscoveredContainer[], ref: string): DiscoveredContainer | undefined {
  if (/^\d+$/.test(ref)) {
    const byPid = all.find((c) => c.pid === Number(ref));
    if (byPid) return byPid;
  }
  const exact = all.filter((c) => c.id === ref || c.name === ref);
  if (exact.length === 1) return exact[0];
  const prefix = all.filter((c) => c.id.startsWith(ref));
  return prefix.length === 1 ? prefix[0] : undefined;
}

export type { Engine } from './engines';
export { GROUPING_TYPES } from './scan';
