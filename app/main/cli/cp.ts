// `locker cp ID:/path HOSTPATH` and `locker cp HOSTPATH ID:/path`, as docker cp. A container is
// hostile: its `/etc` may be a symlink to `/`, its `x` one to `../../../../tmp`. So nothing of the
// container's is resolved by the host: its side of the copy is a static host tar (busybox) run
// inside the container by `locker exec`'s plan (namespaces joined, chrooted into its root, its
// capabilities and seccomp), where every symlink resolves inside the container. The host side is
// GNU tar on a pipe, in child processes (off the event loop). What the container sends is
// extracted as the user who runs cp, without setuid/setgid bits, and rootful without CAP_MKNOD
// (a device node made by a hostile container is refused, not recreated on the host).
// An exited container kept with its files (run -d, --keep) is copied from or into the same way:
// the runtime mounts its layer again in namespaces of its own and pivots into it (openFiles), and
// the same busybox tar runs there. `-` is a tar archive on stdin or stdout, as docker cp takes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import { O, RESOLVE } from '../../../native/constants';
import { SyscallError } from '../../../native/errors';
import { openat2, pipe2 } from '../../../native/libc';
import { LockerError } from '../runtime/errors';
import type { ExecHandle, ExecOptions } from '../runtime/handles';
import type { ContainerInfo } from '../../shared/types';
import { isatty } from 'node:tty';
import { containerStdio } from './stdio';
import { chooseSource } from '../runtime/rootfs/default-rootfs';
import { Runtime } from '../runtime/runtime';
import { parseArgs } from './args';

/** `ID:/path` → its parts; a host path (anything else: `./a:b`, `/x`) → undefined. */
type Ref = { id: string; path: string };

export function containerRef(text: string): Ref | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/.exec(text);
  if (!m) return undefined;
  if (m[2].includes('\0')) throw new LockerError('the container path contains a NUL byte; remove it');
  return { id: m[1], path: posix.normalize(`/${m[2]}`).replace(/(.)\/$/, '$1') };
}

type Kind = 'dir' | 'file' | 'other';

