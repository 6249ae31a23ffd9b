// The compiled filter, run in a small BPF interpreter that does what the kernel's seccomp does with
// the instructions the compiler emits: every answer is checked against the profile's own meaning.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CAPS, type CapName } from '../capabilities';
import { BPF, MAX_INSNS, SECCOMP_RET, decode, encode, type Insn } from './bpf';
import { actionValue, compileProfile } from './compile';
import { defaultProfileFor } from './index';
import { toOciSeccomp } from './oci';
import { DOCKER_DEFAULT, ENOSYS, EPERM, NEVER_ALLOWED, type ArgTest } from './profile';
import type { ResolvedProfile } from './resolve';
import { AARCH64, X86_64, type SyscallTable } from './syscalls';

interface Call {
  nr: number;
  arch?: number;
  args?: bigint[];
}

/** Runs a seccomp program on one struct seccomp_data; throws on anything the kernel would reject. */
function run(program: readonly Insn[], call: Call, table: SyscallTable = X86_64): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(call.nr | 0, 0);
  data.writeUInt32LE(call.arch ?? table.auditArch, 4);
  (call.args ?? []).forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let A = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc];
    switch (code) {
      case BPF.LD_W_ABS:
        assert.ok(k % 4 === 0 && k + 4 <= 64, `load at ${k}`);
        A = data.readUInt32LE(k);
        break;
      case BPF.ALU_AND_K:
        A = (A & k) >>> 0;
        break;
      case BPF.JA:
        pc += k;
        break;
      case BPF.JEQ_K:
        pc += A === k ? jt : jf;
        break;
      case BPF.JGT_K:
        pc += A > k ? jt : jf;
        break;
      case BPF.JGE_K:
        pc += A >= k ? jt : jf;
        break;
      case BPF.RET_K:
        return k;
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('the program ran off its end');
}

const ALLOW = SECCOMP_RET.ALLOW;
const DENY = (SECCOMP_RET.ERRNO | EPERM) >>> 0;
const NOSYS = (SECCOMP_RET.ERRNO | ENOSYS) >>> 0;
const nr = (name: string, table: SyscallTable = X86_64): number => {
  const n = table.numbers[name];
  assert.ok(n !== undefined, `${name} in the table`);
  return n;
};

const CLONE_NEW = { NS: 0x20000n, CGROUP: 0x02000000n, UTS: 0x04000000n, IPC: 0x08000000n, USER: 0x10000000n, PID: 0x20000000n, NET: 0x40000000n };
const THREAD_FLAGS = 0x3d0f00n; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID, as glibc's pthread_create
const SIGCHLD = 17n;

/** What the profile means, evaluated directly: the reference the compiled program must agree with. */
function expected(r: ResolvedProfile, call: Call): number {
  if ((call.arch ?? r.table.auditArch) !== r.table.auditArch) return SECCOMP_RET.KILL_PROCESS;
  const name = Object.keys(r.table.numbers).find((n) => r.table.numbers[n] === call.nr);
  const d = name === undefined ? undefined : r.decisions.get(name);
  const deny = actionValue({ errno: r.defaultErrno });
  if (!d) return deny;
  if (d.kind === 'fixed') return actionValue(d.action);
  const arg = (i: number): bigint => BigInt.asUintN(64, call.args?.[i] ?? 0n);
  const holds = (t: ArgTest): boolean => {
    const a = t.word32 ? arg(t.index) & 0xffffffffn : arg(t.index);
    switch (t.op) {
      case 'EQ': return a === t.value;
      case 'NE': return a !== t.value;
      case 'LT': return a < t.value;
      case 'LE': return a <= t.value;
      case 'GT': return a > t.value;
      case 'GE': return a >= t.value;
      case 'MASKED_EQ': return (a & t.mask) === t.value;
    }
  };
  const rule = d.rules.find((ru) => ru.tests.every(holds));
  return rule ? actionValue(rule.action) : deny;
}

const resolved = defaultProfileFor(DEFAULT_CAPS, X86_64);
const program = compileProfile(resolved);

