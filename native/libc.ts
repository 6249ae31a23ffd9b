// koffi declarations of the libc calls the runtime makes from Node, each wrapped so that it is
// recorded in the syscall log and throws a SyscallError naming the call and its decoded arguments.
import koffi from 'koffi';
import { join } from 'node:path';
import { SyscallError, errnoName } from './errors';
import { syscallLog } from './syscall-log';

const libc = koffi.load('libc.so.6');

const raw = {
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
  syscall4: libc.func('long syscall(long number, long a1, const char *a2, const void *a3, size_t a4)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
  getuid: libc.func('uint32_t getuid(void)'),
  getgid: libc.func('uint32_t getgid(void)'),
  strerror: libc.func('const char *strerror(int errnum)'),
};

const errno = (): number => koffi.errno();
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
export const getuid = (): number => raw.getuid() as number;
export const getgid = (): number => raw.getgid() as number;

export const setWinsize = (fd: number, cols: number, rows: number): number =>
  call('ioctl', `${fd}, TIOCSWINSZ, {${cols}x${rows}}`, () => raw.ioctlWinsize(fd, 0x5414, [rows, cols, 0, 0]) as number);

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

const nsexec = koffi.load(join(__dirname, '..', '..', 'native', 'build', 'libnsexec.so'));
/** The native pre-exec step (native/src/nsexec.c): returns a pid or -errno. */
export const lockerSpawn = nsexec.func(
  'int64_t locker_spawn(uint64_t flags, const uint8_t *prog, uint32_t len, uint32_t nops, int report_fd)',
) as (flags: number, prog: Buffer, len: number, nops: number, reportFd: number) => bigint | number;
