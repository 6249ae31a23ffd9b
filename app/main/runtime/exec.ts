// `locker exec`: a new process in a running container, planned like its init (plan.ts,
// buildExecPlan). This file only gathers the facts: which namespaces differ from ours (their fds),
// the container's root, its cgroups, its terminal.
import { closeSync, openSync, statSync } from 'node:fs';
import { O } from '../../../native/constants';
import { SyscallError } from '../../../native/errors';
import { kill } from '../../../native/libc';
import { spawnProcess } from '../../../native/spawn';
import { NAMESPACES, type Namespace } from '../../shared/types';
import { containerCgroupPaths, openCgroupJoin, type CgroupJoin } from './cgroups';
import { findCommand } from './command';
import { sharesNamespace } from './inspect/namespaces';
import { LockerError } from './errors';
import type { ExecHandle, ExecOptions } from './handles';
import { checkUser } from './spec';
import { buildExecPlan } from './plan';
import type { ContainerRecord } from './records';
import { openContainerPty, openPty, type PtyEnds } from './terminal';
import { parseUlimits, setUlimits } from './ulimits';
import { decodeWaitStatus, waitForExit } from './wait';

/** By number: errnoName calls 11 by its alias EWOULDBLOCK. */
const EAGAIN = 11;

/**
 * The terminal of an exec'd process comes from the container's own devpts, as with docker exec -t:
 * inside, `tty` names /dev/pts/N and `ls /dev/pts` lists it. A container without a mount namespace
 * of its own sees the host's /dev/pts, whose ptmx may be mode 000 (the host uses /dev/ptmx): there
 * a host pty is the container's pty anyway.
 */
function execTerminal(r: ExecTarget, opts: ExecOptions): PtyEnds | undefined {
  if (!opts.tty) return undefined;
  const [cols, rows] = [opts.cols ?? 80, opts.rows ?? 24];
  return sharesNamespace(r.pid, 'mnt') ? openPty(cols, rows) : openContainerPty(r.pid, cols, rows);
}

/** What exec needs of a container: Locker's record, or what discovery found of another engine's (runtime/foreign.ts). */
export type ExecTarget = Pick<ContainerRecord, 'id' | 'name' | 'pid' | 'workdir' | 'env' | 'rootless' | 'seccomp' | 'caps' | 'user'> & {
  /** The cgroups to join; Locker's own are found from the id (`locker/<id>`). */
  cgroupPaths?: string[];
};

export function execInContainer(r: ExecTarget, argv: string[], opts: ExecOptions): ExecHandle {
  if (argv.length === 0 || argv[0] === '') throw new LockerError('no command given; e.g. locker exec ID -- /bin/sh');
  if (argv.some((a) => a.includes('\0'))) throw new LockerError('the command contains a NUL byte; remove it');
  // Checked before anything is opened: a bad limit is one line and leaves nothing.
  const ulimits = parseUlimits(opts.ulimits);
  const fds: number[] = [];
  let cgroup: CgroupJoin | undefined;
  const pty = execTerminal(r, opts);
  try {
    const join: Partial<Record<Namespace, number>> = {};
    for (const ns of NAMESPACES) {
      if (sharesNamespace(r.pid, ns)) continue;
      join[ns] = openSync(`/proc/${r.pid}/ns/${ns}`, O.RDONLY | O.CLOEXEC);
      fds.push(join[ns]!);
    }
    let rootFd: number | undefined;
    if (join.mnt !== undefined || statSync(`/proc/${r.pid}/root/`).ino !== statSync('/').ino) {
      rootFd = openSync(`/proc/${r.pid}/root`, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      fds.push(rootFd);
    }
    const workdir = opts.workdir ?? r.workdir;
    const env = [...r.env.filter((e) => !(opts.env ?? []).some((o) => o.split('=', 1)[0] === e.split('=', 1)[0])), ...(opts.env ?? [])];
    const path = env.find((e) => e.startsWith('PATH='))?.slice(5);
    let executable: string;
    if (opts.hostBinary) {
      // Inherited by the clone under the same number; its ELF stays reachable after the chroot.
      const binary = openSync(opts.hostBinary, O.RDONLY | O.CLOEXEC);
      fds.push(binary);
      executable = `/proc/self/fd/${binary}`;
    } else {
      executable = findCommand(`/proc/${r.pid}/root`, argv[0], path, workdir);
    }
    // In the container's cgroups (every hierarchy) before it runs a single step of its own: born
    // there (clone3), or through files opened here that its first steps write to (openCgroupJoin).
    // The fork into the PID namespace inherits them.
    cgroup = openCgroupJoin(r.cgroupPaths ?? containerCgroupPaths(r.id));
    const program = buildExecPlan({
      join, rootFd, cgroupFiles: cgroup.writes, workdir, rootless: r.rootless, executable, argv, env, tty: pty, stdio: pty ? undefined : opts.stdio,
      // The same capability bounding set, no_new_privs and seccomp filter as the container's init.
      seccomp: r.seccomp ?? 'default', caps: r.caps,
      // docker exec runs as the container's user unless -u says otherwise.
      // Names (-u nobody) resolve in the container's own /etc/passwd, opened inside its root.
      user: opts.user !== undefined ? checkUser(opts.user, r.rootless, join.user !== undefined, `/proc/${r.pid}/root`) : r.user,
    });
    // With the container's --ulimit limits before it runs a single step of its own: the fork into
    // the PID namespace inherits them.
    const beforeContinue = ulimits.length > 0 ? (pid: number): void => setUlimits(pid, ulimits, r.rootless) : undefined;
    let spawned;
    try {
      // light: cloned by the small locker-nsexec, not as a copy of this (big) process.
      spawned = spawnProcess({ flags: 0, program, beforeContinue, intoCgroup: cgroup.into, light: true });
    } catch (e) {
      if (e instanceof SyscallError && e.syscall === 'getcwd') {
        throw new LockerError(`--workdir ${workdir} leads outside the container's root (through an inherited file descriptor?); pick a directory inside the container`);
      }
      // At pids.max the fork into the PID namespace fails, or on v2 the clone into the cgroup itself.
      if (e instanceof SyscallError && (e.syscall === 'fork' || (e.syscall === 'clone' && cgroup.into)) && e.errno === EAGAIN) {
        throw new LockerError(`container ${r.name} is at its --pids-limit; no new process can start in it until one ends`);
      }
      throw e;
    }
    pty?.releaseSlave();
    const target = spawned.innerPid ?? spawned.pid;
    const exited = waitForExit(spawned.pid).then((s) => decodeWaitStatus(s).exitCode);
    return { pid: target, terminal: pty?.handle, exited, kill: (sig = 15) => void kill(target, sig, 3) };
  } catch (e) {
    pty?.handle.close();
    throw e;
  } finally {
    for (const fd of fds) closeSync(fd);
    cgroup?.close();
  }
}
