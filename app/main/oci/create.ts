// `locker oci create`: the container's init is cloned, set up by the native step (oci/plan.ts) and
// left blocked on exec.fifo before its seccomp/execve tail; this process records the state and
// exits (conmon, podman's monitor, stays the init's parent as its subreaper). The launch's
// syscall log, host side and child side, is written to the state dir as JSON lines.
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLONE, O, TIOCGPTN, TIOCGPTPEER, TIOCSPTLCK } from '../../../native/constants';
import { close, connectUnix, ioctlArg, ioctlInt, mkfifo, open, prlimit, sendFd, setns, setWinsize, write } from '../../../native/libc';
import { spawnProcess } from '../../../native/spawn';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import type { Namespace } from '../../shared/types';
import { createCgroup, needsCgroup, type Cgroup } from '../runtime/cgroups';
import { DEFAULT_PATH, findCommand } from '../runtime/command';
import { LockerError } from '../runtime/errors';
import { formatIdMap } from '../runtime/plan';
import { processStartTime } from '../runtime/records';
import { compileToBuffer } from '../runtime/security/seccomp/compile';
import { fromOciSeccomp } from '../runtime/security/seccomp/oci-import';
import { describeResolved } from '../runtime/security/seccomp/resolve';
import { hostTable } from '../runtime/security/seccomp/syscalls';
import { readConfig, type OciProcess, type OciSpec } from './config';
import { runHooks } from './hooks';
import type { OciLog } from './log';
import { buildOciPlan } from './plan';
import { FIFO, OCI_VERSION, OciError, SYSCALL_LOG, makeStateDir, removeStateDir, saveState, stateDir, type SavedState } from './state';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  preserveFds: number;
  log: OciLog;
}

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** JSON lines of the syscall log (bigint results as numbers). */
export function appendSyscalls(dir: string, entries: SyscallEntry[]): void {
  if (entries.length === 0) return;
  const text = entries.map((e) => JSON.stringify({ ...e, result: Number(e.result) })).join('\n') + '\n';
  writeFileSync(join(dir, SYSCALL_LOG), text, { flag: 'a' });
}

/** Collects every syscall log record made while fn runs. */
export function recording<T>(entries: SyscallEntry[], fn: () => T): T {
  const off = syscallLog.subscribe((e) => entries.push(e));
  try {
    return fn();
  } finally {
    off();
  }
}

/** A pty from the host's /dev/ptmx: the master goes to --console-socket, the slave becomes the container's terminal. */
export function openHostPty(size?: { width: number; height: number }): { master: number; slave: number; path: string } {
  const master = open('/dev/ptmx', O.RDWR | O.NOCTTY | O.CLOEXEC, 'O_RDWR|O_NOCTTY|O_CLOEXEC');
  ioctlInt(master, TIOCSPTLCK, 'TIOCSPTLCK', 0);
  const n = ioctlInt(master, TIOCGPTN, 'TIOCGPTN');
  const slave = ioctlArg(master, TIOCGPTPEER, 'TIOCGPTPEER', O.RDWR | O.NOCTTY | O.CLOEXEC, 'O_RDWR|O_NOCTTY|O_CLOEXEC');
  if (size && size.width > 0 && size.height > 0) setWinsize(master, size.width, size.height);
  return { master, slave, path: `/dev/pts/${n}` };
}

/** A sysctl of the child's network or IPC namespace, written from this thread joined to it for the moment. */
function writeSysctl(pid: number, key: string, value: string): void {
  const ns = key.startsWith('net.') ? 'net' : 'ipc';
  const flag = ns === 'net' ? CLONE.NEWNET : CLONE.NEWIPC;
  const own = openSync(`/proc/thread-self/ns/${ns}`, O.RDONLY | O.CLOEXEC);
  const theirs = openSync(`/proc/${pid}/ns/${ns}`, O.RDONLY | O.CLOEXEC);
  try {
    setns(theirs, flag, `CLONE_NEW${ns.toUpperCase()}`);
    try {
      writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
    } finally {
      setns(own, flag, `CLONE_NEW${ns.toUpperCase()}`);
    }
  } finally {
    closeSync(own);
    closeSync(theirs);
  }
}

