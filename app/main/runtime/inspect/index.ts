// Everything the host can see of one container, gathered in one call.
import type { Inspection, ProcessEntry } from '../../../shared/types';
import { confinement } from './confinement';
import { hostnames } from './hostname';
import { gidMap, mountTable, uidMap } from './identity';
import { compareNamespaces } from './namespaces';
import { hostProcessTable } from './processes';
import { inspectInWorker } from './process-table-async';

/** `execPids`: processes that joined the container after it started (locker exec). */
export function inspectContainer(c: { id: string; pid: number; execPids?: number[] }): Inspection {
  return withProcesses(c, hostProcessTable(c.pid, c.execPids));
}

/** The same, gathered in a worker thread (process table, hostname spawn, /proc reads): the caller's event loop stays free. */
export async function inspectContainerAsync(c: { id: string; pid: number; execPids?: number[] }): Promise<Inspection> {
  return inspectInWorker(c, () => inspectContainer(c));
}

function withProcesses(c: { id: string; pid: number }, hostProcesses: ProcessEntry[]): Inspection {
  const namespaces = compareNamespaces(c.pid);
  const uids = uidMap(c.pid);
  return {
    id: c.id,
    pid: c.pid,
    hostname: hostnames(c.pid),
    hostProcesses,
    containerProcesses: hostProcesses.filter((p) => p.inContainer),
    namespaces,
    uidMap: uids,
    gidMap: gidMap(c.pid),
    mounts: mountTable(c.pid),
    confinement: confinement(c.pid, namespaces, uids),
  };
}

export { hostProcessTableAsync, interfacesAsync, natRulesAsync } from './process-table-async';
export { hostProcessTable, containerProcessTable, parseStat, parseNSpid, formatCmdline } from './processes';
export { compareNamespaces, namespaceLink, sharesNamespace, NAMESPACE_TYPES } from './namespaces';
export { uidMap, gidMap, mountTable, parseMountInfo, unescapeMountField } from './identity';
export { containerHostname, hostHostname, hostnames } from './hostname';
export { listDirectory } from './filesystem';
