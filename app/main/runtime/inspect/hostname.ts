// The container's hostname as the container sees it. /proc cannot show another UTS namespace,
// so a short-lived process joins it (setns) and runs `uname -n` with its stdout on a pipe.
import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { CLONE, O } from '../../../../native/constants';
import { close, open, pipe2, reapBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { readAll, spawnProcess } from '../../../../native/spawn';
import { hostnameIn } from '../namespace-thread';
import { namespaceLink } from './namespaces';

export const HOSTNAME_CACHE_MS = 500;

const cache = new Map<number, { uts: string; value: string; at: number }>();

export const hostHostname = (): string => osHostname();

function unamePath(): string {
  for (const p of ['/bin/uname', '/usr/bin/uname']) if (existsSync(p)) return p;
  throw new Error('uname not found in /bin or /usr/bin: cannot read the container hostname');
}

/** Runs `uname -n` inside the UTS namespace of pid (joining its user namespace first when it differs). */
function unameIn(pid: number): string {
  const uname = unamePath();
  const flags = O.RDONLY | O.CLOEXEC;
  const fds: number[] = [];
  let pipeR = -1;
  let pipeW = -1;
  try {
    const joinUser = namespaceLink('self', 'user') !== namespaceLink(pid, 'user');
    const userFd = joinUser ? open(`/proc/${pid}/ns/user`, flags, 'O_RDONLY|O_CLOEXEC') : -1;
    if (userFd >= 0) fds.push(userFd);
    const utsFd = open(`/proc/${pid}/ns/uts`, flags, 'O_RDONLY|O_CLOEXEC');
    fds.push(utsFd);
    [pipeR, pipeW] = pipe2(O.CLOEXEC);
    const program = new Program();
    if (joinUser) program.setns(userFd, CLONE.NEWUSER);
    program.setns(utsFd, CLONE.NEWUTS).dup2(pipeW, 1).keepOnExec(1).cloexecFrom(3)
      .execve(uname, ['uname', '-n'], []);
    // light: made by locker-nsexec, not as a copy of this process (the inspection worker's refresh).
    const child = spawnProcess({ flags: 0, program, light: true });
    close(pipeW);
    pipeW = -1;
    let out: string;
    try {
      out = readAll(pipeR).toString('utf8');
    } finally {
      const status = reapBlocking(child.pid);
      if (status !== 0) throw new Error(`uname -n in the UTS namespace of process ${pid} failed (wait status ${status})`);
    }
    return out.replace(/\n$/, '');
  } finally {
    if (pipeW >= 0) close(pipeW);
    if (pipeR >= 0) close(pipeR);
    for (const fd of fds) close(fd);
  }
}

/**
 * The hostname the process `pid` sees. Without a UTS namespace of its own that is the host's;
 * otherwise it is read by joining the namespace, cached per pid for HOSTNAME_CACHE_MS.
 */
export function containerHostname(pid: number): string {
  const uts = namespaceLink(pid, 'uts');
  if (uts === namespaceLink('self', 'uts')) return hostHostname();
  const hit = cached(pid, uts);
  if (hit !== undefined) return hit;
  const value = unameIn(pid);
  remember(pid, uts, value);
  return value;
}

/**
 * containerHostname without a process per read where this process may enter the namespace (root):
 * the namespace thread reads it there (0.15 ms, where `uname -n` in a new process is ~2 ms). Fills
 * the cache, so an inspection right after it reads the same value; any failure (rootless, the
 * thread gone) leaves it to containerHostname's process.
 */
export async function containerHostnameAsync(pid: number): Promise<string> {
  const uts = namespaceLink(pid, 'uts');
  if (uts === namespaceLink('self', 'uts')) return hostHostname();
  const hit = cached(pid, uts);
  if (hit !== undefined) return hit;
  if (process.getuid?.() !== 0) return containerHostname(pid);
  let value: string;
  try {
    value = await hostnameIn(pid);
  } catch {
    return containerHostname(pid);
  }
  // Still the namespace it was asked of: a pid that ended and was reused meanwhile is not cached.
  if (namespaceLink(pid, 'uts') === uts) remember(pid, uts, value);
  return value;
}

/** The hostname read for pid less than HOSTNAME_CACHE_MS ago, in the same UTS namespace. */
function cached(pid: number, uts: string): string | undefined {
  const hit = cache.get(pid);
  return hit && hit.uts === uts && Date.now() - hit.at < HOSTNAME_CACHE_MS ? hit.value : undefined;
}

function remember(pid: number, uts: string, value: string): void {
  cache.set(pid, { uts, value, at: Date.now() });
  if (cache.size > 256) {
    for (const [k, v] of cache) if (Date.now() - v.at >= HOSTNAME_CACHE_MS) cache.delete(k);
  }
}

/** Both sides, as the Inspection shows them. */
export function hostnames(pid: number): { host: string; container: string } {
  return { host: hostHostname(), container: containerHostname(pid) };
}
