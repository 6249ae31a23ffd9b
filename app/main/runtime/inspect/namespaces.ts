// Which namespaces a process shares with the runtime: equal /proc/*/ns/X links mean the same namespace.
import { readlinkSync } from 'node:fs';
import type { NamespaceComparison } from '../../../shared/types';
import { isGone } from './proc-read';

export const NAMESPACE_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

/** The namespace link of a process, e.g. "uts:[4026531838]". pid 'self' is the runtime. */
export function namespaceLink(pid: number | 'self', type: NamespaceType): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/${type}`);
  } catch (e) {
    if (isGone(e) && pid !== 'self') throw new Error(`process ${pid} is gone: cannot read its ${type} namespace`);
    throw new Error(`cannot read /proc/${pid}/ns/${type}: ${(e as Error).message}`);
  }
}

/** True when the process is in the same namespace of this type as the runtime. */
export function sharesNamespace(pid: number, type: NamespaceType): boolean {
  return namespaceLink('self', type) === namespaceLink(pid, type);
}

/** Host (/proc/self) vs container (/proc/PID) for every namespace type. */
export function compareNamespaces(pid: number): NamespaceComparison[] {
  return NAMESPACE_TYPES.map((type) => {
    const host = namespaceLink('self', type);
    const container = namespaceLink(pid, type);
    return { type, host, container, shared: host === container };
  });
}
