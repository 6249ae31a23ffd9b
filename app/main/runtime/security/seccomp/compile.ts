// Compiles a resolved profile to a seccomp BPF program:
//   1. seccomp_data.arch must be this table's (a 32-bit or foreign-ABI syscall kills the process:
//      the numbers would mean other calls);
//   2. nr at or above the ABI's limit (x32 on x86_64) gets the default action;
//   3. a binary search over ranges of syscall numbers with one action each, so a syscall costs
//      about log2(ranges) comparisons; a syscall with argument checks is a range of its own whose
//      leaf compares 64-bit arguments as two 32-bit words.
import { BPF, MAX_INSNS, MAX_JUMP, SECCOMP_DATA, SECCOMP_RET, encode, jump, load, ret, stmt, type Insn } from './bpf';
import type { Action, ArgTest } from './profile';
import type { ArgRule, ResolvedProfile } from './resolve';

export const actionValue = (a: Action): number => (a === 'allow' ? SECCOMP_RET.ALLOW : (SECCOMP_RET.ERRNO | (a.errno & 0xffff)) >>> 0);

const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const lo = (v: bigint): number => Number(v & 0xffffffffn);

/** Targets of a test's jumps before they are resolved: past the test (pass) or past the rule (fail). */
const PASS = -1;
const FAIL = -2;
type Pending = Insn;

/**
 * One comparison as 32-bit word steps; falls through on success. A 64-bit argument is compared high
 * word first (it decides unless equal), then low word; a `word32` argument only by its low word.
 */
function testCode(t: ArgTest): Pending[] {
  const raw = (code: number, k: number, jt: number, jf: number): Pending => ({ code, jt, jf, k: k >>> 0 });
  const H = load(SECCOMP_DATA.argHi(t.index));
  const L = load(SECCOMP_DATA.argLo(t.index));
  const vh = hi(t.value);
  const vl = lo(t.value);
  const words = (high: Pending[], low: Pending[]): Pending[] => (t.word32 ? [L, ...low] : [H, ...high, L, ...low]);
  switch (t.op) {
    case 'EQ':
      return words([raw(BPF.JEQ_K, vh, 0, FAIL)], [raw(BPF.JEQ_K, vl, 0, FAIL)]);
    case 'NE':
      return words([raw(BPF.JEQ_K, vh, 0, PASS)], [raw(BPF.JEQ_K, vl, FAIL, 0)]);
    case 'GT':
    case 'GE': {
      const high = [raw(BPF.JGT_K, vh, PASS, 0), raw(BPF.JEQ_K, vh, 0, FAIL)];
      return words(high, [raw(t.op === 'GT' ? BPF.JGT_K : BPF.JGE_K, vl, 0, FAIL)]);
    }
    case 'LT':
    case 'LE': {
      const high = [raw(BPF.JGT_K, vh, FAIL, 0), raw(BPF.JEQ_K, vh, 0, PASS)];
      // lo < vl fails when lo >= vl; lo <= vl fails when lo > vl.
      return words(high, [raw(t.op === 'LT' ? BPF.JGE_K : BPF.JGT_K, vl, FAIL, 0)]);
    }
    case 'MASKED_EQ': {
      const high = [stmt(BPF.ALU_AND_K, hi(t.mask)), raw(BPF.JEQ_K, vh, 0, FAIL)];
      const low = [stmt(BPF.ALU_AND_K, lo(t.mask)), raw(BPF.JEQ_K, vl, 0, FAIL)];
      // A mask with an empty high word compares nothing there (clone's flags are 32-bit).
      if (hi(t.mask) === 0 && vh === 0) return [L, ...low];
      return words(high, low);
    }
  }
}

/** All tests of a rule (AND), then its action; a failed test jumps to the code after the rule. */
function ruleCode(rule: ArgRule): Insn[] {
  const parts = rule.tests.map(testCode);
  const length = parts.reduce((n, p) => n + p.length, 0) + 1;
  const out: Insn[] = [];
  for (const part of parts) {
    const end = out.length + part.length;
    for (const ins of part) {
      const at = out.length;
      const target = (j: number): number => (j === PASS ? end - at - 1 : j === FAIL ? length - at - 1 : j);
      out.push(ins.code === BPF.JEQ_K || ins.code === BPF.JGT_K || ins.code === BPF.JGE_K
        ? jump(ins.code, ins.k, target(ins.jt), target(ins.jf)) : ins);
    }
  }
  out.push(ret(actionValue(rule.action)));
  return out;
}

/** A range of syscall numbers [start, next range's start) with one leaf. */
interface Range {
  start: number;
  leaf: Insn[];
}

function ranges(r: ResolvedProfile): Range[] {
  const deny = ret(actionValue({ errno: r.defaultErrno }));
  const byNr = new Map<number, Insn[]>();
  for (const [name, d] of r.decisions) {
    const nr = r.table.numbers[name];
    byNr.set(nr, d.kind === 'fixed' ? [ret(actionValue(d.action))] : [...d.rules.flatMap(ruleCode), deny]);
  }
  const out: Range[] = [];
  const leafAt = (nr: number): Insn[] => byNr.get(nr) ?? [deny];
  const isReturn = (leaf: Insn[]): boolean => leaf.length === 1;
  const max = Math.max(...byNr.keys());
  for (let nr = 0; nr <= max + 1; nr++) {
    const leaf = leafAt(nr);
    const prev = out[out.length - 1];
    // Neighbours that return the same value share a range; argument leaves never merge.
    if (prev && isReturn(prev.leaf) && isReturn(leaf) && prev.leaf[0].k === leaf[0].k) continue;
    out.push({ start: nr, leaf });
  }
  return out;
}

/** Binary search over ranges: `nr >= start of the middle range ? right half : left half`. */
function search(rs: Range[]): Insn[] {
  if (rs.length === 1) return rs[0].leaf;
  const mid = rs.length >> 1;
  const left = search(rs.slice(0, mid));
  const right = search(rs.slice(mid));
  const k = rs[mid].start;
  if (left.length <= MAX_JUMP) return [jump(BPF.JGE_K, k, left.length, 0), ...left, ...right];
  // Too far for jt: jump over a BPF_JA that reaches the right half.
  return [jump(BPF.JGE_K, k, 0, 1), stmt(BPF.JA, left.length), ...left, ...right];
}

export function compileProfile(r: ResolvedProfile): Insn[] {
  const program = [
    load(SECCOMP_DATA.arch),
    jump(BPF.JEQ_K, r.table.auditArch, 1, 0),
    ret(SECCOMP_RET.KILL_PROCESS),
    load(SECCOMP_DATA.nr),
    jump(BPF.JGE_K, r.table.limit, 0, 1),
    ret(actionValue({ errno: r.defaultErrno })),
    ...search(ranges(r)),
  ];
  if (program.length > MAX_INSNS) throw new Error(`seccomp profile ${r.name} compiles to ${program.length} instructions; the kernel takes at most ${MAX_INSNS}`);
  return program;
}

export const compileToBuffer = (r: ResolvedProfile): Buffer => encode(compileProfile(r));