describe('the default profile for Docker\'s 14 capabilities (x86_64)', () => {
  test('ordinary calls are allowed', () => {
    for (const name of ['read', 'write', 'openat', 'close', 'mmap', 'execve', 'exit_group', 'wait4', 'fork', 'vfork', 'getdents64',
      'rt_sigaction', 'futex', 'clock_gettime', 'chroot', 'ptrace', 'arch_prctl', 'seccomp', 'statx', 'close_range']) {
      assert.equal(run(program, { nr: nr(name) }), ALLOW, name);
    }
  });

  test('escape tools and host-wide administration fail with EPERM', () => {
    const denied = [...NEVER_ALLOWED, 'bpf', 'perf_event_open', 'mount', 'umount2', 'unshare', 'setns', 'reboot', 'init_module',
      'finit_module', 'delete_module', 'open_by_handle_at', 'clock_settime', 'settimeofday', 'syslog', 'sethostname', 'fsopen',
      'open_tree', 'move_mount', 'kcmp', 'pidfd_getfd', 'iopl', 'ioperm', 'acct', 'vhangup', 'mbind', 'lookup_dcookie', 'quotactl'];
    for (const name of denied) assert.equal(run(program, { nr: nr(name) }), DENY, name);
  });

  test('clone: allowed without CLONE_NEW* flags, EPERM with any of them', () => {
    const clone = nr('clone');
    assert.equal(run(program, { nr: clone, args: [SIGCHLD] }), ALLOW, 'fork-like clone');
    assert.equal(run(program, { nr: clone, args: [THREAD_FLAGS] }), ALLOW, 'pthread_create');
    assert.equal(run(program, { nr: clone, args: [(1n << 40n) | SIGCHLD] }), ALLOW, 'bits above 32 are not namespace flags');
    for (const [flag, bit] of Object.entries(CLONE_NEW)) {
      assert.equal(run(program, { nr: clone, args: [bit | SIGCHLD] }), DENY, `CLONE_NEW${flag}`);
      assert.equal(run(program, { nr: clone, args: [bit | THREAD_FLAGS] }), DENY, `CLONE_NEW${flag} with thread flags`);
    }
  });

  test('clone3 says ENOSYS so libc falls back to clone', () => {
    assert.equal(run(program, { nr: nr('clone3') }), NOSYS);
  });

  test('socket: every family but AF_ALG (38) and AF_VSOCK (40)', () => {
    const socket = nr('socket');
    for (const af of [1n, 2n, 10n, 16n, 17n, 37n, 39n, 41n, 45n, (1n << 32n) | 2n]) assert.equal(run(program, { nr: socket, args: [af, 1n] }), ALLOW, `AF ${af}`);
    // The kernel reads the family as an int: high bits must not smuggle 38 or 40 past the check.
    for (const af of [38n, 40n, (1n << 32n) | 40n, (0xffffffffn << 32n) | 38n]) assert.equal(run(program, { nr: socket, args: [af, 1n] }), DENY, `AF 0x${af.toString(16)}`);
  });

  test('personality: only the values Docker allows', () => {
    const personality = nr('personality');
    for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.equal(run(program, { nr: personality, args: [v] }), ALLOW, `0x${v.toString(16)}`);
    for (const v of [0x0040000n /* ADDR_NO_RANDOMIZE */, 0x0400000n /* READ_IMPLIES_EXEC */, 1n, 0x1_00000000n]) {
      assert.equal(run(program, { nr: personality, args: [v] }), DENY, `0x${v.toString(16)}`);
    }
  });

  test('a foreign architecture is killed, x32 and unknown numbers are denied', () => {
    for (const arch of [0x40000003 /* i386 */, 0xc00000b7 /* aarch64 */, 0]) {
      assert.equal(run(program, { nr: 0, arch }), SECCOMP_RET.KILL_PROCESS, `arch 0x${arch.toString(16)}`);
    }
    assert.equal(run(program, { nr: 0x40000000 | nr('read') }), DENY, 'x32 read');
    assert.equal(run(program, { nr: 0x40000000 | 0x3fffffff }), DENY);
    for (const n of [999, 4095, 0x3fffffff, -1]) assert.equal(run(program, { nr: n }), DENY, `nr ${n}`);
  });

  test('every number 0..1023 gives what the profile says, with several argument values', () => {
    const argSets: bigint[][] = [[], [SIGCHLD], [CLONE_NEW.USER], [38n], [40n], [39n], [41n], [0xffffffffn], [1n << 33n], [(1n << 33n) | 40n], [-1n]];
    for (let n = 0; n < 1024; n++) {
      for (const args of argSets) assert.equal(run(program, { nr: n, args }), expected(resolved, { nr: n, args }), `nr ${n} args ${args}`);
    }
  });

  test('fits the kernel: under BPF_MAXINSNS, jumps in range, survives encoding', () => {
    assert.ok(program.length < MAX_INSNS && program.length > 20, `${program.length} instructions`);
    for (const [i, ins] of program.entries()) {
      assert.ok(ins.jt <= 255 && ins.jf <= 255);
      const isJump = [BPF.JEQ_K, BPF.JGT_K, BPF.JGE_K].includes(ins.code as never);
      if (isJump) assert.ok(i + 1 + Math.max(ins.jt, ins.jf) < program.length, `jump at ${i} stays inside`);
      if (ins.code === BPF.JA) assert.ok(i + 1 + ins.k < program.length, `ja at ${i} stays inside`);
    }
    assert.equal(program[program.length - 1].code, BPF.RET_K);
    assert.deepEqual(decode(encode(program)), program);
    assert.equal(encode(program).length, program.length * 8);
  });
});

