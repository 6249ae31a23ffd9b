// The other direction of oci.ts: an OCI runtime config's `linux.seccomp` object (what podman or a
// runc bundle carries) as a ResolvedProfile, so the same compiler builds its BPF filter. Only what
// the compiler can express is taken: a default of SCMP_ACT_ERRNO, rules that allow or fail with an
// errno, argument comparisons; anything else is refused with one line naming the field.
import type { Action, ArgTest } from './profile';
import type { Decision, ResolvedProfile } from './resolve';
import type { SyscallTable } from './syscalls';

const OPS: Record<string, ArgTest['op']> = {
  SCMP_CMP_EQ: 'EQ', SCMP_CMP_NE: 'NE', SCMP_CMP_LT: 'LT', SCMP_CMP_LE: 'LE', SCMP_CMP_GT: 'GT', SCMP_CMP_GE: 'GE', SCMP_CMP_MASKED_EQ: 'MASKED_EQ',
};
const EPERM = 1;

export interface ImportedSeccomp {
  profile: ResolvedProfile;
  /** Things taken differently from libseccomp, for the runtime's log (e.g. names this table lacks). */
  notes: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws `linux.seccomp.<field>: <why>` for anything the compiler cannot honour. */
export function fromOciSeccomp(s: unknown, table: SyscallTable, field = 'linux.seccomp'): ImportedSeccomp {
  const refuse = (f: string, why: string): never => {
    throw new Error(`${field}${f}: ${why}`);
  };
  if (!isObj(s)) return refuse('', 'must be an object');
  for (const k of Object.keys(s)) {
    if (!['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'syscalls'].includes(k)) refuse(`.${k}`, 'is not supported by Locker\'s seccomp compiler; remove it');
  }
  if (s.defaultAction !== 'SCMP_ACT_ERRNO') refuse('.defaultAction', `${JSON.stringify(s.defaultAction)} is not supported: Locker compiles allow-lists only (defaultAction SCMP_ACT_ERRNO)`);
  const defaultErrno = s.defaultErrnoRet === undefined ? EPERM : Number(s.defaultErrnoRet);
  if (!Number.isInteger(defaultErrno) || defaultErrno < 0 || defaultErrno > 4095) refuse('.defaultErrnoRet', 'must be an errno number');
  if (Array.isArray(s.flags) && s.flags.length > 0) refuse('.flags', `${JSON.stringify(s.flags)}: seccomp filter flags are not supported; remove them`);
  const notes: string[] = [];
  const archs = Array.isArray(s.architectures) ? (s.architectures as unknown[]) : [];
  if (archs.length > 0 && !archs.includes(table.ociArch)) refuse('.architectures', `does not include this machine's ${table.ociArch}`);
  const foreign = archs.filter((a) => a !== table.ociArch);
  if (foreign.length) notes.push(`seccomp: only ${table.ociArch} syscalls are allowed; ${foreign.join(', ')} syscalls kill the process (Locker builds the filter for the native ABI only)`);
  const decisions = new Map<string, Decision>();
  const unknown = new Set<string>();
  const rules = Array.isArray(s.syscalls) ? (s.syscalls as unknown[]) : [];
  rules.forEach((r, i) => {
    const at = `.syscalls[${i}]`;
    if (!isObj(r)) return refuse(at, 'must be an object');
    for (const k of Object.keys(r)) if (!['names', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes'].includes(k)) refuse(`${at}.${k}`, 'is not supported; remove it');
    if ((isObj(r.includes) && Object.keys(r.includes).length) || (isObj(r.excludes) && Object.keys(r.excludes).length)) {
      refuse(`${at}.includes`, 'is a profile-file field (resolved by the engine); a runtime config has none');
    }
    let action: Action;
    if (r.action === 'SCMP_ACT_ALLOW') action = 'allow';
    else if (r.action === 'SCMP_ACT_ERRNO') action = { errno: r.errnoRet === undefined ? EPERM : Number(r.errnoRet) };
    else return refuse(`${at}.action`, `${JSON.stringify(r.action)} is not supported (only SCMP_ACT_ALLOW and SCMP_ACT_ERRNO)`);
    const tests: ArgTest[] = (Array.isArray(r.args) ? (r.args as unknown[]) : []).map((a, j) => {
      if (!isObj(a) || typeof a.index !== 'number' || a.index < 0 || a.index > 5) return refuse(`${at}.args[${j}]`, 'needs an index from 0 to 5');
      const op = OPS[String(a.op)];
      if (!op) return refuse(`${at}.args[${j}].op`, `${JSON.stringify(a.op)} is not a SCMP_CMP_* operator`);
      const big = (v: unknown): bigint => BigInt.asUintN(64, BigInt(Math.trunc(Number(v ?? 0))));
      // libseccomp's masked compare: value is the mask, valueTwo the datum.
      if (op === 'MASKED_EQ') return { index: a.index, op, mask: big(a.value), value: big(a.valueTwo) };
      return { index: a.index, op, value: big(a.value) };
    });
    for (const name of Array.isArray(r.names) ? (r.names as unknown[]).map(String) : []) {
      if (table.numbers[name] === undefined) {
        // Like libseccomp for a name it does not know; allowing nothing extra is the safe side.
        unknown.add(name);
        continue;
      }
      const had = decisions.get(name);
      if (tests.length === 0) decisions.set(name, { kind: 'fixed', action });
      else if (had?.kind === 'args') had.rules.push({ tests, action });
      else if (!had) decisions.set(name, { kind: 'args', rules: [{ tests, action }] });
    }
  });
  if (unknown.size) notes.push(`seccomp: ${unknown.size} syscall names unknown to Locker's ${table.ociArch} table get the default action: ${[...unknown].sort().join(' ')}`);
  return { profile: { name: 'oci-config', table, defaultErrno, decisions }, notes };
}
