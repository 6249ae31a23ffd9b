// --user NAME[:GROUP]: names looked up in the image's own /etc/passwd and /etc/group, as docker
// (runc's user.GetExecUser) does. The image is untrusted: its /etc or /etc/passwd may be a symlink
// to `/` or `../../..`, so each file is opened with openat2 RESOLVE_IN_ROOT from an fd of the root
// (a symlink resolves as it would inside the container, never to the host's files), must be a
// regular file, and is read with a size cap.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { O, RESOLVE } from '../../../native/constants';
import { openat2 } from '../../../native/libc';
import { SyscallError } from '../../../native/errors';
import * as grammar from '../../shared/grammar';
import { LockerError } from './errors';

/** Who the command runs as: ids, supplementary groups from /etc/group, and the passwd home if found. */
export interface ResolvedUser { uid: number; gid: number; groups: number[]; home?: string }

/** Larger /etc/passwd or /etc/group files are refused: a hostile image's 10 GB "passwd". */
const MAX_FILE = 4 * 1024 * 1024;

/** The text of a file of the root (its path inside), or undefined when it is missing. */
export function readInRoot(rootDir: string, path: string): string | undefined {
  const root = openSync(rootDir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  let fd: number | undefined;
  try {
    try {
      fd = openat2(root, path, O.RDONLY | O.CLOEXEC | O.NOCTTY | O.NONBLOCK, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS, 'O_RDONLY, RESOLVE_IN_ROOT');
    } catch (e) {
      if (e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
      // A symlink that only works from the host (../../../etc) loops inside the root.
      if (e instanceof SyscallError && e.code === 'ELOOP') throw new LockerError(`the image's ${path} leads into a symlink loop inside the image (is /etc a symlink out of it?); --user names need a real ${path}, or give numeric ids`);
      throw e;
    }
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LockerError(`the image's ${path} is not a regular file; --user names need a real ${path} (or give numeric ids)`);
    if (st.size > MAX_FILE) throw new LockerError(`the image's ${path} is ${st.size} bytes; more than ${MAX_FILE} is refused (give numeric ids)`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    if (fd !== undefined) closeSync(fd);
    closeSync(root);
  }
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) }));
}

/**
 * docker's rule: a name must be in /etc/passwd; a number is taken as is (its passwd entry, if any,
 * gives the primary group and home); GROUP overrides the primary group (a name must be in
 * /etc/group); the user's /etc/group memberships are its supplementary groups.
 */
export function resolveUser(text: string, rootDir: string | undefined): ResolvedUser {
  const r = grammar.parseUser(text);
  if (!r.ok) throw new LockerError(r.problem);
  const { user, group } = r.value;
  const passwdText = rootDir === undefined ? undefined : readInRoot(rootDir, '/etc/passwd');
  const passwd = parsePasswd(passwdText ?? '');
  const entry = 'name' in user ? passwd.find((e) => e.name === user.name) : passwd.find((e) => e.uid === user.id);
  if ('name' in user && !entry) {
    throw new LockerError(`--user ${text}: no user "${user.name}" in the image's /etc/passwd${passwdText === undefined ? ' (it has none)' : ''}; name one it has or give a numeric UID`);
  }
  const needGroups = entry !== undefined || (group !== undefined && 'name' in group);
  const groups = needGroups && rootDir !== undefined ? parseGroup(readInRoot(rootDir, '/etc/group') ?? '') : [];
  let gid = entry?.gid ?? 0;
  if (group && 'id' in group) gid = group.id;
  else if (group) {
    const g = groups.find((e) => e.name === group.name);
    if (!g) throw new LockerError(`--user ${text}: no group "${group.name}" in the image's /etc/group; name one it has or give a numeric GID`);
    gid = g.gid;
  }
  const supplementary = entry ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid: 'id' in user ? user.id : entry!.uid, gid, groups: [...new Set(supplementary)], home: entry?.home || undefined };
}