describe('capabilities decide the conditional rules', () => {
  const withCaps = (...extra: CapName[]) => {
    const r = defaultProfileFor([...DEFAULT_CAPS, ...extra], X86_64);
    return { r, prog: compileProfile(r) };
  };

  test('CAP_SYS_ADMIN: mount, unshare, setns, clone with namespace flags, clone3', () => {
    const { prog } = withCaps('SYS_ADMIN');
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone3', 'sethostname', 'bpf', 'perf_event_open']) {
      assert.equal(run(prog, { nr: nr(name) }), ALLOW, name);
    }
    assert.equal(run(prog, { nr: nr('clone'), args: [CLONE_NEW.USER | SIGCHLD] }), ALLOW);
    for (const name of NEVER_ALLOWED) assert.equal(run(prog, { nr: nr(name) }), DENY, name);
  });

  test('each capability opens only its own calls', () => {
    const cases: Array<[CapName, string[]]> = [
      ['SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise']], ['SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
      ['SYS_BOOT', ['reboot']], ['SYS_TIME', ['clock_settime', 'settimeofday']], ['SYSLOG', ['syslog']], ['BPF', ['bpf']],
      ['PERFMON', ['perf_event_open']], ['SYS_RAWIO', ['iopl', 'ioperm']], ['DAC_READ_SEARCH', ['open_by_handle_at']],
      ['SYS_NICE', ['mbind', 'set_mempolicy']], ['SYS_PACCT', ['acct']], ['SYS_TTY_CONFIG', ['vhangup']],
    ];
    for (const [cap, names] of cases) {
      const { prog } = withCaps(cap);
      for (const name of names) assert.equal(run(prog, { nr: nr(name) }), ALLOW, `${name} with CAP_${cap}`);
      assert.equal(run(prog, { nr: nr('mount') }), DENY, `mount with only CAP_${cap} added`);
      assert.equal(run(prog, { nr: nr('clone'), args: [CLONE_NEW.USER] }), DENY);
    }
  });

  test('without CAP_SYS_CHROOT, chroot is denied', () => {
    const r = defaultProfileFor(DEFAULT_CAPS.filter((c) => c !== 'SYS_CHROOT'), X86_64);
    assert.equal(run(compileProfile(r), { nr: nr('chroot') }), DENY);
  });
});

describe('tables and other architectures', () => {
  test('every name the profile uses has a number on x86_64 or aarch64', () => {
    const names = new Set([...DOCKER_DEFAULT.rules.flatMap((r) => r.names), ...NEVER_ALLOWED]);
    for (const name of names) assert.ok(X86_64.numbers[name] !== undefined || AARCH64.numbers[name] !== undefined, name);
  });

  test('numbers are unique within a table', () => {
    for (const t of [X86_64, AARCH64]) {
      const seen = new Map<number, string>();
      for (const [name, n] of Object.entries(t.numbers)) {
        assert.ok(!seen.has(n), `${t.ociArch}: ${name} and ${seen.get(n)} are both ${n}`);
        seen.set(n, name);
      }
    }
  });

  test('aarch64 compiles with its own arch value and numbers', () => {
    const r = defaultProfileFor(DEFAULT_CAPS, AARCH64);
    const prog = compileProfile(r);
    assert.equal(run(prog, { nr: nr('openat', AARCH64) }, AARCH64), ALLOW);
    assert.equal(run(prog, { nr: nr('keyctl', AARCH64) }, AARCH64), DENY);
    assert.equal(run(prog, { nr: nr('clone', AARCH64), args: [CLONE_NEW.USER] }, AARCH64), DENY);
    assert.equal(run(prog, { nr: nr('clone', AARCH64), args: [SIGCHLD] }, AARCH64), ALLOW);
    assert.equal(run(prog, { nr: nr('openat', AARCH64), arch: X86_64.auditArch }, AARCH64), SECCOMP_RET.KILL_PROCESS);
    for (let n = 0; n < 600; n++) assert.equal(run(prog, { nr: n }, AARCH64), expected(r, { nr: n, arch: AARCH64.auditArch }), `nr ${n}`);
  });
});

describe('OCI JSON (runc config.json linux.seccomp)', () => {
  const oci = toOciSeccomp(resolved);

  test('an allowlist with EPERM for the rest, for this architecture', () => {
    assert.equal(oci.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(oci.defaultErrnoRet, 1);
    assert.deepEqual(oci.architectures, ['SCMP_ARCH_X86_64']);
    const allowed = oci.syscalls[0];
    assert.equal(allowed.action, 'SCMP_ACT_ALLOW');
    assert.ok(allowed.names.includes('read') && allowed.names.includes('chroot'));
    const all = JSON.stringify(oci);
    for (const name of [...NEVER_ALLOWED, 'mount', 'unshare']) assert.ok(!all.includes(`"${name}"`), name);
  });

  test('the argument rules as libseccomp reads them', () => {
    const of = (name: string) => oci.syscalls.filter((s) => s.names.includes(name) && s !== oci.syscalls[0]);
    assert.deepEqual(of('clone'), [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    assert.deepEqual(of('clone3'), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    assert.deepEqual(of('socket').map((s) => s.args), [
      [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }], [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }], [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }],
    ]);
    assert.deepEqual(of('personality').map((s) => s.args![0].value), [0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  test('names the same syscalls the BPF program decides', () => {
    const named = new Set(oci.syscalls.flatMap((s) => s.names));
    assert.deepEqual([...named].sort(), [...resolved.decisions.keys()].sort());
  });
});
