// A program for the native pre-exec step: the syscalls a new process makes, in order, before execve.
// TypeScript decides every step; native/src/nsexec.c only runs them. Each step keeps a readable
// form so the syscall log and errors can name it.
import { CLONE, MS, MNT, O, PR, RESOLVE, S_IFREG, cloneFlagNames, decodeFlags, mountFlagNames } from './constants';

/** The opcode table, in the order of OPS() in native/src/nsexec.c (checked at load: opcodeTableMatches). */
export const OPCODES = [
  'MOUNT', 'UMOUNT2', 'SETHOSTNAME', 'PIVOT_ROOT', 'CHDIR', 'FCHDIR', 'CHROOT', 'MKDIR', 'MKNOD',
  'SYMLINK', 'CREAT', 'SETSID', 'IOCTL', 'DUP2', 'CLOSE_RANGE', 'PRCTL', 'SETNS', 'WAIT_FD', 'FORK',
  'SETRESUID', 'SETRESGID', 'SETGROUPS', 'SETDOMAINNAME', 'CAPSET', 'EXECVE', 'FCNTL', 'GETCWD',
  'UNSHARE', 'OPENAT2', 'MKDIRAT', 'MKNODAT', 'SYMLINKAT', 'OPENAT', 'CLOSE', 'SECCOMP', 'KEYCTL',
  'IOCTL_INT', 'STOP_REPORTING', 'NETLINK', 'WRITE', 'LOAD',
] as const;
type OpName = (typeof OPCODES)[number];
const code = (name: OpName): number => OPCODES.indexOf(name) + 1;

/** True when the native library's table (comma-terminated names) is exactly OPCODES. */
export function opcodeTableMatches(nativeNames: string): boolean {
  return nativeNames === OPCODES.map((n) => n + ',').join('');
}

/** Registers of the native step: an fd a step opened, named by later steps (its number is only known there). */
const REG_BASE = -1000;
const NREGS = 16;
export const AT_FDCWD = -100;

/** An fd a planned step opens, for later steps of the same program; `label` names it in the log. */
export class Opened {
  constructor(readonly ref: number, readonly label: string) {}
  toString(): string {
    return this.label;
  }
}
export type Fd = number | Opened;
const fdValue = (fd: Fd): number => (typeof fd === 'number' ? fd : fd.ref);
const fdText = (fd: Fd): string => (fd === AT_FDCWD ? 'AT_FDCWD' : String(fd));

type N = number | bigint;
export interface Step {
  code: number;
  okErrno: number;
  /** Result register (1-based; 0: none) the step's fd is kept in. */
  dest: number;
  n: [N, N, N, N, N];
  /** NUL-terminated on the wire; a Buffer is a binary blob (a BPF program). */
  s: Array<string | Buffer>;
  /** The call as a person reads it, e.g. `mount("proc", "/proc", "proc", MS_NOSUID, NULL)`. */
  name: string;
  /** Made when first read (the log, an error): a launch plans ~150 steps and most are never shown. */
  readonly args: string;
}

/** Arguments as text, or how to make it (flag names are decoded only if someone looks). */
type ArgsText = string | (() => string);

function newStep(code: number, okErrno: number, dest: number, n: Step['n'], s: Step['s'], name: string, args: ArgsText): Step {
  let text = typeof args === 'string' ? args : undefined;
  const make = args as () => string;
  return { code, okErrno, dest, n, s, name, get args(): string { return (text ??= make()); } };
}

const q = (s: string | null): string => (s === null ? 'NULL' : JSON.stringify(s));
const nsNames: Record<number, string> = Object.fromEntries(Object.entries(CLONE).map(([k, v]) => [v, 'CLONE_' + k]));

const pad = (n: N[]): Step['n'] => [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0, n[3] ?? 0, n[4] ?? 0];

export class Program {
  readonly steps: Step[] = [];
  private readonly freeRegs: number[] = Array.from({ length: NREGS }, (_, k) => k);

  private add(op: OpName, name: string, args: ArgsText, n: N[] = [], s: Array<string | Buffer> = [], okErrno = 0, dest = 0): this {
    this.steps.push(newStep(code(op), okErrno, dest, pad(n), s, name, args));
    return this;
  }

