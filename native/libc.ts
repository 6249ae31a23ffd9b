// koffi declarations of the libc calls the runtime makes from Node, each wrapped so that it is
// recorded in the syscall log and throws a SyscallError naming the call and its decoded arguments.
import type * as Koffi from 'koffi';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLONE } from './constants';
import { SyscallError, errnoName } from './errors';
import { opcodeTableMatches } from './program';
import { syscallLog } from './syscall-log';

// koffi, libc and the declarations below are loaded at the first call: commands that make none
// (locker ps, inspect) do not pay for loading koffi's native module at start (issue 13).
/** A value made on first use, then kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
/** An object whose properties are made together on first access (the call sites read `raw.close` as before). */
function onFirstUse<T extends object>(make: () => T): T {
  const get = once(make);
  return new Proxy({} as T, { get: (_target, name) => get()[name as keyof T] });
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const koffiModule = once(() => require('koffi') as typeof Koffi);
const libcHandle = once(() => koffiModule().load('libc.so.6'));

const raw = onFirstUse(() => { const libc = libcHandle(); return {
  pipe2: libc.func('int pipe2(_Out_ int *fds, int flags)'),
  close: libc.func('int close(int fd)'),
  open: libc.func('int open(const char *path, int flags, int mode)'),
  read: libc.func('long read(int fd, _Out_ uint8_t *buf, size_t count)'),
  write: libc.func('long write(int fd, const uint8_t *buf, size_t count)'),
  kill: libc.func('int kill(int pid, int sig)'),
  waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  unshare: libc.func('int unshare(int flags)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  chdir: libc.func('int chdir(const char *path)'),
  prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  ioctlWinsize: libc.func('int ioctl(int fd, unsigned long request, const uint16_t *winsize)'),
  ioctlIntPtr: libc.func('int ioctl(int fd, unsigned long request, _Inout_ int *value)'),
  ioctlLong: libc.func('int ioctl(int fd, unsigned long request, unsigned long arg)'),
  bpf: libc.func('long syscall(long number, long cmd, uint8_t *attr, unsigned long size)'),
  syscall4: libc.func('long syscall(long number, long a1, const char *a2, const void *a3, size_t a4)'),
  clone3: libc.func('long syscall(long number, const uint8_t *args, size_t size)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
  getuid: libc.func('uint32_t getuid(void)'),
  getgid: libc.func('uint32_t getgid(void)'),
  strerror: libc.func('const char *strerror(int errnum)'),
}; });

const errno = (): number => koffiModule().errno();
const q = (s: string | null): string => (s === null ? 'NULL' : JSON.stringify(s));

export function describeErrno(n: number): string {
  return raw.strerror(n) as string;
}

/** Runs one libc call through the log; throws SyscallError when it returns a negative value. */
export function call<T extends number | bigint>(name: string, args: string, invoke: () => T, okErrno?: number): T {
  const result = invoke();
  const failed = Number(result) < 0;
  const e = failed ? errno() : 0;
  syscallLog.record({ where: 'host', name, args, result, errno: failed ? errnoName(e) : undefined, t: Date.now() });
  if (failed && e !== okErrno) throw new SyscallError(name, args, e, describeErrno(e));
  return result;
}

export function fail(name: string, args: string, e: number): SyscallError {
  return new SyscallError(name, args, e, describeErrno(e));
}

export const pipe2 = (flags: number): [number, number] => {
  const fds = [0, 0];
  call('pipe2', `[?, ?], ${flags ? 'O_CLOEXEC' : '0'}`, () => raw.pipe2(fds, flags) as number);
  return [fds[0], fds[1]];
};
export const close = (fd: number): number => call('close', String(fd), () => raw.close(fd) as number);
export const open = (path: string, flags: number, flagNames: string, mode = 0): number =>
  call('open', `${q(path)}, ${flagNames}`, () => raw.open(path, flags, mode) as number);
export const readInto = (fd: number, buf: Buffer): number =>
  Number(call('read', `${fd}, buf, ${buf.length}`, () => raw.read(fd, buf, buf.length) as number));
export const write = (fd: number, buf: Buffer): number =>
  Number(call('write', `${fd}, buf, ${buf.length}`, () => raw.write(fd, buf, buf.length) as number));
export const kill = (pid: number, sig: number, okErrno?: number): number =>
  call('kill', `${pid}, ${sig}`, () => raw.kill(pid, sig) as number, okErrno);
export const setns = (fd: number, nstype: number, nsName: string): number =>
  call('setns', `${fd}, ${nsName}`, () => raw.setns(fd, nstype) as number);
export const unshare = (flags: number, flagNames: string): number =>
  call('unshare', flagNames, () => raw.unshare(flags) as number);
export const sethostname = (name: string): number =>
  call('sethostname', `${q(name)}, ${Buffer.byteLength(name)}`, () => raw.sethostname(name, Buffer.byteLength(name)) as number);
export const mount = (source: string | null, target: string, fstype: string | null, flags: number, flagNames: string, data: string | null): number =>
  call('mount', `${q(source)}, ${q(target)}, ${q(fstype)}, ${flagNames}, ${q(data)}`, () => raw.mount(source, target, fstype, flags, data) as number);
export const umount2 = (target: string, flags: number, flagNames: string): number =>
  call('umount2', `${q(target)}, ${flagNames}`, () => raw.umount2(target, flags) as number);
export const chdir = (path: string): number => call('chdir', q(path), () => raw.chdir(path) as number);
export const prctl = (option: number, optionName: string, arg: number): number =>
  call('prctl', `${optionName}, ${arg}`, () => raw.prctl(option, arg, 0, 0, 0) as number);
export const execve = (path: string, argv: string[], envp: string[]): number =>
  call('execve', `${q(path)}, ${JSON.stringify(argv)}, [${envp.length} vars]`, () => raw.execve(path, [...argv, null], [...envp, null]) as number);
/** Clears O_NONBLOCK: the fd's open file description is what a container's stdio will share. */
export function setBlocking(fd: number): void {
  const F_GETFL = 3;
  const F_SETFL = 4;
  const flags = call('fcntl', `${fd}, F_GETFL`, () => raw.fcntl(fd, F_GETFL, 0) as number);
  if (flags & 0o4000) call('fcntl', `${fd}, F_SETFL, ~O_NONBLOCK`, () => raw.fcntl(fd, F_SETFL, flags & ~0o4000) as number);
}
/** fcntl(F_DUPFD_CLOEXEC): a second fd on the same open file description. */
export const dupCloexec = (fd: number): number => call('fcntl', `${fd}, F_DUPFD_CLOEXEC, 0`, () => raw.fcntl(fd, 1030, 0) as number);
export const getuid = (): number => raw.getuid() as number;
export const getgid = (): number => raw.getgid() as number;

export const setWinsize = (fd: number, cols: number, rows: number): number =>
  call('ioctl', `${fd}, TIOCSWINSZ, {${cols}x${rows}}`, () => raw.ioctlWinsize(fd, 0x5414, [rows, cols, 0, 0]) as number);

/** ioctl(fd, request, &value) for requests that read or fill in an int (TIOCSPTLCK, TIOCGPTN); returns the int. */
export function ioctlInt(fd: number, request: number, requestName: string, value = 0): number {
  const v = [value];
  call('ioctl', `${fd}, ${requestName}, [${value}]`, () => raw.ioctlIntPtr(fd, request, v) as number);
  return v[0];
}
/** ioctl(fd, request, arg) with a plain integer argument; returns the call's result (TIOCGPTPEER: an fd). */
export const ioctlArg = (fd: number, request: number, requestName: string, arg: number, argName = String(arg)): number =>
  call('ioctl', `${fd}, ${requestName}, ${argName}`, () => raw.ioctlLong(fd, request, arg) as number);

const sock = onFirstUse(() => {
  const koffi = koffiModule();
  const libc = libcHandle();
  const iovec = koffi.struct('iovec', { base: 'void *', len: 'size_t' });
  koffi.struct('msghdr', {
    name: 'void *', namelen: 'uint32_t', iov: koffi.pointer(iovec), iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int',
  });
  return {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  connect: libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)'),
  sendmsg: libc.func('long sendmsg(int fd, const msghdr *msg, int flags)'),
  send: libc.func('long send(int fd, const uint8_t *buf, size_t len, int flags)'),
  recv: libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const int *value, uint32_t len)'),
  getsockopt: libc.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *len)'),
  recvmsg: libc.func('long recvmsg(int fd, _Inout_ msghdr *msg, int flags)'),
  prlimit: libc.func('int prlimit(int pid, int resource, const uint64_t *limit, _Out_ uint64_t *old)'),
  mkfifo: libc.func('int mkfifo(const char *path, uint32_t mode)'),
  };
});

