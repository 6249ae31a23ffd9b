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

export function defaultFilter(caps: readonly CapName[]): SeccompFilter {
  const resolved = defaultProfileFor(caps);
  return { program: compileToBuffer(resolved), summary: describeResolved(resolved) };
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
