// Mountpoints inside a container's new root, made and opened without ever leaving it. An image is
// untrusted: its `dev` may be a symlink to `/`, its `proc` a FIFO. So every mountpoint is opened
// with openat2 relative to an fd of the root (RESOLVE_IN_ROOT, no symlinks, no magic links) and the
// mount lands on the opened fd (/proc/self/fd/N), as runc does with securejoin. A mountpoint that
// is not a real directory (or file, for a device) is refused, and the refusal names the path.
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { MS, O, RESOLVE } from '../../../../native/constants';
import { SyscallError } from '../../../../native/errors';
import { AT_FDCWD, type Opened, type Program } from '../../../../native/program';
import { LockerError, quote } from '../errors';

/** The label of the root's fd; every mountpoint's label is this plus its path in the container. */
const ROOT_LABEL = 'rootfs';
/** Nothing is followed: a symlink (even one that stays inside), `..` out or /proc magic link fails. */
export const STRICT = RESOLVE.IN_ROOT | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
const DIRECTORY = O.PATH | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;
const FILE = O.PATH | O.NOFOLLOW | O.CLOEXEC;

/** The current directory (the new root, before pivot_root) as an fd every mountpoint is opened from. */
export function openRoot(p: Program): Opened {
  return p.openat2(AT_FDCWD, '.', O.PATH | O.DIRECTORY | O.CLOEXEC, 0, ROOT_LABEL);
}

/** Opens the real directory `name` of dir (made if missing) for later steps; close it after use. */
export function openDir(p: Program, dir: Opened, name: string, mode: number): Opened {
  p.mkdirAt(dir, name, mode);
  return p.openat2(dir, name, DIRECTORY, STRICT, `${dir.label}/${name}`);
}

/** mount(2) onto the real directory `name` of dir (made if missing), through its fd. */
export function mountOnDir(p: Program, dir: Opened, name: string, mode: number, source: string, fstype: string | null, flags: number, data: string | null = null): void {
  const target = openDir(p, dir, name, mode);
  p.mount(source, target, fstype, flags, data);
  p.close(target);
}

/** Bind-mounts a host file (a device, the pty) onto a new empty file `name` of dir, through its fd. */
export function bindOnFile(p: Program, dir: Opened, name: string, mode: number, source: string, flags: number): void {
  p.createAt(dir, name, mode);
  const target = p.openat2(dir, name, FILE, STRICT, `${dir.label}/${name}`);
  p.mount(source, target, null, flags);
  p.close(target);
}

/**
 * Bind-mounts a host path onto `target` (absolute, normalised) inside the root: every component
 * made and opened strictly from the one before, so an image symlink anywhere on the way is refused
 * instead of redirecting the bind onto the host. A file source lands on a file, a directory on a
 * directory. Read-only is a second step (a bind takes its flags from the source's mount): the
 * target opened again, now naming the bind, and remounted with `remountFlags`.
 */
export function bindInside(p: Program, root: Opened, target: string, source: string, file: boolean, remountFlags?: number, propagation?: number): void {
  const parts = target.split('/').filter(Boolean);
  const last = parts.pop()!;
  const parents: Opened[] = [];
  let dir = root;
  for (const part of parts) parents.push((dir = openDir(p, dir, part, 0o755)));
  const open = (): Opened => (file ? p.openat2(dir, last, FILE, STRICT, `${dir.label}/${last}`) : openDir(p, dir, last, 0o755));
  if (file) p.createAt(dir, last, 0o644);
  const mountpoint = open();
  p.mount(source, mountpoint, null, MS.BIND | MS.REC);
  p.close(mountpoint);
  if (remountFlags !== undefined) {
    const bound = open();
    p.mount(null, bound, null, remountFlags);
    p.close(bound);
  }
  if (propagation !== undefined) {
    const bound = open();
    p.mount(null, bound, null, propagation);
    p.close(bound);
  }
  for (const d of parents.reverse()) p.close(d);
}

const WHAT_IS_MOUNTED: Record<string, string> = {
  '/proc': 'procfs', '/dev': 'a fresh tmpfs /dev', '/sys': 'sysfs', '/tmp': 'a tmpfs /tmp',
};

function kindOf(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return `a symlink (to ${quote(readlinkSync(path))})`;
    if (st.isFIFO()) return 'a FIFO';
    if (st.isSocket()) return 'a socket';
    if (st.isFile()) return 'a regular file';
    if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device node';
  } catch {
    // gone or unreadable: say what the kernel said
  }
  return undefined;
}

/**
 * A mountpoint the setup refused, as one line naming the image's path and the fix; undefined for
 * any other failure. imageDir is the image on the host (the overlay's lower layer or the copy):
 * only its top-level entries are looked at, with lstat, to say what stands where a directory should.
 */
export function mountpointRefusal(e: unknown, imageDir: string | undefined): LockerError | undefined {
  if (!(e instanceof SyscallError)) return undefined;
  const m = e.syscall === 'openat2' ? / = rootfs(\/\S+)$/.exec(e.args) : e.syscall === 'mkdirat' ? /^rootfs(\S*), "([^"]+)"/.exec(e.args) : null;
  if (!m) return undefined;
  const path = e.syscall === 'openat2' ? m[1] : `${m[1]}/${m[2]}`;
  const top = path.split('/').length === 2;
  const seen = top && imageDir ? kindOf(join(imageDir, path)) : undefined;
  const byErrno: Record<string, string> = {
    ELOOP: 'a symlink', ENOTDIR: 'not a directory', EXDEV: 'a path that leads outside the rootfs', EEXIST: 'not a directory',
  };
  const is = seen ?? byErrno[e.code];
  const what = WHAT_IS_MOUNTED[path] ?? 'a filesystem';
  if (!is) return new LockerError(`cannot make ${path} in the image (${e.code}); Locker mounts ${what} there: check that the rootfs is a writable directory tree`);
  return new LockerError(`the image's ${path} is ${is}; Locker mounts ${what} only on a real directory inside the rootfs: fix the image (make ${path} a directory)`);
}
