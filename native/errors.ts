import { constants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n, name] as [number, string]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** A failed libc call, named with its decoded arguments, e.g. `unshare(CLONE_NEWPID) failed: EPERM (Operation not permitted)`. */
export class SyscallError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly args: string,
    readonly errno: number,
    description: string,
  ) {
    const code = errnoName(errno);
    super(`${syscall}(${args}) failed: ${code} (${description})`);
    this.name = 'SyscallError';
    this.code = code;
  }
}
