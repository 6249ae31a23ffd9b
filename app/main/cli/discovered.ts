// `locker ps --all-engines` and `locker inspect` of a container Locker did not make: discovery
// (runtime/discover) lists every container on the machine with the engine that owns it.
import type { ContainerInfo } from '../../shared/types';
import { discoverContainers, findDiscovered, type DiscoveredContainer } from '../runtime/discover';
import { execInContainer } from '../runtime/exec';
import { foreignExecTarget, findForeign, lockerRecords } from '../runtime/foreign';
import type { ExecHandle, ExecOptions } from '../runtime/handles';
import { inspectContainerAsync } from '../runtime/inspect';
import { table } from './format';

export { lockerRecords };

/** exec into another engine's container (setns, as nsenter would): the one change Locker makes to it, on request. */
export function execDiscovered(ref: string, own: ContainerInfo[], argv: string[], opts: ExecOptions): ExecHandle | undefined {
  const d = findForeign(ref, own);
  return d ? execInContainer(foreignExecTarget(d), argv, opts) : undefined;
}

export function discoveredTable(list: DiscoveredContainer[]): string {
  const rows = [['ENGINE', 'ID', 'NAME', 'PID', 'UID', 'PROCS', 'OWN NAMESPACES', 'COMMAND']];
  for (const c of list) {
    rows.push([c.engine, c.id.slice(0, 12), c.name, String(c.pid), String(c.uid), String(c.processes), c.own.join(','), c.command.slice(0, 60)]);
  }
  return table(rows);
}

/** The inspection JSON of any container on the machine (reading only), or undefined when none matches. */
export async function inspectDiscovered(ref: string, list: ContainerInfo[]): Promise<object | undefined> {
  const c = findDiscovered(discoverContainers(lockerRecords(list)), ref);
  if (!c) return undefined;
  return { ...c, inspection: await inspectContainerAsync({ id: c.id, pid: c.pid }) };
}
