// A profile decided for one container: capability conditions settled against its capability set,
// names turned into this architecture's numbers. What is left per syscall is either one action, or
// a list of argument checks tried in order (the default action when none matches).
import type { CapName } from '../capabilities';
import { ENOSYS, EPERM, type Action, type ArgTest, type Profile } from './profile';
import type { SyscallTable } from './syscalls';

export interface ArgRule {
  tests: readonly ArgTest[];
  action: Action;
}

export type Decision = { kind: 'fixed'; action: Action } | { kind: 'args'; rules: ArgRule[] };

export interface ResolvedProfile {
  name: string;
  table: SyscallTable;
  defaultErrno: number;
  /** By syscall name; a syscall absent here gets the default action. */
  decisions: Map<string, Decision>;
}

const sameAction = (a: Action, b: Action): boolean => (a === 'allow' ? b === 'allow' : b !== 'allow' && a.errno === b.errno);

export function resolveProfile(profile: Profile, caps: readonly CapName[], table: SyscallTable): ResolvedProfile {
  const decisions = new Map<string, Decision>();
  for (const rule of profile.rules) {
    if (rule.ifCaps && !rule.ifCaps.every((c) => caps.includes(c))) continue;
    if (rule.unlessCaps && rule.unlessCaps.some((c) => caps.includes(c))) continue;
    for (const name of rule.names) {
      // A name this architecture lacks is skipped, as libseccomp does.
      if (table.numbers[name] === undefined) continue;
      const had = decisions.get(name);
      if (!rule.args || rule.args.length === 0) {
        // An unconditional rule wins over argument checks of the same syscall; two that disagree are a profile bug.
        if (had?.kind === 'fixed' && !sameAction(had.action, rule.action)) {
          throw new Error(`seccomp profile ${profile.name}: ${name} has two unconditional actions`);
        }
        decisions.set(name, { kind: 'fixed', action: rule.action });
      } else if (had?.kind === 'args') {
        had.rules.push({ tests: rule.args, action: rule.action });
      } else if (!had) {
        decisions.set(name, { kind: 'args', rules: [{ tests: rule.args, action: rule.action }] });
      }
    }
  }
  return { name: profile.name, table, defaultErrno: profile.defaultErrno, decisions };
}

const errnoName = (n: number): string => ({ [EPERM]: 'EPERM', [ENOSYS]: 'ENOSYS' })[n] ?? `errno ${n}`;

/** "docker-default: 306 allowed, 3 checked by argument, clone3 ENOSYS, EPERM otherwise" for the syscall log. */
export function describeResolved(r: ResolvedProfile): string {
  let allowed = 0;
  let checked = 0;
  const errnos: string[] = [];
  for (const [name, d] of r.decisions) {
    if (d.kind === 'args') checked++;
    else if (d.action === 'allow') allowed++;
    else errnos.push(`${name} ${errnoName(d.action.errno)}`);
  }
  return [`${r.name}: ${allowed} allowed`, `${checked} checked by argument`, ...errnos, `${errnoName(r.defaultErrno)} otherwise`].join(', ');
}
