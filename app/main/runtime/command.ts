// Finds the program to execve inside a root directory, resolving symlinks the way the container
// will (absolute links point into the root), so a missing command is reported before anything starts.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import { O, RESOLVE } from '../../../native/constants';
import { openat2 } from '../../../native/libc';
import { LockerError, quote } from './errors';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function isExecutableIn(rootFd: number, path: string): boolean {
  let fd: number;
  try {
    fd = openat2(rootFd, path, O.PATH | O.CLOEXEC, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS, 'O_PATH|O_CLOEXEC, RESOLVE_IN_ROOT');
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } finally {
    closeSync(fd);
  }
}

/** Returns the absolute path (as the container sees it) of argv0 under root, or throws LockerError. */
export function findCommand(root: string, argv0: string, pathVar: string = DEFAULT_PATH, cwd = '/'): string {
  const rootFd = openSync(root, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    if (argv0.includes('/')) {
      const abs = posix.resolve(cwd, argv0);
      if (isExecutableIn(rootFd, abs)) return abs;
      throw new LockerError(`${quote(argv0)} is not an executable file in the rootfs; check the path (e.g. /bin/sh)`);
    }
    for (const dir of pathVar.split(':').filter((d) => d.startsWith('/'))) {
      const candidate = posix.join(dir, argv0);
      if (isExecutableIn(rootFd, candidate)) return candidate;
    }
    throw new LockerError(`${quote(argv0)} not found in the rootfs (PATH=${quote(pathVar).slice(1, -1)}); give a full path or a command the rootfs has`);
  } finally {
    closeSync(rootFd);
  }
}