/** mkfifo(path, mode): a named pipe (an OCI container's exec.fifo, which `start` writes to). */
export const mkfifo = (path: string, mode: number): number =>
  call('mkfifo', `${q(path)}, 0${mode.toString(8)}`, () => sock.mkfifo(path, mode) as number);
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;

/** A connected AF_UNIX stream socket to path (e.g. an OCI --console-socket). */
export function connectUnix(path: string): number {
  const fd = call('socket', 'AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0', () => sock.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) as number);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (addr.write(path, 2) >= 107) throw new Error(`socket path too long (at most 107 bytes): ${path}`);
  try {
    call('connect', `${fd}, {AF_UNIX, ${q(path)}}`, () => sock.connect(fd, addr, addr.length) as number);
  } catch (e) {
    close(fd);
    throw e;
  }
  return fd;
}

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const MSG_DONTWAIT = 0x40;

/** socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, protocol): the kernel's networking interface (app/main/runtime/network/netlink.ts). */
export const netlinkSocket = (protocol: number, protocolName: string): number =>
  call('socket', `AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, ${protocolName}`, () => sock.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) as number);

/**
 * send(fd, request) on a netlink socket: bytes sent, or -errno. Not logged here: netlink.ts logs the
 * request as one row whose result is the kernel's ack, which recv brings.
 */
