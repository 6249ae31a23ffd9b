// The resolved profile as the `linux.seccomp` object of an OCI runtime config (runc's config.json,
// the same shape as Docker's profile files), so `locker equivalent` shows what the filter does and
// runc given it builds the same filter with libseccomp.
import type { Action, ArgTest } from './profile';
import type { ResolvedProfile } from './resolve';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
export interface OciSeccompRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: OciSeccompArg[];
}
export interface OciSeccomp {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: OciSeccompRule[];
}

function ociArg(t: ArgTest): OciSeccompArg {
  // libseccomp's masked compare takes the mask first: value = mask, valueTwo = datum.
  if (t.op === 'MASKED_EQ') return { index: t.index, value: Number(t.mask), valueTwo: Number(t.value), op: 'SCMP_CMP_MASKED_EQ' };
  return { index: t.index, value: Number(t.value), op: `SCMP_CMP_${t.op}` };
}

const ociAction = (a: Action): Pick<OciSeccompRule, 'action' | 'errnoRet'> =>
  (a === 'allow' ? { action: 'SCMP_ACT_ALLOW' } : { action: 'SCMP_ACT_ERRNO', errnoRet: a.errno });

export function toOciSeccomp(r: ResolvedProfile): OciSeccomp {
  const allowed: string[] = [];
  const rest: OciSeccompRule[] = [];
  for (const [name, d] of [...r.decisions].sort(([a], [b]) => a.localeCompare(b))) {
    if (d.kind === 'fixed' && d.action === 'allow') allowed.push(name);
    else if (d.kind === 'fixed') rest.push({ names: [name], ...ociAction(d.action) });
    else for (const rule of d.rules) rest.push({ names: [name], ...ociAction(rule.action), args: rule.tests.map(ociArg) });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: r.defaultErrno,
    architectures: [r.table.ociArch],
    syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }, ...rest],
  };
}