  private takeReg(label: string): Opened {
    const k = this.freeRegs.shift();
    if (k === undefined) throw new Error(`a program holds at most ${NREGS} opened fds; close one first`);
    return new Opened(REG_BASE - k, label);
  }

  /**
   * mount(2). A source or target given as an Opened fd is passed as /proc/self/fd/N, so the mount
   * lands on what was opened (resolved safely inside the rootfs), never on a path resolved again.
   */
  mount(source: string | Opened | null, target: string | Opened, fstype: string | null, flags: number, data: string | null = null): this {
    const show = (x: string | Opened | null): string => (x instanceof Opened ? `/proc/self/fd/${x.label}` : q(x));
    return this.add('MOUNT', 'mount', () => `${show(source)}, ${show(target)}, ${q(fstype)}, ${mountFlagNames(flags)}, ${q(data)}`,
      [flags, source instanceof Opened ? source.ref : -1, target instanceof Opened ? target.ref : -1],
      [typeof source === 'string' ? source : '', typeof target === 'string' ? target : '', fstype ?? '', data ?? '']);
  }
  /** openat2(dir, path, {flags, mode, resolve}); the fd is kept for later steps until close(). */
  openat2(dir: Fd, path: string, flags: number, resolve: number, label: string, mode = 0): Opened {
    const fd = this.takeReg(label);
    this.add('OPENAT2', 'openat2', () => `${fdText(dir)}, ${q(path)}, {${decodeFlags(flags, O, 'O_')}, ${decodeFlags(resolve, RESOLVE, 'RESOLVE_')}} = ${label}`,
      [fdValue(dir), flags, mode, resolve], [path], 0, REG_BASE - fd.ref + 1);
    return fd;
  }
  /**
   * mknodat(dir, name, S_IFREG|mode): makes an empty file (a bind-mount target), or finds something
   * there already (EEXIST; a later open checks what it is). Nothing there is opened: an image's FIFO
   * would hang a write open, a device node's open may do what the device does on open (a watchdog
   * starts), and a write open of an image's file copies it up into the overlay only to be covered.
   */
  createAt(dir: Fd, name: string, mode: number): this {
    return this.add('MKNODAT', 'mknodat', `${fdText(dir)}, ${q(name)}, S_IFREG|0${mode.toString(8)}, 0`, [fdValue(dir), S_IFREG | mode, 0], [name], 17 /* EEXIST */);
  }
  close(fd: Opened): this {
    this.freeRegs.unshift(REG_BASE - fd.ref);
    return this.add('CLOSE', 'close', fd.label, [fd.ref]);
  }
  /** mkdirat that accepts an existing entry (a later open checks what it is). */
  mkdirAt(dir: Fd, name: string, mode: number): this {
    return this.add('MKDIRAT', 'mkdirat', `${fdText(dir)}, ${q(name)}, 0${mode.toString(8)}`, [fdValue(dir), mode], [name], 17 /* EEXIST */);
  }
  mknodAt(dir: Fd, name: string, mode: number, dev: number): this {
    return this.add('MKNODAT', 'mknodat', `${fdText(dir)}, ${q(name)}, 0${mode.toString(8)}, ${dev}`, [fdValue(dir), mode, dev], [name]);
  }
  symlinkAt(target: string, dir: Fd, name: string): this {
    return this.add('SYMLINKAT', 'symlinkat', `${q(target)}, ${fdText(dir)}, ${q(name)}`, [fdValue(dir)], [target, name], 17);
  }
  /** ioctl(fd, request, &value): requests that take a pointer to an int (TIOCSPTLCK). */
  ioctlInt(fd: Fd, request: number, requestName: string, value: number): this {
    return this.add('IOCTL_INT', 'ioctl', `${fdText(fd)}, ${requestName}, [${value}]`, [fdValue(fd), request, value]);
  }
  /**
   * seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): installs a classic BPF program (8 bytes an
   * instruction) compiled in TypeScript. `summary` says in the log what the filter does.
   */
  seccomp(filter: Buffer, flags: number, summary: string): this {
    if (filter.length % 8 !== 0 || filter.length === 0) throw new Error('a seccomp filter is a whole number of 8-byte instructions');
    return this.add('SECCOMP', 'seccomp', `SECCOMP_SET_MODE_FILTER, ${flags}, {len=${filter.length / 8}, ${summary}}`, [filter.length / 8, flags], [filter]);
  }
  /** keyctl(cmd, name, ...): KEYCTL_JOIN_SESSION_KEYRING with a null name gives a new anonymous keyring. */
  keyctl(cmd: number, cmdName: string, name: string | null): this {
    return this.add('KEYCTL', 'keyctl', `${cmdName}, ${q(name)}`, [cmd], [name ?? '']);
  }
  /**
   * One netlink request (a message encoded in TypeScript, e.g. app/main/runtime/network/rtnetlink.ts)
   * on a new socket of `protocol` in the process's network namespace; the kernel's ack is the
   * step's result. `index` first writes, at a byte offset of the message, the index of an interface
   * of that namespace (known only there). Logged as `sendmsg(PROTOCOL, what)`.
   */
  netlink(protocol: number, protocolName: string, request: { message: Buffer; what: string; index?: { at: number; of: string } }): this {
    const { message, what, index } = request;
    if (message.length < 16 || message.length > 4096) throw new Error(`a netlink request is 16 to 4096 bytes (${what}: ${message.length})`);
    if (index && (index.at < 0 || index.at + 4 > message.length)) throw new Error(`interface index offset ${index.at} is outside the message (${what})`);
    return this.add('NETLINK', 'sendmsg', `${protocolName}, ${what}`, [protocol, index ? index.at : -1], index ? [message, index.of] : [message]);
  }
  umount2(target: string, flags: number): this {
    return this.add('UMOUNT2', 'umount2', () => `${q(target)}, ${decodeFlags(flags, MNT, 'MNT_')}`, [flags], [target]);
  }
  sethostname(name: string): this {
    return this.add('SETHOSTNAME', 'sethostname', `${q(name)}, ${Buffer.byteLength(name)}`, undefined, [name]);
  }
  setdomainname(name: string): this {
    return this.add('SETDOMAINNAME', 'setdomainname', `${q(name)}, ${Buffer.byteLength(name)}`, undefined, [name]);
  }
  pivotRoot(newRoot: string, putOld: string): this {
    return this.add('PIVOT_ROOT', 'pivot_root', `${q(newRoot)}, ${q(putOld)}`, undefined, [newRoot, putOld]);
  }
  chdir(path: string): this {
    return this.add('CHDIR', 'chdir', q(path), undefined, [path]);
  }
  fchdir(fd: Fd): this {
    return this.add('FCHDIR', 'fchdir', String(fd), [fdValue(fd)]);
  }
  chroot(path: string): this {
    return this.add('CHROOT', 'chroot', q(path), undefined, [path]);
  }
  /** mkdir that accepts an existing directory. */
  mkdir(path: string, mode: number): this {
    return this.add('MKDIR', 'mkdir', `${q(path)}, 0${mode.toString(8)}`, [mode], [path], 17 /* EEXIST */);
  }
  mknod(path: string, mode: number, dev: number): this {
    return this.add('MKNOD', 'mknod', `${q(path)}, 0${mode.toString(8)}, ${dev}`, [mode, dev, 0], [path]);
  }
  symlink(target: string, linkPath: string): this {
    return this.add('SYMLINK', 'symlink', `${q(target)}, ${q(linkPath)}`, undefined, [target, linkPath], 17);
  }
  /** Creates an empty file (a bind-mount target). */
  touch(path: string, mode: number): this {
    return this.add('CREAT', 'open', `${q(path)}, O_CREAT|O_WRONLY, 0${mode.toString(8)}`, [mode], [path]);
  }
  setsid(): this {
    return this.add('SETSID', 'setsid', '');
  }
  ioctl(fd: number, request: number, requestName: string, arg: number): this {
    return this.add('IOCTL', 'ioctl', `${fd}, ${requestName}, ${arg}`, [fd, request, arg]);
  }
  dup2(from: Fd, to: number): this {
    return this.add('DUP2', 'dup2', `${from}, ${to}`, [fdValue(from), to]);
  }
  /** Marks every fd from `first` on close-on-exec, so nothing of the runtime leaks past execve. */
  cloexecFrom(first: number): this {
    return this.add('CLOSE_RANGE', 'close_range', `${first}, ~0U, CLOSE_RANGE_CLOEXEC`, [first, 0xffffffff, 4]);
  }
  /** Keeps fd open across execve (Node opens even stdio close-on-exec). */
  keepOnExec(fd: number): this {
    return this.add('FCNTL', 'fcntl', `${fd}, F_SETFD, 0`, [fd, 2 /* F_SETFD */, 0]);
  }
  /** argName shows the argument in the log, e.g. CAP_SYS_ADMIN for PR_CAPBSET_DROP. */
  /** Closes fds first..last in this process only (the parent keeps its copies). */
  closeFds(first: number, last: number): this {
    return this.add('CLOSE_RANGE', 'close_range', `${first}, ${last}, 0`, [first, last, 0]);
  }
  /** Closes every fd of this process but `keep` (a close_range for each gap between them). */
  closeAllBut(keep: readonly number[]): this {
    let from = 0;
    for (const fd of [...new Set(keep)].sort((a, b) => a - b)) {
      if (fd > from) this.closeFds(from, fd - 1);
      from = fd + 1;
    }
    return this.closeFds(from, 0xffffffff);
  }
  prctl(option: number, arg: number, argName = String(arg)): this {
    const name = (): string => Object.entries(PR).find(([, v]) => v === option)?.[0] ?? String(option);
    return this.add('PRCTL', 'prctl', () => `PR_${name()}, ${argName}`, [option, arg, 0]);
  }
  /** prctl(option, arg2, arg3): e.g. PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap; `args` shows them in the log. */
  prctl3(option: number, arg2: number, arg3: number, args: string): this {
    return this.add('PRCTL', 'prctl', args, [option, arg2, arg3]);
  }
  /** Fails with ENOENT when the working directory is outside the root (e.g. reached through an inherited fd). */
  getcwd(): this {
    return this.add('GETCWD', 'getcwd', 'buf, 4096');
  }
  /** Makes the step before this one accept errno `code` as success (e.g. ENOENT for paths a kernel may lack). */
  allowErrno(code: number): this {
    const last = this.steps[this.steps.length - 1];
    if (!last) throw new Error('allowErrno needs a step before it');
    last.okErrno = code;
    return this;
  }
  setns(fd: number, nstype: number): this {
    return this.add('SETNS', 'setns', () => `${fd}, ${nsNames[nstype] ?? cloneFlagNames(nstype)}`, [fd, nstype, 0]);
  }
  unshare(flags: number): this {
    return this.add('UNSHARE', 'unshare', () => cloneFlagNames(flags), [flags]);
  }
  /**
   * write(fd, data) in one call, to an fd the parent opened (shown as `fd</path>`, as strace -y does):
   * e.g. "0" to a cgroup's `tasks`, which moves the writing process itself into that cgroup.
   */
  write(fd: number, data: string, path: string): this {
    return this.add('WRITE', 'write', `${fd}<${path}>, ${q(data)}, ${Buffer.byteLength(data)}`, [fd], [data]);
  }
  /**
   * The parent's own fds that steps read a go-ahead from or write to: a process that runs the
   * program for the parent (a detached container's monitor) must hold them at the same numbers.
   */
  parentFds(): number[] {
    const uses: number[] = [code('WAIT_FD'), code('WRITE')];
    return [...new Set(this.steps.filter((s) => uses.includes(s.code)).map((s) => Number(s.n[0])))];
  }
  /**
   * Reads the rest of the program from fd (u32 length, u32 step count, then its encoding: the
   * parent's loadMessage) and runs it; its steps report on from this one's number. For a process
   * cloned before its program was made (a spare container, app/main/runtime/spare.ts); EOF ends it.
   */
  load(fd: number): this {
    return this.add('LOAD', 'read', `${fd}, [the rest of the program]`, [fd]);
  }
  /** What load() reads: the program's encoding behind its length and step count. */
  loadMessage(): Buffer {
    const code = this.encode();
    const head = Buffer.alloc(8);
    head.writeUInt32LE(code.length, 0);
    head.writeUInt32LE(this.steps.length, 4);
    return Buffer.concat([head, code]);
  }
  /** Blocks until the parent writes one byte to fd (it sets up uid/gid maps meanwhile). */
  waitFor(fd: number): this {
    return this.add('WAIT_FD', 'read', `${fd}, [1 byte], 1`, [fd]);
  }
  /** Continues in a child; the current process waits and mirrors its exit (needed after setns into a PID namespace). */
  fork(): this {
    return this.add('FORK', 'fork', '');
  }
  setresuid(uid: number): this {
    return this.add('SETRESUID', 'setresuid', `${uid}, ${uid}, ${uid}`, [uid, uid, uid]);
  }
  setresgid(gid: number): this {
    return this.add('SETRESGID', 'setresgid', `${gid}, ${gid}, ${gid}`, [gid, gid, gid]);
  }
  clearGroups(): this {
    return this.add('SETGROUPS', 'setgroups', '0, NULL');
  }
  /** setgroups(n, gids): the supplementary groups (an OCI process's additionalGids); none is clearGroups. */
  setGroups(gids: readonly number[]): this {
    if (gids.length === 0) return this.clearGroups();
    const list = Buffer.alloc(gids.length * 4);
    gids.forEach((g, i) => list.writeUInt32LE(g, i * 4));
    return this.add('SETGROUPS', 'setgroups', `${gids.length}, [${gids.join(', ')}]`, [gids.length], [list]);
  }
  /**
   * Reports this step, then closes the report pipe: the steps after it run unreported (a failure
   * is only the child's _exit(127)). For a parent that returns before execve, as an OCI `create`
   * does while the container waits for `start`.
   */
  stopReporting(): this {
    return this.add('STOP_REPORTING', 'close', 'report pipe (the steps after it are not reported)');
  }
  capset(effective: bigint, permitted: bigint, inheritable: bigint): this {
    const hex = (v: bigint): string => '0x' + v.toString(16);
    return this.add('CAPSET', 'capset', () => `{v3}, {eff=${hex(effective)}, perm=${hex(permitted)}, inh=${hex(inheritable)}}`,
      [effective, permitted, inheritable]);
  }
  execve(path: string, argv: string[], env: string[]): this {
    const blob = (list: string[]): string => list.map((x) => x + '\0').join('');
    return this.add('EXECVE', 'execve', () => `${q(path)}, ${JSON.stringify(argv)}, [${env.length} vars]`,
      [argv.length, env.length, 0], [path, blob(argv), blob(env)]);
  }

