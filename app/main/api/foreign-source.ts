// The app's view of containers Locker did not make: listed beside its own with their engine,
// inspected and browsed like them, entered with "+" (setns) — and never stopped or removed from the
// app, which would change another engine's state behind its back.
import type { SyscallRecord } from '../../shared/api';
import type { ContainerInfo, DirListing, Inspection } from '../../shared/types';
import type { ExecHandle, ExecOptions } from '../runtime/handles';

export interface ForeignSource {
  /** Every container on the machine that is not one of `own`, in ContainerInfo form (engine set). */
  list(own: ContainerInfo[]): ContainerInfo[];
  inspect(id: string, own: ContainerInfo[]): Promise<Inspection>;
  listDir(id: string, own: ContainerInfo[], side: 'host' | 'container', path: string): DirListing;
  exec(id: string, own: ContainerInfo[], argv: string[], opts: ExecOptions): ExecHandle;
  /** The calls that launched it, when Locker made them (`locker oci`: podman through bin/locker-runtime); [] otherwise. */
  syscallLog?(id: string, own: ContainerInfo[]): SyscallRecord[];
}

/** Discovery on this machine (runtime/foreign.ts), loaded on first use: it reads /proc and pulls in the native step. */
export function hostForeignSource(): ForeignSource {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const foreign = (): typeof import('../runtime/foreign') => require('../runtime/foreign') as typeof import('../runtime/foreign');
  const inspect = (): typeof import('../runtime/inspect') => require('../runtime/inspect') as typeof import('../runtime/inspect');
  const exec = (): typeof import('../runtime/exec') => require('../runtime/exec') as typeof import('../runtime/exec');
  const oci = (): typeof import('../oci/syscall-file') => require('../oci/syscall-file') as typeof import('../oci/syscall-file');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const find = (id: string, own: ContainerInfo[]) => {
    const d = foreign().findForeign(id, own);
    if (!d) throw new Error(`no container "${id}" (it may have ended)`);
    return d;
  };
  return {
    // Another data dir's Locker containers (a test run's, another user's) stay out of this window: `locker ps --all-engines` lists them.
    list: (own) => foreign().foreignContainers(own).filter((d) => d.engine !== 'locker').map((d) => foreign().foreignInfo(d)),
    inspect: async (id, own) => inspect().inspectContainerAsync({ id, pid: find(id, own).pid }),
    listDir: (id, own, side, path) => inspect().listDirectory(side, find(id, own).pid, path),
    exec: (id, own, argv, opts) => exec().execInContainer(foreign().foreignExecTarget(find(id, own)), argv, opts),
    syscallLog: (id, own) => {
      const d = find(id, own);
      return oci().ociSyscallRecords(d.id, d.pid) ?? [];
    },
  };
}

/** Same containers, same order: nothing to tell the windows. */
export function sameContainers(a: ContainerInfo[], b: ContainerInfo[]): boolean {
  return a.length === b.length && a.every((c, i) => c.id === b[i].id && c.pid === b[i].pid && c.state === b[i].state);
}
