// Directory listings from either side. The container side is resolved by the kernel inside the
// container's root (openat2 RESOLVE_IN_ROOT): `..`, absolute and relative symlinks stay inside it,
// and magic links (/proc/*/root, /proc/*/fd/*) are refused.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import type { DirEntry, DirListing, FileType } from '../../../shared/types';
import { O, RESOLVE } from '../../../../native/constants';
import { SyscallError } from '../../../../native/errors';
import { close, open, openat2 } from '../../../../native/libc';
import { isGone } from './proc-read';

export const PATH_MAX = 4096;

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symlinks, or a magic link that would leave the container',
  EXDEV: 'path leaves the container root',
  ENAMETOOLONG: 'path too long',
  ESRCH: 'the container process is gone',
};

function fileType(st: Stats): FileType {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

function validate(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new Error('path must be a non-empty string');
  if (path.includes('\0')) throw new Error('invalid path: contains a NUL byte');
  if (Buffer.byteLength(path) > PATH_MAX) throw new Error(`invalid path: longer than ${PATH_MAX} bytes`);
}

function errorCode(e: unknown): string | undefined {
  return e instanceof SyscallError ? e.code : (e as NodeJS.ErrnoException | undefined)?.code;
}

function describe(e: unknown, where: string): Error {
  const code = errorCode(e);
  const reason = code ? (REASONS[code] ?? code) : (e as Error).message;
  return new Error(`cannot list ${where}: ${reason}`);
}

/** Lists dir (an absolute path that needs no further resolution, e.g. /proc/self/fd/N) entry by entry. */
function entriesOf(dir: string): DirEntry[] {
  const entries: DirEntry[] = [];
  for (const name of readdirSync(dir)) {
    const full = `${dir}/${name}`;
    let st: Stats;
    try {
      st = lstatSync(full);
    } catch (e) {
      if (isGone(e)) continue; // removed since readdir
      throw e;
    }
    const entry: DirEntry = { name, type: fileType(st), size: st.size, mode: st.mode, uid: st.uid, gid: st.gid };
    if (entry.type === 'symlink') {
      try {
        entry.linkTarget = readlinkSync(full);
      } catch (e) {
        if (!isGone(e)) throw e;
      }
    }
    entries.push(entry);
  }
  return entries.sort((a, b) => {
    const ad = a.type === 'dir' ? 0 : 1;
    const bd = b.type === 'dir' ? 0 : 1;
    if (ad !== bd) return ad - bd;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

function listHost(path: string): DirEntry[] {
  if (!path.startsWith('/')) throw new Error(`cannot list ${JSON.stringify(path)} on the host: path must be absolute`);
  try {
    return entriesOf(path.length > 1 ? path.replace(/\/+$/, '') : path);
  } catch (e) {
    throw describe(e, `${path} on the host`);
  }
}

function listContainer(pid: number, path: string): DirEntry[] {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`invalid container pid: ${pid}`);
  const where = `${path} in the container (pid ${pid})`;
  const flags = O.PATH | O.DIRECTORY | O.CLOEXEC;
  const names = 'O_PATH|O_DIRECTORY|O_CLOEXEC';
  let rootFd = -1;
  let dirFd = -1;
  try {
    try {
      rootFd = open(`/proc/${pid}/root`, flags, names);
    } catch (e) {
      const code = errorCode(e);
      throw new Error(`cannot list ${where}: ${code === 'ENOENT' || code === 'ESRCH' ? 'the container process is gone' : REASONS[code ?? ''] ?? code}`);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        dirFd = openat2(rootFd, path, flags, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS, `{${names}, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS}`);
        break;
      } catch (e) {
        // The kernel returns EAGAIN when a concurrent rename could have let `..` escape; retry.
        if (errorCode(e) === 'EAGAIN' && attempt < 5) continue;
        throw describe(e, where);
      }
    }
    try {
      return entriesOf(`/proc/self/fd/${dirFd}`);
    } catch (e) {
      throw describe(e, where);
    }
  } finally {
    if (dirFd >= 0) close(dirFd);
    if (rootFd >= 0) close(rootFd);
  }
}

/**
 * Lists a directory. 'host': the absolute path on the host. 'container': the path inside the root
 * of process pid, never leaving it. Entries: directories first, then by name; symlinks not followed.
 */
export function listDirectory(side: 'host' | 'container', pid: number, path: string): DirListing {
  validate(path);
  if (side === 'host') return { side, path, entries: listHost(path) };
  if (side === 'container') return { side, path, entries: listContainer(pid, path) };
  throw new Error(`invalid side: ${String(side)}`);
}