export function netlinkSend(fd: number, request: Buffer): number {
  const r = Number(sock.send(fd, request, request.length, 0));
  return r < 0 ? -errno() : r;
}
/** recv(fd, buf, MSG_DONTWAIT): the kernel queues its answer within the send, so this never waits; bytes or -errno. */
export function netlinkRecv(fd: number, buf: Buffer): number {
  const r = Number(sock.recv(fd, buf, buf.length, MSG_DONTWAIT));
  return r < 0 ? -errno() : r;
}

/** setsockopt(fd, level, name, &value, sizeof(int)), e.g. a netlink socket's NETLINK_EXT_ACK. */
export const setsockoptInt = (fd: number, level: number, name: number, value: number, describe: string): number =>
  call('setsockopt', `${fd}, ${describe}, ${value}`, () => sock.setsockopt(fd, level, name, [value], 4) as number);

/** sendmsg with one SCM_RIGHTS fd and `text` as the data (runc sends a pty master with its name so). */
export function sendFd(socket: number, fd: number, text: string): void {
  const data = Buffer.from(text);
  // struct cmsghdr { size_t len; int level; int type; } + one int, padded to 8 bytes.
  const control = Buffer.alloc(24);
  control.writeBigUInt64LE(20n, 0);
  control.writeInt32LE(1 /* SOL_SOCKET */, 8);
  control.writeInt32LE(1 /* SCM_RIGHTS */, 12);
  control.writeInt32LE(fd, 16);
  const msg = { name: null, namelen: 0, iov: [{ base: data, len: data.length }], iovlen: 1, control, controllen: control.length, flags: 0 };
  call('sendmsg', `${socket}, {iov=${q(text)}, SCM_RIGHTS [${fd}]}, 0`, () => Number(sock.sendmsg(socket, msg, 0)));
}

/**
 * recvmsg(socket, MSG_DONTWAIT|MSG_CMSG_CLOEXEC) into buf, with the descriptors of an SCM_RIGHTS
 * message (close-on-exec in this process): bytes received (0 at end of stream, -errno when there is
 * nothing yet or it failed) and the fds. Not logged: the resident CLI server's own traffic.
 */
