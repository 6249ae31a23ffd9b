// Everything the host can see of one container, gathered in one call.
import type { Inspection, ProcessEntry } from '../../../shared/types';
import { confinement } from './confinement';
import { hostnames } from './hostname';
import { gidMap, mountTable, uidMap } from './identity';
import { compareNamespaces } from './namespaces';
import { containerProcessesOnly, hostProcessTable } from './processes';
import { inspectInWorker } from './process-table-async';

/** `execPids`: processes that joined the container after it started (locker exec). */
export function inspectContainer(c: { id: string; pid: number; execPids?: number[] }): Inspection {
  return withProcesses(c, hostProcessTable(c.pid, c.execPids));
}

/** The same, gathered in a worker thread (process table, hostname spawn, /proc reads): the caller's event loop stays free. */
export async function inspectContainerAsync(c: { id: string; pid: number; execPids?: number[] }): Promise<Inspection> {
  return inspectInWorker(c, () => inspectContainer(c));
}

/** An inspection without the host's process table, for what needs only the container's (locker top). */
export type ContainerInspection = Omit<Inspection, 'hostProcesses'>;

/**
 * inspectContainer without the host table: the same parts, the same containerProcesses, read from
 * the container's processes alone (processes.ts, containerProcessesOnly), so its cost follows the
 * container and not the host's process count.
 */
export function inspectContainerOnly(c: { id: string; pid: number; execPids?: number[] }): ContainerInspection {
  return containerParts(c, containerProcessesOnly(c.pid, c.execPids));
}

function withProcesses(c: { id: string; pid: number }, hostProcesses: ProcessEntry[]): Inspection {
  // hostProcesses where it always was among the keys: `locker inspect` prints them in this order.
  const { id, pid, hostname, ...rest } = containerParts(c, hostProcesses.filter((p) => p.inContainer));
  return { id, pid, hostname, hostProcesses, ...rest };
}

function containerParts(c: { id: string; pid: number }, containerProcesses: ProcessEntry[]): ContainerInspection {
  const namespaces = compareNamespaces(c.pid);
  const uids = uidMap(c.pid);
  return {
    id: c.id,
    pid: c.pid,
    hostname: hostnames(c.pid),
    containerProcesses,
    namespaces,
    uidMap: uids,
    gidMap: gidMap(c.pid),
    mounts: mountTable(c.pid),
    confinement: confinement(c.pid, namespaces, uids),
  };
}

export { hostProcessTableAsync, interfacesAsync } from './process-table-async';
export { hostProcessTable, containerProcessTable, containerProcessesOnly, parseStat, parseNSpid, formatCmdline } from './processes';
export { compareNamespaces, namespaceLink, sharesNamespace, NAMESPACE_TYPES } from './namespaces';
export { uidMap, gidMap, mountTable, parseMountInfo, unescapeMountField } from './identity';
export { containerHostname, containerHostnameAsync, hostHostname, hostnames } from './hostname';
export { listDirectory } from './filesystem';
