// Classic BPF as seccomp runs it: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }, 8 bytes,
// jumps relative to the next instruction and forward only (jt/jf up to 255, BPF_JA up to 2^32).
// The program reads struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }.

export const BPF = {
  LD_W_ABS: 0x20, // A = *(u32 *)(data + k)
  ALU_AND_K: 0x54, // A &= k
  JA: 0x05, // pc += k
  JEQ_K: 0x15, // pc += (A == k) ? jt : jf
  JGT_K: 0x25,
  JGE_K: 0x35,
  RET_K: 0x06, // return k
} as const;

export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  ERRNO: 0x00050000, // | errno in the low 16 bits
  ALLOW: 0x7fff0000,
} as const;

export const SECCOMP_DATA = { nr: 0, arch: 4, argLo: (i: number) => 16 + 8 * i, argHi: (i: number) => 20 + 8 * i } as const;

/** Longest conditional jump (jt/jf are u8) and longest program the kernel takes (BPF_MAXINSNS). */
export const MAX_JUMP = 255;
export const MAX_INSNS = 4096;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
export const jump = (code: number, k: number, jt: number, jf: number): Insn => {
  if (jt < 0 || jf < 0 || jt > MAX_JUMP || jf > MAX_JUMP) throw new Error(`BPF jump out of range (${jt}, ${jf})`);
  return { code, jt, jf, k: k >>> 0 };
};
export const ret = (k: number): Insn => stmt(BPF.RET_K, k);
export const load = (offset: number): Insn => stmt(BPF.LD_W_ABS, offset);

/** struct sock_filter[] as the kernel reads it (host byte order: both supported arches are little-endian). */
export function encode(program: readonly Insn[]): Buffer {
  const out = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(ins.jt, i * 8 + 2);
    out.writeUInt8(ins.jf, i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}

export function decode(buf: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let o = 0; o + 8 <= buf.length; o += 8) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}