export function recvWithFds(socket: number, buf: Buffer, maxFds: number): { bytes: number; fds: number[] } {
  // struct cmsghdr { size_t len; int level; int type; } + maxFds ints, padded to 8 bytes.
  const control = Buffer.alloc(16 + Math.ceil((maxFds * 4) / 8) * 8);
  const msg = { name: null, namelen: 0, iov: [{ base: buf, len: buf.length }], iovlen: 1, control, controllen: control.length, flags: 0 };
  const r = Number(sock.recvmsg(socket, msg, MSG_DONTWAIT | 0x40000000 /* MSG_CMSG_CLOEXEC */));
  if (r < 0) return { bytes: -errno(), fds: [] };
  const fds: number[] = [];
  // msg.controllen now says how much the kernel filled in: one cmsghdr for SCM_RIGHTS.
  const used = Number(msg.controllen);
  if (used >= 16 && control.readInt32LE(8) === 1 /* SOL_SOCKET */ && control.readInt32LE(12) === 1 /* SCM_RIGHTS */) {
    const n = (Number(control.readBigUInt64LE(0)) - 16) / 4;
    for (let i = 0; i < n; i++) fds.push(control.readInt32LE(16 + 4 * i));
  }
  return { bytes: r, fds };
}

/** SO_PEERCRED of a connected AF_UNIX socket: the peer's pid, uid and gid when it connected. */
export function peerCredentials(socket: number): { pid: number; uid: number; gid: number } {
  const cred = Buffer.alloc(12);
  call('getsockopt', `${socket}, SOL_SOCKET, SO_PEERCRED`, () => sock.getsockopt(socket, 1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, cred, [12]) as number);
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}

/** prlimit(pid, resource, {soft, hard}): sets another process's limit (an OCI rlimit, on the waiting child). */
export function prlimit(pid: number, resource: number, resourceName: string, soft: bigint, hard: bigint): void {
  call('prlimit', `${pid}, ${resourceName}, {${soft}, ${hard}}, NULL`, () => sock.prlimit(pid, resource, [soft, hard], null) as number);
}

const SYS_bpf = 321;
/** bpf(cmd, attr, sizeof attr); the attr buffer is filled in by the caller (and by the kernel). */
export const bpf = (cmd: number, cmdName: string, attr: Buffer, describe: string): number =>
  Number(call('bpf', `${cmdName}, {${describe}}, ${attr.length}`, () => raw.bpf(SYS_bpf, cmd, attr, attr.length) as number));

/** waitpid(pid, WNOHANG): the raw wait status, or null while the process is running. */
export function reap(pid: number): number | null {
  const status = [0];
  const r = raw.waitpid(pid, status, 1) as number;
  if (r === 0) return null; // still running: polls are not worth a log line each
  call('waitpid', `${pid}, [?], WNOHANG`, () => r);
  return status[0];
}

/** Blocking waitpid for a child that is known to be exiting; returns the raw wait status. */
export function reapBlocking(pid: number): number {
  const status = [0];
  call('waitpid', `${pid}, [?], 0`, () => raw.waitpid(pid, status, 0) as number, 10 /* ECHILD */);
  return status[0];
}

const SYS_openat2 = 437;
/**
 * openat2(dirfd, path, {flags, resolve}): opens path resolved by the kernel relative to dirfd,
 * so RESOLVE_IN_ROOT keeps `..` and symlinks inside dirfd.
 */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, describe: string): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags), 0);
  how.writeBigUInt64LE(0n, 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  return Number(call('openat2', `${dirfd}, ${q(path)}, ${describe}`, () => raw.syscall4(SYS_openat2, dirfd, path, how, 24) as number));
}

const NATIVE_BUILD = join(__dirname, '..', '..', 'native', 'build');
type SpawnFn = (flags: number, cgroupFd: number, prog: Buffer, len: number, nops: number, reportFd: number) => bigint | number;