  /** The wire format native/src/nsexec.c decodes: per step a 56-byte head, then its strings. */
  encode(): Buffer {
    let size = 0;
    for (const step of this.steps) {
      size += HEAD;
      for (const str of step.s) size += 4 + (typeof str === 'string' ? Buffer.byteLength(str, 'utf8') : str.length) + 1;
    }
    const out = Buffer.alloc(size);
    let off = 0;
    for (const step of this.steps) {
      out.writeUInt32LE(step.code, off);
      out.writeUInt32LE(step.okErrno, off + 4);
      out.writeUInt32LE(step.dest, off + 8);
      step.n.forEach((v, i) => writeInt64(out, v, off + 12 + i * 8));
      out.writeUInt32LE(step.s.length, off + 52);
      off += HEAD;
      for (const str of step.s) {
        const len = (typeof str === 'string' ? Buffer.byteLength(str, 'utf8') : str.length) + 1;
        out.writeUInt32LE(len, off);
        if (typeof str === 'string') out.write(str, off + 4, 'utf8');
        else str.copy(out, off + 4);
        off += 4 + len; // the NUL is the zeroed last byte
      }
    }
    return out;
  }
}

const HEAD = 56;

/** An int64 as two's complement; a number as two 32-bit halves (exact below 2^53, no BigInt made). */
function writeInt64(buf: Buffer, v: N, at: number): void {
  if (typeof v === 'bigint') {
    buf.writeBigInt64LE(BigInt.asIntN(64, v), at);
    return;
  }
  const high = Math.floor(v / 2 ** 32);
  buf.writeUInt32LE(v - high * 2 ** 32, at);
  buf.writeInt32LE(high, at + 4);
}

export { MS, MNT, PR, CLONE, O, RESOLVE };