/** What `path` is inside the container's root, resolved there (RESOLVE_IN_ROOT); undefined when missing. */
export function kindInRoot(pid: number, path: string): Kind | undefined {
  const root = openSync(`/proc/${pid}/root`, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  try {
    const fd = openat2(root, path, O.PATH | O.CLOEXEC, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS, 'O_PATH, RESOLVE_IN_ROOT');
    try {
      const st = fstatSync(fd);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
    throw e;
  } finally {
    closeSync(root);
  }
}

function hostKind(path: string): Kind | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

/** GNU tar's --transform renaming the top member to `name` (not symlink targets: S). */
function renameTop(name: string): string[] {
  return [`--transform=s,^[^/]*,${name.replace(/[\\&,]/g, (c) => `\\${c}`)},S`];
}

/** Where a copy lands: the directory to unpack into, and the name the top entry gets if it changes. */
function destination(dest: string, destKind: Kind | undefined, srcKind: Kind, srcBase: string, where: string, parentKind: Kind | undefined): { dir: string; rename?: string } {
  if (destKind === 'dir') return { dir: dest };
  if (destKind !== undefined && srcKind === 'dir') throw new LockerError(`cannot copy a directory onto the file ${where}; name a directory or a new path`);
  if (parentKind !== 'dir') throw new LockerError(`${where}: its parent directory does not exist; create it first`);
  const name = basename(dest);
  return { dir: dirname(dest), rename: name === srcBase ? undefined : name };
}

/** Where the container's half of a copy runs: the running container, or an exited one's kept files brought up for it. */
interface Inside {
  pid: number;
  /** Exited: where the container had mounts of its own (tmpfs, volumes), which its layer does not hold. */
  hidden: string[];
  exec(argv: string[], opts: ExecOptions): Promise<ExecHandle> | ExecHandle;
  close(): Promise<void>;
}

function hostBusybox(): string {
  const busybox = chooseSource({});
  if (busybox.kind !== 'busybox') throw new LockerError('locker cp needs a static busybox on the host to run inside the container; apt-get install busybox-static');
  return busybox.path;
}

/**
 * Running: the container itself. Exited and kept (run -d, --keep): its layer mounted again by the
 * runtime in namespaces of its own, pivoted into (Runtime.openFiles), so paths resolve inside its
 * root exactly as they would while it ran, and writes land in its layer for the next locker start.
 */
async function enter(rt: Runtime, info: ContainerInfo, busybox: string): Promise<Inside> {
  if (info.state === 'running') return { pid: info.pid, hidden: [], exec: (argv, opts) => rt.exec(info.id, argv, opts), close: async () => undefined };
  const files = await rt.openFiles(info.id, busybox);
  return { pid: files.target.pid, hidden: files.hidden, exec: (argv, opts) => rt.execFiles(files.target, argv, opts), close: files.close };
}

/** Runs the container's half (busybox tar inside it) and the host's half (GNU tar) on one pipe. */
async function pipeTars(inside: Inside, busybox: string, insideArgs: string[], hostArgs: string[], insideWrites: boolean): Promise<number> {
  const [r, w] = pipe2(O.CLOEXEC);
  let tar: ExecHandle | undefined;
  let host: ChildProcess | undefined;
  // The write end must be held only by the writer: the exec's middle process (nsexec's OP_FORK)
  // keeps what it inherits until the copy ends, so the host's tar writing into the container
  // starts (and the parent's end closes) before that process exists.
  const startHost = (): void => {
    // Rootful, the host's tar may not make device nodes (a hostile container's /dev/sda stays behind).
    const command = process.getuid!() === 0 ? ['setpriv', '--bounding-set', '-mknod', 'tar', ...hostArgs] : ['tar', ...hostArgs];
    host = spawn(command[0], command.slice(1), { stdio: insideWrites ? [r, 'inherit', 'inherit'] : ['ignore', w, 'inherit'] });
  };
  try {
    if (!insideWrites) {
      startHost();
      closeSync(w);
    }
    const devnull = openSync('/dev/null', O.RDWR | O.CLOEXEC);
    try {
      tar = await inside.exec(['tar', ...insideArgs], { tty: false, user: '0', hostBinary: busybox, stdio: insideWrites ? [devnull, w, 2] : [r, devnull, 2] });
    } finally {
      closeSync(devnull);
    }
    if (insideWrites) startHost();
  } catch (e) {
    host?.kill('SIGKILL');
    throw e;
  } finally {
    closeSync(r);
    if (insideWrites) closeSync(w);
  }
  const hostCode = new Promise<number>((resolve) => {
    host!.on('error', () => resolve(127));
    host!.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const [a, b] = await Promise.all([tar!.exited, hostCode]);
  if (a !== 0 || b !== 0) {
    process.stderr.write(`locker: cp: the copy did not complete (tar in the container exited ${a}, on the host ${b}); see the lines above\n`);
    return 1;
  }
  return 0;
}

/**
 * `-`: the container's tar alone, on this process's stdin or stdout (fresh blocking descriptions
 * of them, cli/stdio.ts), as docker cp streams a tar archive.
 */
async function streamTar(inside: Inside, busybox: string, insideArgs: string[], reads: boolean): Promise<number> {
  const stdio = containerStdio();
  const devnull = openSync('/dev/null', O.RDWR | O.CLOEXEC);
  let tar: ExecHandle;
  try {
    tar = await inside.exec(['tar', ...insideArgs], { tty: false, user: '0', hostBinary: busybox, stdio: reads ? [stdio.fds[0], devnull, 2] : [devnull, stdio.fds[1], 2] });
  } finally {
    closeSync(devnull);
    stdio.close();
  }
  const code = await tar.exited;
  if (code !== 0) process.stderr.write(`locker: cp: the copy did not complete (tar in the container exited ${code}); see the lines above\n`);
  return code === 0 ? 0 : 1;
}

export async function cpCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [], 'cp');
  if (p.rest.length !== 2) throw new LockerError('locker cp takes a source and a destination: locker cp ID:/path HOSTPATH or locker cp HOSTPATH ID:/path (- for a tar stream on stdin or stdout)');
  const [srcText, dstText] = p.rest;
  const from = containerRef(srcText);
  const to = containerRef(dstText);
  if (from && to) throw new LockerError('locker cp copies between a container and the host, not between two containers; copy to the host first');
  if (!from && !to) throw new LockerError('locker cp needs one side in a container, written ID:/path; e.g. locker cp ID:/etc/hostname .');
  if (from && dstText === '-' && isatty(1)) throw new LockerError('locker cp ID:PATH - writes a tar archive to stdout, which is a terminal; pipe it (| tar -t) or redirect it (> out.tar)');
  if (to && srcText === '-' && isatty(0)) throw new LockerError('locker cp - ID:PATH reads a tar archive from stdin, which is a terminal; pipe one in (tar -c DIR | locker cp - ID:/tmp)');
  const rt = new Runtime();
  const ref = (from ?? to)!;
  const info = rt.get(ref.id);
  if (!info) throw new LockerError(`no container "${ref.id}"; see locker ps -a for the ids`);
  const busybox = hostBusybox();
  const inside = await enter(rt, info, busybox);
  try {
    return await copy(inside, busybox, srcText, dstText, from, to);
  } finally {
    await inside.close();
  }
}

async function copy(inside: Inside, busybox: string, srcText: string, dstText: string, from?: Ref, to?: Ref): Promise<number> {
  const path = (from ?? to)!.path;
  const under = inside.hidden.find((h) => path === h || path.startsWith(`${h}/`));
  if (under) throw new LockerError(`${from ? srcText : dstText}: ${under} was a mount of the running container (a tmpfs, a volume), not kept in its files; copy while it runs (locker start), or use another path`);
  if (from) {
    const srcKind = kindInRoot(inside.pid, from.path);
    if (!srcKind) throw new LockerError(`${srcText}: no such file or directory in the container`);
    const base = from.path === '/' ? '.' : posix.basename(from.path);
    if (dstText === '-') return streamTar(inside, busybox, ['-C', posix.dirname(from.path), '-cf', '-', base], false);
    const { dir, rename } = destination(dstText, hostKind(dstText), srcKind, base, dstText, hostKind(dirname(dstText)));
    return pipeTars(inside, busybox, ['-C', posix.dirname(from.path), '-cf', '-', base],
      ['-xf', '-', '-C', dir, '--no-same-owner', '--no-same-permissions', ...(rename ? renameTop(rename) : [])], true);
  }
  if (srcText === '-') {
    // docker cp -: the archive is unpacked into a directory that exists.
    if (kindInRoot(inside.pid, to!.path) !== 'dir') throw new LockerError(`${dstText}: - unpacks a tar archive into a directory; name a directory that exists in the container`);
    return streamTar(inside, busybox, ['-xof', '-', '-C', to!.path], true);
  }
  const srcKind = hostKind(srcText);
  if (!srcKind) throw new LockerError(`${srcText}: no such file or directory on the host`);
  const base = basename(srcText.replace(/\/+$/, '')) || '.';
  const { dir, rename } = destination(to!.path, kindInRoot(inside.pid, to!.path), srcKind, base, dstText, kindInRoot(inside.pid, posix.dirname(to!.path)));
  return pipeTars(inside, busybox, ['-xof', '-', '-C', dir], ['-C', dirname(srcText.replace(/\/+$/, '')) || '/', '-cf', '-', ...(rename ? renameTop(rename) : []), base], false);
}