/** The native pre-exec step (native/src/nsexec.c), loaded and checked against program.ts's opcodes at its first use. */
const nsexec = once(() => {
  const lib = koffiModule().load(join(NATIVE_BUILD, 'libnsexec.so'));
  const nativeOpNames = lib.func('const char *locker_op_names(void)')() as string;
  if (!opcodeTableMatches(nativeOpNames)) {
    throw new Error(`native/build/libnsexec.so was built from another native/src/nsexec.c (its opcodes: ${nativeOpNames}); run npm install again`);
  }
  return {
    spawn: lib.func('int64_t locker_spawn_in_cgroup(uint64_t flags, int cgroup_fd, const uint8_t *prog, uint32_t len, uint32_t nops, int report_fd)') as SpawnFn,
    spawnExecStart: lib.func('int64_t locker_spawn_exec_start(const char *helper, uint64_t flags, int cgroup_fd, const uint8_t *prog, uint32_t len, uint32_t nops, int report_fd, _Out_ int *memfd)') as
      (helper: string, flags: number, cgroupFd: number, prog: Buffer, len: number, nops: number, reportFd: number, memfd: number[]) => bigint | number,
    spawnExecFinish: lib.func('int64_t locker_spawn_exec_finish(int helper_pid, int memfd, uint32_t len)') as (helper: number, memfd: number, len: number) => bigint | number,
    // locker-nsexec runs the same steps: only when built from the same nsexec.c (its opcode table is in it).
    helper: helperBuiltWith(join(NATIVE_BUILD, 'locker-nsexec'), nativeOpNames) as string | undefined,
  };
});

function helperBuiltWith(path: string, opNames: string): string | undefined {
  try {
    return readFileSync(path).includes(opNames) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The native pre-exec step (native/src/nsexec.c): returns a pid or -errno. cgroupFd >= 0: a cgroup
 * v2 directory the child is born in (clone3 CLONE_INTO_CGROUP); -1: the caller's cgroups.
 */
export const lockerSpawn: SpawnFn = (flags, cgroupFd, prog, len, nops, reportFd) => nsexec().spawn(flags, cgroupFd, prog, len, nops, reportFd);

/** A clone under way: finish() waits for it and gives the pid or -errno; helper names who makes it. */
export interface PendingClone { helper?: string; finish(): bigint | number }

/**
 * lockerSpawn with the clone made by native/build/locker-nsexec, a small process (started with
 * CLONE_VM|CLONE_VFORK), for the same child of this process: no copy of this process's memory
 * (1.5 ms a launch at 70 MB of Node, 8 ms at 220 MB). Returns while locker-nsexec clones: call
 * finish(), whatever happens meanwhile. With CLONE_NEWUSER (Ubuntu lets only profiled programs,
 * node, make user namespaces), or where locker-nsexec cannot start, it is lockerSpawn, made at once.
 */
export function lockerSpawnLight(flags: number, cgroupFd: number, prog: Buffer, len: number, nops: number, reportFd: number): PendingClone {
  const lib = nsexec();
  if (lib.helper && !(flags & CLONE.NEWUSER)) {
    const memfd = [-1];
    const started = lib.spawnExecStart(lib.helper, flags, cgroupFd, prog, len, nops, reportFd, memfd);
    if (BigInt(started) !== NO_HELPER) {
      if (Number(started) < 0) return { finish: () => started };
      return { helper: lib.helper, finish: () => lib.spawnExecFinish(Number(started), memfd[0], len) };
    }
    lib.helper = undefined; // it could not start (removed, not executable): the plain clone from now on
  }
  const ret = lib.spawn(flags, cgroupFd, prog, len, nops, reportFd);
  return { finish: () => ret };
}
/** LOCKER_NO_HELPER of nsexec.c: locker-nsexec did not start, nothing was cloned. */
const NO_HELPER = -(2n ** 63n);

const SYS_clone3 = 435;
const CLONE_INTO_CGROUP = 0x200000000n;
const EBADF = 9;
/**
 * Whether clone3 takes CLONE_INTO_CGROUP here (Linux 5.7; not where a seccomp filter, as Docker's
 * default profile, answers clone3 with ENOSYS). Asked with an fd that cannot be open (INT_MAX):
 * the kernel that knows the flag fails it with EBADF, creating no process; any other answer is no.
 */
export const cloneIntoCgroupWorks = once((): boolean => {
  const args = Buffer.alloc(88); // struct clone_args up to .cgroup (CLONE_ARGS_SIZE_VER2)
  args.writeBigUInt64LE(CLONE_INTO_CGROUP, 0);
  args.writeBigUInt64LE(17n /* SIGCHLD */, 32);
  args.writeBigUInt64LE(0x7fffffffn, 80);
  const r = Number(raw.clone3(SYS_clone3, args, args.length));
  return r < 0 && errno() === EBADF;
});
