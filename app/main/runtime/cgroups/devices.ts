// The device allowlist, the first of two layers (the second is nodev on every writable mount):
// which device nodes a container may create (mknod) and open, whatever nodes it finds or makes.
// cgroup v1: the `devices` controller's files. cgroup v2 has no such files: the same list is
// compiled here into a BPF_PROG_TYPE_CGROUP_DEVICE program and attached to the cgroup (as runc does).
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type * as Koffi from 'koffi';
import { O } from '../../../../native/constants';
import { bpf } from '../../../../native/libc';

// Loaded when a filter is made, not with the module (the CLI's start: issue 13).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const koffi = (): typeof Koffi => require('koffi') as typeof Koffi;

export interface DeviceRule {
  type: 'c' | 'b';
  /** '*' for any. */
  major: number | '*';
  minor: number | '*';
  /** r read, w write, m mknod. */
  access: string;
  what: string;
}

/**
 * runc's default AllowedDevices (and Docker's), without its blanket `c *:* m` / `b *:* m`: a node
 * may be made only for a device that may also be opened. Everything else: EPERM.
 */
export const DEFAULT_DEVICES: readonly DeviceRule[] = [
  { type: 'c', major: 1, minor: 3, access: 'rwm', what: '/dev/null' },
  { type: 'c', major: 1, minor: 5, access: 'rwm', what: '/dev/zero' },
  { type: 'c', major: 1, minor: 7, access: 'rwm', what: '/dev/full' },
  { type: 'c', major: 1, minor: 8, access: 'rwm', what: '/dev/random' },
  { type: 'c', major: 1, minor: 9, access: 'rwm', what: '/dev/urandom' },
  { type: 'c', major: 5, minor: 0, access: 'rwm', what: '/dev/tty' },
  { type: 'c', major: 5, minor: 1, access: 'rwm', what: '/dev/console' },
  { type: 'c', major: 5, minor: 2, access: 'rwm', what: '/dev/ptmx' },
  { type: 'c', major: 136, minor: '*', access: 'rwm', what: '/dev/pts/N' },
];

/** A rule as cgroup v1's devices.allow and devices.list spell it: `c 1:3 rwm`. */
export const v1RuleText = (r: DeviceRule): string => `${r.type} ${r.major}:${r.minor} ${r.access}`;

/**
 * cgroup v1: deny everything, then allow the list, in the container's `devices` directory. The
 * kernel takes one rule per write(2) (the rest of a write is ignored), so each rule is a write of
 * its own, all through one open devices.allow.
 */
export function v1WriteDevices(dir: string, rules: readonly DeviceRule[] = DEFAULT_DEVICES): void {
  writeFileSync(join(dir, 'devices.deny'), 'a');
  const allow = openSync(join(dir, 'devices.allow'), 'w');
  try {
    for (const r of rules) writeSync(allow, v1RuleText(r));
  } finally {
    closeSync(allow);
  }
}

// --- cgroup v2: the allowlist as an eBPF program -------------------------------------------------
// Verified for real only in the pure-v2 VM test lane; here (hybrid v1) the unit test checks the
// generated instructions, and devices.test.ts loads it where the kernel lets us.

/** struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; } */
const CTX = { accessType: 0, major: 4, minor: 8 } as const;
export const BPF_DEVCG_DEV = { block: 1, char: 2 } as const;
export const BPF_DEVCG_ACC = { mknod: 1, read: 2, write: 4 } as const;

/** eBPF opcodes used (linux/bpf_common.h, linux/bpf.h). */
export const EBPF = {
  LDX_W: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  AND32_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  RSH32_K: 0x74, // BPF_ALU | BPF_RSH | BPF_K
  MOV32_X: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
  MOV64_K: 0xb7, // BPF_ALU64 | BPF_MOV | BPF_K
  JNE_K: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  JNE_X: 0x5d, // BPF_JMP | BPF_JNE | BPF_X
  EXIT: 0x95, // BPF_JMP | BPF_EXIT
} as const;

interface Insn { op: number; dst: number; src: number; off: number; imm: number }
const insn = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });

function accessBits(access: string): number {
  let bits = 0;
  if (access.includes('m')) bits |= BPF_DEVCG_ACC.mknod;
  if (access.includes('r')) bits |= BPF_DEVCG_ACC.read;
  if (access.includes('w')) bits |= BPF_DEVCG_ACC.write;
  return bits;
}

/**
 * The program: r2 = type, r3 = requested access, r4 = major, r5 = minor; for each rule, skip to
 * the next unless the type matches, the requested access is a subset of the rule's, and the
 * numbers match (a '*' is not compared); a match returns 1 (allow). After the last rule: 0 (deny).
 */
