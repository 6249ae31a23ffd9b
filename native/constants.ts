// Kernel constants the runtime passes to libc, with their names so logs and errors can decode them.

export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  NOATIME: 0x400,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  STRICTATIME: 0x1000000,
  SYNCHRONOUS: 0x10,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NODIRATIME: 0x800,
  UNBINDABLE: 0x20000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
} as const;

export const MNT = { FORCE: 1, DETACH: 2, EXPIRE: 4, NOFOLLOW: 8 } as const;

export const O = {
  RDONLY: 0,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREAT: 0o100,
  NOCTTY: 0o400,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

export const RESOLVE = { NO_XDEV: 1, NO_MAGICLINKS: 2, NO_SYMLINKS: 4, BENEATH: 8, IN_ROOT: 0x10 } as const;

export const PR = { SET_PDEATHSIG: 1, SET_KEEPCAPS: 8, SET_NO_NEW_PRIVS: 38, CAPBSET_DROP: 24, SET_CHILD_SUBREAPER: 36, CAP_AMBIENT: 47 } as const;

export const TIOCSCTTY = 0x540e;
/** Unlocks a pty's slave (ioctl with a pointer to 0) before it can be opened. */
export const TIOCSPTLCK = 0x40045431;
/** The pty's number N (the slave is /dev/pts/N of the master's devpts). */
export const TIOCGPTN = 0x80045430;
/** Opens the slave of a master through the master's own devpts mount (no path lookup). */
export const TIOCGPTPEER = 0x5441;
/** f_type of a devpts filesystem (statfs). */
export const DEVPTS_SUPER_MAGIC = 0x1cd1;
/** Character devices the kernel numbers for /dev/ptmx (5:2) and the pty slaves (136+). */
export const PTMX_DEV = { major: 5, minor: 2 } as const;
export const TIOCSWINSZ = 0x5414;
/** How many bytes a pipe holds now (an int filled in). */
export const FIONREAD = 0x541b;
export const CLOSE_RANGE_CLOEXEC = 4;
export const WNOHANG = 1;

export const S_IFCHR = 0o020000;
export const S_IFREG = 0o100000;

export const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12,
  SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGWINCH: 28,
};

/** Renders a bit set as `A|B|0x…` using the names in table (prefixed), for logs and errors. */
export function decodeFlags(value: number | bigint, table: Record<string, number>, prefix: string): string {
  let rest = BigInt(value);
  if (rest === 0n) return '0';
  const parts: string[] = [];
  for (const [name, bit] of Object.entries(table)) {
    const b = BigInt(bit);
    if (b !== 0n && (rest & b) === b) {
      parts.push(prefix + name);
      rest &= ~b;
    }
  }
  if (rest !== 0n) parts.push('0x' + rest.toString(16));
  return parts.join('|');
}

export const cloneFlagNames = (flags: number): string => decodeFlags(flags, CLONE, 'CLONE_');
export const mountFlagNames = (flags: number): string => decodeFlags(flags, MS, 'MS_');
