// The device allowlist: the generated cgroup v2 program (decoded and run by a small interpreter of
// the opcodes it uses, against the rule list), and the kernel's answer where this host lets us ask:
// v1's devices controller, and the BPF program attached to a cgroup2 directory (on a hybrid host the
// kernel runs BPF device programs of the unified hierarchy too; the pure-v2 VM lane repeats it there).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openableHostDisk } from '../../testing/devices';
import { createCgroup } from './cgroup';
import { detect } from './detect';
import { BPF_DEVCG_ACC, BPF_DEVCG_DEV, DEFAULT_DEVICES, EBPF, compileDeviceFilter, v1RuleText, v2AttachDeviceFilter, type DeviceRule } from './devices';

/** Runs the program on one bpf_cgroup_dev_ctx; only the opcodes compileDeviceFilter emits. */
function run(prog: Buffer, ctx: { type: number; access: number; major: number; minor: number }): number {
  const mem = [(ctx.access << 16) | ctx.type, ctx.major, ctx.minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; steps < 10000; steps++) {
    const op = prog.readUInt8(pc * 8);
    const regs = prog.readUInt8(pc * 8 + 1);
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = prog.readInt32LE(pc * 8 + 4);
    pc++;
    switch (op) {
      case EBPF.LDX_W: assert.equal(src, 1, 'loads only from the context'); r[dst] = mem[off / 4] >>> 0; break;
      case EBPF.AND32_K: r[dst] = (r[dst] & imm) >>> 0; break;
      case EBPF.RSH32_K: r[dst] = r[dst] >>> imm; break;
      case EBPF.MOV32_X: r[dst] = r[src] >>> 0; break;
      case EBPF.MOV64_K: r[dst] = imm; break;
      case EBPF.JNE_K: if (r[dst] !== imm) pc += off; break;
      case EBPF.JNE_X: if (r[dst] !== r[src]) pc += off; break;
      case EBPF.EXIT: return r[0];
      default: throw new Error(`unexpected opcode 0x${op.toString(16)} at ${pc - 1}`);
    }
    assert.ok(pc >= 0 && pc * 8 < prog.length, 'jumps stay inside the program');
  }
  throw new Error('the program did not end');
}

function allowedByRules(rules: readonly DeviceRule[], type: 'c' | 'b', major: number, minor: number, access: string): boolean {
  return rules.some((x) => x.type === type && (x.major === '*' || x.major === major) && (x.minor === '*' || x.minor === minor)
    && [...access].every((a) => x.access.includes(a)));
}

test('the v2 device program allows exactly the allowlist (every type, access and a range of numbers)', () => {
  const prog = compileDeviceFilter();
  assert.equal(prog.length % 8, 0);
  const accessBits: Record<string, number> = { m: BPF_DEVCG_ACC.mknod, r: BPF_DEVCG_ACC.read, w: BPF_DEVCG_ACC.write };
  let allowed = 0;
  for (const type of ['c', 'b'] as const) {
    for (const major of [0, 1, 4, 5, 8, 10, 136, 137, 254]) {
      for (const minor of [0, 1, 2, 3, 5, 7, 8, 9, 200]) {
        for (const access of ['r', 'w', 'm', 'rw', 'rwm']) {
          const bits = [...access].reduce((b, a) => b | accessBits[a], 0);
          const got = run(prog, { type: type === 'b' ? BPF_DEVCG_DEV.block : BPF_DEVCG_DEV.char, access: bits, major, minor });
          const want = allowedByRules(DEFAULT_DEVICES, type, major, minor, access);
          assert.equal(got, want ? 1 : 0, `${type} ${major}:${minor} ${access}`);
          if (want) allowed++;
        }
      }
    }
  }
  assert.ok(allowed > 0, 'some devices are allowed');
  assert.equal(run(prog, { type: BPF_DEVCG_DEV.char, access: BPF_DEVCG_ACC.read, major: 1, minor: 3 }), 1, '/dev/null reads');
  assert.equal(run(prog, { type: BPF_DEVCG_DEV.block, access: BPF_DEVCG_ACC.read, major: 8, minor: 0 }), 0, 'no disk');
  // A rule with wildcards and a partial access list.
  const custom: DeviceRule[] = [{ type: 'b', major: '*', minor: '*', access: 'm', what: 'mknod any block' }];
  const p2 = compileDeviceFilter(custom);
  assert.equal(run(p2, { type: BPF_DEVCG_DEV.block, access: BPF_DEVCG_ACC.mknod, major: 8, minor: 0 }), 1);
  assert.equal(run(p2, { type: BPF_DEVCG_DEV.block, access: BPF_DEVCG_ACC.read, major: 8, minor: 0 }), 0);
  assert.equal(run(p2, { type: BPF_DEVCG_DEV.char, access: BPF_DEVCG_ACC.mknod, major: 1, minor: 3 }), 0);
});

const layout = detect();
const disk = openableHostDisk();
const uniq = `dev${process.pid}`;

/** A shell moved into `procs` files first, then reading one byte of a disk and of /dev/zero. */
function probeIn(procsFiles: string[], diskPath: string) {
  const join = procsFiles.map((f) => `echo $$ > ${f} || exit 9`).join('; ');
  return spawnSync('sh', ['-c', `${join}; head -c1 /dev/zero | wc -c; head -c1 ${diskPath} > /dev/null && echo DISK-READ || echo disk-refused`], { encoding: 'utf8' });
}

test('v1 (real): deny all, allow the list; a host disk does not open', { skip: layout.devices === 'v1' && disk ? false : 'needs root and the v1 devices controller' }, async (t) => {
  const cg = createCgroup(`${uniq}-v1`, {}, layout);
  t.after(() => cg.remove());
  const dir = cg.v1.devices!;
  assert.deepEqual(readFileSync(join(dir, 'devices.list'), 'utf8').trim().split('\n').sort(), DEFAULT_DEVICES.map(v1RuleText).sort());
  const r = probeIn([join(dir, 'cgroup.procs')], disk!.path);
  assert.equal(r.stdout, '1\ndisk-refused\n', r.stderr);
  assert.match(r.stderr, /Operation not permitted/);
});

const v2Dir = layout.v2Root && !layout.rootless ? join(layout.v2Root, `locker-${uniq}`) : undefined;
test('v2 program (real kernel): loaded, attached, and enforced on a cgroup2 directory', { skip: v2Dir && disk ? false : 'needs root and a cgroup2 mount' }, (t) => {
  mkdirSync(v2Dir!);
  t.after(() => rmdirSync(v2Dir!));
  v2AttachDeviceFilter(v2Dir!);
  const r = probeIn([join(v2Dir!, 'cgroup.procs')], disk!.path);
  assert.equal(r.stdout, '1\ndisk-refused\n', r.stderr);
  assert.match(r.stderr, /Operation not permitted/);
});
