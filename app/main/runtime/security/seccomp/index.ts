// The seccomp filter a container gets: Docker's default profile decided for its capabilities,
// compiled for this machine's architecture. `unconfined` (--security-opt seccomp=unconfined) gets none.
import type { Program } from '../../../../../native/program';
import type { CapName } from '../capabilities';
import { compileToBuffer } from './compile';
import { toOciSeccomp, type OciSeccomp } from './oci';
import { DOCKER_DEFAULT } from './profile';
import { describeResolved, resolveProfile, type ResolvedProfile } from './resolve';
import { hostTable, type SyscallTable } from './syscalls';

export function defaultProfileFor(caps: readonly CapName[], table: SyscallTable | undefined = hostTable()): ResolvedProfile {
  if (!table) {
    throw new Error(`Locker has no syscall table for this architecture (${process.arch}), so it cannot build the seccomp filter; run with --security-opt seccomp=unconfined`);
  }
  return resolveProfile(DOCKER_DEFAULT, caps, table);
}

export interface SeccompFilter {
  program: Buffer;
  /** For the syscall log, e.g. "docker-default: 302 allowed, 3 checked by argument, …, EPERM otherwise". */
  summary: string;
}

/**
 * Compiled once per capability set in a process (1-2 ms each; a launch needs it every time). The
 * same filter object comes back: its program is copied into each launch's encoded program, never
 * changed.
 */
const compiledFilters = new Map<string, Readonly<SeccompFilter>>();
const MAX_COMPILED_FILTERS = 16;

export function defaultFilter(caps: readonly CapName[]): Readonly<SeccompFilter> {
  const key = caps.join(',');
  const known = compiledFilters.get(key);
  if (known) return known;
  const resolved = defaultProfileFor(caps);
  const filter = Object.freeze({ program: compileToBuffer(resolved), summary: describeResolved(resolved) });
  if (compiledFilters.size >= MAX_COMPILED_FILTERS) compiledFilters.delete(compiledFilters.keys().next().value!);
  compiledFilters.set(key, filter);
  return filter;
}

/** The `linux.seccomp` object of a runc config.json for a container with these capabilities. */
export function defaultOciSeccomp(caps: readonly CapName[]): OciSeccomp {
  return toOciSeccomp(defaultProfileFor(caps));
}

/**
 * The seccomp step: after no_new_privs (which lets a process without CAP_SYS_ADMIN install a
 * filter) and right before execve, so every call the container makes is checked and none of the
 * setup's own calls are. The profile is decided for `caps`, the capabilities the container keeps.
 */
export function installDefaultSeccomp(p: Program, caps: readonly CapName[]): void {
  const f = defaultFilter(caps);
  p.seccomp(f.program, 0, f.summary);
}
