// --ulimit (run and exec): docker's NAME=SOFT[:HARD] through the shared grammar, set with prlimit on
// the waiting child before its first own step, so everything it starts inherits the limits.
import { SyscallError } from '../../../native/errors';
import { prlimit } from '../../../native/libc';
import { ULIMITS, parseUlimit, type Ulimit } from '../../shared/grammar';
import { LockerError } from './errors';

/** Each text through the grammar; one line for the first that is wrong. */
export function parseUlimits(texts: readonly unknown[] | undefined): Ulimit[] {
  return (texts ?? []).map((u) => {
    const r = parseUlimit(String(u));
    if (!r.ok) throw new LockerError(r.problem);
    return r.value;
  });
}

const RLIM_INFINITY = (1n << 64n) - 1n;

/** prlimit on pid (a waiting child); one line when the kernel refuses to raise a hard limit. */
export function setUlimits(pid: number, ulimits: readonly Ulimit[], rootless: boolean): void {
  for (const u of ulimits) {
    const value = (n: number): bigint => (n === -1 ? RLIM_INFINITY : BigInt(n));
    try {
      prlimit(pid, ULIMITS[u.name], `RLIMIT_${u.name.toUpperCase()}`, value(u.soft), value(u.hard));
    } catch (e) {
      if (!(e instanceof SyscallError && e.code === 'EPERM')) throw e;
      throw new LockerError(`--ulimit ${u.name}: the hard limit cannot be raised ${rootless ? 'without root (only lowered: see ulimit -H)' : 'above the kernel\'s maximum (e.g. fs.nr_open for nofile)'}`);
    }
  }
}