function writeIdMaps(pid: number, uidMap: string, gidMap: string): void {
  for (const [file, text] of [['uid_map', uidMap], ['gid_map', gidMap]] as const) {
    writeFileSync(`/proc/${pid}/${file}`, text);
    syscallLog.record({ where: 'host', name: 'write', args: `"/proc/${pid}/${file}", ${JSON.stringify(text)}`, result: text.length, t: Date.now() });
  }
}

export function seccompFilter(spec: OciSpec): { program: Buffer; summary: string } | undefined {
  if (spec.seccomp === undefined) return undefined;
  const table = hostTable();
  if (!table) throw new OciError(`config.json: linux.seccomp: Locker has no syscall table for ${process.arch}; remove linux.seccomp`);
  let imported;
  try {
    imported = fromOciSeccomp(spec.seccomp, table);
  } catch (e) {
    throw new OciError(`config.json: ${(e as Error).message}`);
  }
  spec.notes.push(...imported.notes);
  return { program: compileToBuffer(imported.profile), summary: describeResolved(imported.profile) };
}

/**
 * process.args[0] inside root. A failure keeps runc's words, which engines read: podman exits 127
 * for "executable file not found" or "no such file or directory".
 */
export function findExecutable(root: string, proc: OciProcess): string {
  const pathVar = proc.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const argv0 = proc.args[0];
  try {
    return findCommand(root, argv0, pathVar, proc.cwd);
  } catch (e) {
    if (!(e instanceof LockerError)) throw e;
    throw new OciError(`exec: ${JSON.stringify(argv0)}: ${argv0.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH'} (${e.message})`);
  }
}

/**
 * Runs fn with this thread's PID namespace for children set to the container's: the clone inside
 * fn makes a process born in it and a child of this one, with no intermediate process (setns of a
 * PID namespace changes only where the caller's children go, and a multithreaded caller may do it).
 */
export function inPidNamespace<T>(fd: number | undefined, fn: () => T): T {
  if (fd === undefined) return fn();
  const own = openSync('/proc/self/ns/pid', O.RDONLY | O.CLOEXEC);
  try {
    setns(fd, CLONE.NEWPID, 'CLONE_NEWPID');
    try {
      return fn();
    } finally {
      setns(own, CLONE.NEWPID, 'CLONE_NEWPID');
    }
  } finally {
    closeSync(own);
  }
}

export interface Created {
  pid: number;
  state: SavedState;
}

/**
 * Creates the container. `keepChild`: the caller (`run`) stays the init's parent and waits for it;
 * otherwise this process is about to exit and the init is reparented.
 */
