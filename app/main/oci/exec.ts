// `locker oci exec`: a new process in a created or running container, as `runc exec` (what conmon
// runs for `podman exec`: --process FILE --pid-file F --detach [--tty --console-socket S]). The
// process comes from --process (a runtime-spec Process) or from config.json's process with the
// command line's args and overrides; the container's seccomp filter comes from its config.json,
// its namespaces, root and cgroups from its init. The launch is appended to the state dir's
// syscall log, beside the container's own.
import { closeSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { O } from '../../../native/constants';
import { SyscallError } from '../../../native/errors';
import { close, connectUnix, kill, prlimit, sendFd } from '../../../native/libc';
import { spawnProcess } from '../../../native/spawn';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import { NAMESPACES, type Namespace } from '../../shared/types';
import { joinCgroupPaths } from '../runtime/cgroups';
import { processCgroupPaths } from '../runtime/foreign';
import { sharesNamespace } from '../runtime/inspect/namespaces';
import { CAPS, type CapName } from '../runtime/security/capabilities';
import { openContainerPtyPair, type PtyPair } from '../runtime/terminal';
import { ConfigError, parseProcess, readConfig, type OciProcess } from './config';
import { appendSyscalls, findExecutable, inPidNamespace, openHostPty, recording, RLIMITS, seccompFilter } from './create';
import type { OciLog } from './log';
import { buildOciExecPlan } from './plan';
import { OciError, currentStatus, loadState, stateDir } from './state';

export interface ExecOptions {
  root: string;
  id: string;
  /** --process FILE: the whole process; otherwise `args` with the overrides below on config.json's process. */
  processFile?: string;
  args: string[];
  pidFile?: string;
  consoleSocket?: string;
  tty: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  preserveFds: number;
  log: OciLog;
}

function readProcessFile(file: string, notes: string[]): OciProcess {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new OciError(`cannot read --process ${file}: ${(e as Error).message}; give a runtime-spec process JSON`);
  }
  return parseProcess(raw, (k) => `${file}: ${k}`, notes);
}

function parseUser(text: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new OciError(`--user ${JSON.stringify(text)}: give UID[:GID] as numbers (e.g. 1000:1000)`);
  return { uid: Number(m[1]), gid: m[2] === undefined ? undefined : Number(m[2]) };
}

/** The process to run: --process as given, or config.json's with the command line's changes (as runc exec). */
function processOf(opts: ExecOptions, base: OciProcess, notes: string[]): OciProcess {
  if (opts.processFile) {
    if (opts.args.length) throw new OciError('give the command either in --process FILE or after the container id, not both');
    const p = readProcessFile(opts.processFile, notes);
    return opts.tty ? { ...p, terminal: true } : p;
  }
  if (opts.args.length === 0) throw new OciError(`no command given; e.g. locker oci exec ${opts.id} sh (or --process FILE)`);
  const p: OciProcess = { ...base, args: opts.args, terminal: opts.tty, consoleSize: undefined, caps: { ...base.caps } };
  if (opts.cwd !== undefined) {
    if (!opts.cwd.startsWith('/')) throw new OciError(`--cwd ${opts.cwd}: give an absolute path`);
    p.cwd = opts.cwd;
  }
  const names = new Set(opts.env.map((e) => e.split('=', 1)[0]));
  p.env = [...base.env.filter((e) => !names.has(e.split('=', 1)[0])), ...opts.env];
  if (opts.user !== undefined) {
    const u = parseUser(opts.user);
    p.uid = u.uid;
    if (u.gid !== undefined) p.gid = u.gid;
  }
  if (opts.additionalGids.length) p.additionalGids = opts.additionalGids;
  for (const c of opts.caps) {
    const name = c.toUpperCase().replace(/^CAP_/, '') as CapName;
    if (!CAPS.includes(name)) throw new OciError(`--cap ${c}: not a capability Locker knows (e.g. CAP_NET_ADMIN)`);
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
      if (!p.caps[set].includes(name)) p.caps[set] = [...p.caps[set], name];
    }
  }
  if (opts.noNewPrivs) p.noNewPrivileges = true;
  return p;
}

/** The init's namespaces that are not ours, opened here (the pid one is entered by this thread, see below). */
function openNamespaces(pid: number, fds: number[]): Partial<Record<Namespace, number>> {
  const join: Partial<Record<Namespace, number>> = {};
  for (const ns of NAMESPACES) {
    if (sharesNamespace(pid, ns)) continue;
    join[ns] = openSync(`/proc/${pid}/ns/${ns}`, O.RDONLY | O.CLOEXEC);
    fds.push(join[ns]!);
  }
  return join;
}

