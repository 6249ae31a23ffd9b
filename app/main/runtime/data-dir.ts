import { accessSync, constants, mkdirSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LockerError } from './errors';

/** Where images and container records live: $LOCKER_DATA_DIR, else $XDG_DATA_HOME/locker, else ~/.local/share/locker. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCKER_DATA_DIR) return env.LOCKER_DATA_DIR;
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return join(xdg, 'locker');
}

export const imagesDir = (root: string): string => join(root, 'images');
export const containersDir = (root: string): string => join(root, 'containers');

/** Kernel filesystems that look like directories but cannot store files (statfs f_type). */
const KERNEL_FS: Record<number, string> = { 0x9fa0: '/proc', 0x62656572: '/sys', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs' };

/**
 * Makes dir and its missing parents (mode for the last one) and checks that it can be written.
 * Any failure is one LockerError naming the path and the real cause; parents made on the way are
 * removed again. (Not mkdirSync's recursive mode: under /proc it retries ENOENT forever.)
 */
export function ensureWritableDir(dir: string, mode = 0o755): void {
  const target = resolve(dir);
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) throw notADirectory(existing);
      break;
    } catch (e) {
      if (e instanceof LockerError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file on the way; walking up finds it and names it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw dataDirError(existing, e as NodeJS.ErrnoException);
      missing.unshift(existing);
      if (existing === dirname(existing)) break;
      existing = dirname(existing);
    }
  }
  const kernel = kernelFs(existing);
  if (kernel) throw new LockerError(`cannot use ${missing[0] ?? target} as the data dir: it is under ${kernel}, a kernel filesystem that cannot store files; set LOCKER_DATA_DIR to a directory on disk (e.g. ~/.local/share/locker)`);
  const made: string[] = [];
  try {
    for (const p of missing) {
      try {
        mkdirSync(p, { mode: p === target ? mode : 0o755 });
        made.push(p);
      } catch (e) {
        // Another process made it between our stat and our mkdir (50 first commands at once): a
        // directory there is all this wanted. Anything else there is still refused below.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(p).isDirectory()) throw e;
      }
    }
    accessSync(target, constants.W_OK | constants.X_OK);
  } catch (e) {
    for (const p of made.reverse()) {
      try {
        rmdirSync(p);
      } catch {
        // someone else put something there meanwhile: theirs
      }
    }
    // A mkdir that failed: the directory it needed to write is the parent.
    throw dataDirError(made.length < missing.length ? dirname(missing[made.length]) : target, e as NodeJS.ErrnoException);
  }
}

function kernelFs(path: string): string | undefined {
  try {
    return KERNEL_FS[Number(statfsSync(path).type)];
  } catch {
    return undefined;
  }
}

function notADirectory(path: string): LockerError {
  return new LockerError(`cannot use the data dir: ${path} is not a directory; remove it or set LOCKER_DATA_DIR to a directory`);
}

/** One line saying why path (in the data dir) cannot be made or written: permission, read-only, full, not a directory. */
export function dataDirError(path: string, e: NodeJS.ErrnoException): LockerError {
  const elsewhere = 'or set LOCKER_DATA_DIR to a directory you can write';
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return new LockerError(`cannot write the data dir: permission denied on ${path} for ${whoami()}; make it writable for you (chown/chmod), ${elsewhere}`);
    case 'EROFS':
      return new LockerError(`cannot write the data dir: ${path} is on a read-only filesystem; remount it read-write, ${elsewhere}`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new LockerError(`cannot write the data dir: the disk holding ${path} is full; free space there, ${elsewhere}`);
    case 'ENOTDIR':
    case 'EEXIST':
      return notADirectory(path);
    default:
      return new LockerError(`cannot write the data dir ${path}: ${(e.message || String(e)).replace(/^\w+: /, '')}; ${elsewhere}`);
  }
}

/** Whether an error from writing into the data dir is one of the causes dataDirError names. */
export function isDataDirProblem(e: unknown): e is NodeJS.ErrnoException {
  return ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException)?.code ?? '');
}

function whoami(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return `uid ${process.getuid?.()}`;
  }
}