export function compileDeviceFilter(rules: readonly DeviceRule[] = DEFAULT_DEVICES): Buffer {
  const prog: Insn[] = [
    insn(EBPF.LDX_W, 2, 1, CTX.accessType, 0),
    insn(EBPF.AND32_K, 2, 0, 0, 0xffff),
    insn(EBPF.LDX_W, 3, 1, CTX.accessType, 0),
    insn(EBPF.RSH32_K, 3, 0, 0, 16),
    insn(EBPF.LDX_W, 4, 1, CTX.major, 0),
    insn(EBPF.LDX_W, 5, 1, CTX.minor, 0),
  ];
  for (const r of rules) {
    const block: Insn[] = [];
    // Jump offsets count from the next instruction; -1 is patched to "past this block".
    block.push(insn(EBPF.JNE_K, 2, 0, -1, r.type === 'b' ? BPF_DEVCG_DEV.block : BPF_DEVCG_DEV.char));
    block.push(insn(EBPF.MOV32_X, 1, 3, 0, 0));
    block.push(insn(EBPF.AND32_K, 1, 0, 0, accessBits(r.access)));
    block.push(insn(EBPF.JNE_X, 1, 3, -1, 0));
    if (r.major !== '*') block.push(insn(EBPF.JNE_K, 4, 0, -1, r.major));
    if (r.minor !== '*') block.push(insn(EBPF.JNE_K, 5, 0, -1, r.minor));
    block.push(insn(EBPF.MOV64_K, 0, 0, 0, 1), insn(EBPF.EXIT, 0, 0, 0, 0));
    block.forEach((b, i) => {
      if (b.off === -1) b.off = block.length - i - 1;
    });
    prog.push(...block);
  }
  prog.push(insn(EBPF.MOV64_K, 0, 0, 0, 0), insn(EBPF.EXIT, 0, 0, 0, 0));
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((x, i) => {
    buf.writeUInt8(x.op, i * 8);
    buf.writeUInt8((x.src << 4) | x.dst, i * 8 + 1);
    buf.writeInt16LE(x.off, i * 8 + 2);
    buf.writeInt32LE(x.imm, i * 8 + 4);
  });
  return buf;
}

const BPF_CMD = { PROG_LOAD: 5, PROG_ATTACH: 8 } as const;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** The size of union bpf_attr this code fills in (the kernel wants the rest zero). */
const ATTR_SIZE = 128;

/**
 * Loads the program and attaches it to a cgroup v2 directory, from the runtime (it needs
 * CAP_SYS_ADMIN or CAP_BPF on the host). Attached without BPF_F_ALLOW_OVERRIDE or
 * BPF_F_ALLOW_MULTI, so nothing attached below it can widen it. The attachment lives as long as the
 * cgroup; our fds are closed at once. Verified for real only in the pure-v2 VM test lane.
 */
export function v2AttachDeviceFilter(dir: string, rules: readonly DeviceRule[] = DEFAULT_DEVICES): void {
  const insns = compileDeviceFilter(rules);
  const license = Buffer.from('GPL\0');
  const load = (log?: Buffer): number => {
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
    attr.writeUInt32LE(insns.length / 8, 4);
    attr.writeBigUInt64LE(BigInt(koffi().address(insns) as bigint), 8);
    attr.writeBigUInt64LE(BigInt(koffi().address(license) as bigint), 16);
    if (log) {
      attr.writeUInt32LE(1, 24); // log_level
      attr.writeUInt32LE(log.length, 28);
      attr.writeBigUInt64LE(BigInt(koffi().address(log) as bigint), 32);
    }
    attr.write('locker_devices', 48, 15, 'latin1');
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 68); // expected_attach_type
    return bpf(BPF_CMD.PROG_LOAD, 'BPF_PROG_LOAD', attr, `BPF_PROG_TYPE_CGROUP_DEVICE, ${insns.length / 8} insns, ${rules.length} rules`);
  };
  let progFd: number;
  try {
    progFd = load();
  } catch (e) {
    // Again with the verifier's log, to say why.
    const log = Buffer.alloc(1 << 20);
    try {
      load(log);
    } catch {
      // the same refusal, now with its reason in log
    }
    const why = log.toString('latin1').replace(/\0.*$/s, '').trim().split('\n').slice(-3).join(' ');
    throw new Error(`the device filter was refused: ${(e as Error).message}${why ? ` (verifier: ${why})` : ''}`);
  }
  const dirFd = openSync(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  try {
    const attach = Buffer.alloc(ATTR_SIZE);
    attach.writeUInt32LE(dirFd, 0);
    attach.writeUInt32LE(progFd, 4);
    attach.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    bpf(BPF_CMD.PROG_ATTACH, 'BPF_PROG_ATTACH', attach, `target_fd=${dirFd} (${dir}), attach_bpf_fd=${progFd}, BPF_CGROUP_DEVICE`);
  } finally {
    closeSync(dirFd);
    closeSync(progFd);
  }
}