export interface Execed {
  pid: number;
}

/** Starts the process and returns its (host) pid; the caller waits for it unless --detach. */
export function execProcess(opts: ExecOptions): Execed {
  const s = loadState(opts.root, opts.id);
  const status = currentStatus(opts.root, s);
  if (status === 'stopped') throw new OciError(`cannot exec in container ${s.id}: it is stopped`);
  let spec;
  try {
    spec = readConfig(s.bundle);
  } catch (e) {
    throw new OciError(`container ${s.id}: ${(e as Error).message} (exec takes the container's seccomp filter from it)`);
  }
  const proc = processOf(opts, spec.process, spec.notes);
  if (proc.terminal && !opts.consoleSocket) throw new OciError('the process has a terminal: give --console-socket PATH to receive the pty master (or run it without --tty)');
  if (!proc.terminal && opts.consoleSocket) throw new OciError('--console-socket is only for a process with a terminal (--tty or "terminal": true)');
  const seccomp = seccompFilter(spec);
  const entries: SyscallEntry[] = [];
  const fds: number[] = [];
  let pty: PtyPair | undefined;
  try {
    return recording(entries, () => {
      const join = openNamespaces(s.pid, fds);
      const rootFd = openSync(`/proc/${s.pid}/root`, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      fds.push(rootFd);
      const executable = findExecutable(`/proc/${s.pid}/root`, proc);
      if (proc.terminal) {
        const [cols, rows] = [proc.consoleSize?.width || 80, proc.consoleSize?.height || 24];
        if (join.mnt !== undefined) pty = openContainerPtyPair(s.pid, cols, rows);
        else {
          const h = openHostPty({ width: cols, height: rows });
          pty = { master: h.master, slave: h.slave, pty: h.path };
        }
      }
      const program = buildOciExecPlan({
        join, rootFd, executable, process: proc, preserveFds: opts.preserveFds, seccomp,
        tty: pty ? { slaveFd: pty.slave, slavePath: pty.pty } : undefined,
      });
      const cgroups = processCgroupPaths(s.pid);
      const beforeContinue = (pid: number): void => {
        joinCgroupPaths(cgroups, pid);
        for (const r of proc.rlimits) {
          const res = RLIMITS[r.type];
          if (res === undefined) throw new OciError(`process.rlimits type ${JSON.stringify(r.type)} is not a Linux RLIMIT_*`);
          prlimit(pid, res, r.type, BigInt(r.soft), BigInt(r.hard));
        }
        if (proc.oomScoreAdj !== undefined) writeFileSync(`/proc/${pid}/oom_score_adj`, String(proc.oomScoreAdj));
      };
      const umask = proc.umask === undefined ? undefined : process.umask(proc.umask);
      let spawned;
      try {
        spawned = syscallLog.within(s.id, () => inPidNamespace(join.pid, () => spawnProcess({ flags: 0, program, beforeContinue })));
      } catch (e) {
        if (e instanceof SyscallError && e.syscall === 'getcwd') throw new OciError(`process.cwd ${proc.cwd} leads outside the container's root; pick a directory inside it`);
        if (e instanceof SyscallError && e.syscall === 'chdir') throw new OciError(`process.cwd ${proc.cwd}: ${e.message}`);
        throw e;
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
      if (pty && opts.consoleSocket) {
        const sock = connectUnix(opts.consoleSocket);
        try {
          sendFd(sock, pty.master, pty.pty);
        } finally {
          close(sock);
        }
      }
      if (opts.pidFile) {
        writeFileSync(opts.pidFile + '.tmp', String(spawned.pid));
        renameSync(opts.pidFile + '.tmp', opts.pidFile);
      }
      for (const note of spec.notes) opts.log.write('warning', note);
      return { pid: spawned.pid };
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new OciError(e.message);
    throw e;
  } finally {
    for (const fd of fds) closeSync(fd);
    if (pty) {
      close(pty.master);
      close(pty.slave);
    }
    appendSyscalls(stateDir(opts.root, s.id), entries);
  }
}

/** Without --detach the runtime stays the process's parent: signals it gets are passed on. */
export function forwardSignals(pid: number): () => void {
  const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
  const handlers = sigs.map((sig) => {
    const h = (): void => void kill(pid, constants.signals[sig], 3 /* ESRCH */);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };
}