export function createContainer(opts: CreateOptions): Created {
  const spec = readConfig(opts.bundle);
  if (spec.process.terminal && !opts.consoleSocket) throw new OciError('process.terminal is true: give --console-socket PATH to receive the pty master (or set terminal false)');
  const executable = findExecutable(spec.rootPath, spec.process);
  const seccomp = seccompFilter(spec);
  const dir = makeStateDir(opts.root, opts.id);
  const entries: SyscallEntry[] = [];
  let cgroup: Cgroup | undefined;
  const fds: number[] = [];
  let pty: ReturnType<typeof openHostPty> | undefined;
  try {
    return recording(entries, () => {
      const fifo = join(dir, FIFO);
      mkfifo(fifo, 0o622);
      const startFd = open(fifo, O.RDWR | O.CLOEXEC, 'O_RDWR|O_CLOEXEC');
      fds.push(startFd);
      const limits = spec.resources;
      if (needsCgroup(limits)) {
        try {
          cgroup = createCgroup(opts.id, limits);
        } catch (e) {
          throw new OciError(`linux.resources: ${(e as Error).message}`);
        }
      }
      const joined: Partial<Record<Namespace, number>> = {};
      for (const n of spec.namespaces) {
        if (!n.path) continue;
        try {
          joined[n.type] = open(n.path, O.RDONLY | O.CLOEXEC, 'O_RDONLY|O_CLOEXEC');
        } catch (e) {
          throw new OciError(`config.json: linux.namespaces ${n.type} path ${n.path}: ${(e as Error).message}`);
        }
        fds.push(joined[n.type]!);
      }
      if (spec.process.terminal) {
        pty = openHostPty(spec.process.consoleSize);
        fds.push(pty.slave);
      }
      const plan = buildOciPlan({
        spec, executable, join: joined, startFd, tty: pty ? { slaveFd: pty.slave, slavePath: pty.path } : undefined, preserveFds: opts.preserveFds,
        noPivot: opts.noPivot, seccomp, joinsCgroup: cgroup !== undefined,
      });
      const state = (pid: number, status: SavedState['status']): SavedState => ({
        ociVersion: OCI_VERSION, id: opts.id, status, pid, bundle: opts.bundle, annotations: spec.annotations,
        pidStartTime: processStartTime(pid) ?? '', created: new Date().toISOString(), cgroup: cgroup !== undefined,
        poststart: spec.hooks.poststart, poststop: spec.hooks.poststop, notes: spec.notes,
      });
      const beforeContinue = (pid: number): void => {
        cgroup?.addProcess(pid);
        if (plan.uidMap && plan.gidMap) writeIdMaps(pid, formatIdMap(plan.uidMap), formatIdMap(plan.gidMap));
        for (const r of spec.process.rlimits) {
          const res = RLIMITS[r.type];
          if (res === undefined) throw new OciError(`config.json: process.rlimits type ${JSON.stringify(r.type)} is not a Linux RLIMIT_*`);
          prlimit(pid, res, r.type, BigInt(r.soft), BigInt(r.hard));
        }
        if (spec.process.oomScoreAdj !== undefined) writeFileSync(`/proc/${pid}/oom_score_adj`, String(spec.process.oomScoreAdj));
        for (const [k, v] of Object.entries(spec.sysctl)) writeSysctl(pid, k, v);
        // The environment exists and the init waits: "created" (runtime.md: after step 2 of the lifecycle).
        const s = state(pid, 'created');
        runHooks('prestart', spec.hooks.prestart, s);
        runHooks('createRuntime', spec.hooks.createRuntime, s);
      };
      const umask = spec.process.umask === undefined ? undefined : process.umask(spec.process.umask);
      let spawned;
      try {
        // linux.namespaces pid with a path: the init is born in that PID namespace (this thread's for children, for the clone).
        spawned = syscallLog.within(opts.id, () => inPidNamespace(joined.pid, () => spawnProcess({ flags: plan.flags, program: plan.program, beforeContinue })));
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
      const pid = spawned.pid;
      if (pty && opts.consoleSocket) {
        const sock = connectUnix(opts.consoleSocket);
        try {
          sendFd(sock, pty.master, pty.path);
        } finally {
          close(sock);
        }
      }
      const saved = state(pid, 'created');
      saveState(opts.root, saved);
      if (opts.pidFile) {
        writeFileSync(opts.pidFile + '.tmp', String(pid));
        renameSync(opts.pidFile + '.tmp', opts.pidFile);
      }
      for (const note of spec.notes) opts.log.write('warning', note);
      return { pid, state: saved };
    });
  } catch (e) {
    if (cgroup) void cgroup.remove().catch(() => undefined);
    removeStateDir(opts.root, opts.id);
    throw e;
  } finally {
    for (const fd of fds) close(fd);
    if (pty) close(pty.master);
    try {
      appendSyscalls(dir, entries);
    } catch {
      // the state dir is gone after a failure
    }
  }
}

/** `start`: one byte into exec.fifo releases the init into its seccomp/execve tail. */
export function startContainer(root: string, s: SavedState): void {
  const dir = stateDir(root, s.id);
  const fifo = join(dir, FIFO);
  const entries: SyscallEntry[] = [];
  recording(entries, () => {
    // O_NONBLOCK: with no reader (the init died) this fails with ENXIO instead of blocking.
    const fd = open(fifo, O.WRONLY | O.NONBLOCK | O.CLOEXEC, 'O_WRONLY|O_NONBLOCK|O_CLOEXEC');
    try {
      syscallLog.within(s.id, () => {
        const n = write(fd, Buffer.from([0]));
        if (n !== 1) throw new OciError(`could not release container ${s.id} (wrote ${n} bytes to ${fifo})`);
      });
    } finally {
      close(fd);
    }
    unlinkSync(fifo);
  });
  appendSyscalls(dir, entries);
  saveState(root, { ...s, status: 'running' });
}

export const readSyscallLog = (root: string, id: string): string => readFileSync(join(stateDir(root, id), SYSCALL_LOG), 'utf8');
