// LockerApi on top of a ContainerRuntime plus host shells: the one implementation that both
// transports (Electron IPC, WebSocket) call. It knows nothing about either of them.
import { hostname as osHostname } from 'node:os';
import {
  SYSCALL_BACKLOG, SYSCALL_BATCH_MS,
  type CallArg, type CallName, type Envelope, type EquivalentCommands, type EventName, type HostCheckReport, type HostCleanup, type HostInfo, type LessonList, type LockerCalls,
  type LockerEvents, type PreflightCheck, type RunResult, type SteppingStatus, type SyscallRecord, type TerminalInfo, type TerminalSnapshot, type VerifyResult,
} from '../../shared/api';
import { Stepper, type StepStatus } from '../../../native/stepper';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import { loadLessons } from '../lessons/loader';
import { verifyRules } from '../lessons/verify';
import type { ContainerInfo, DirListing, Inspection } from '../../shared/types';
import type { ContainerRuntime, TerminalHandle } from '../runtime/handles';
import { spawnHostShell, type HostShell } from '../terminals/host-shell';
import { TerminalSession } from '../terminals/session';
import { validateCall } from './validate';

export interface ServiceOptions {
  /** Replaced in tests so they need no real pty. */
  spawnHostShell?: (cols: number, rows: number) => HostShell;
  /** The shell an exec terminal runs inside the container. */
  execShell?: string[];
  /** Where lessons/*.json live (default: the repo's lessons/ or $LOCKER_LESSONS_DIR). */
  lessonsDir?: string;
}

/** Per-container syscall history (capped) plus what has not been sent yet. */
interface SyscallTrack {
  seq: number;
  backlog: SyscallRecord[];
  pending: SyscallRecord[];
}

/** Loaded on first use: it pulls in the native helper, which transport tests never need. */
function hostCheckModule(): typeof import('../runtime/host-check') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../runtime/host-check') as typeof import('../runtime/host-check');
}

type Listener<E extends EventName> = (payload: LockerEvents[E]) => void;

export class LockerService implements LockerCalls {
  private readonly sessions = new Map<string, TerminalSession>();
  private readonly listeners: { [E in EventName]: Set<Listener<E>> } = { containers: new Set(), terminalData: new Set(), terminalExit: new Set(), syscalls: new Set(), stepping: new Set() };
  /** Step-through launches by container id, from clone until exec (or cancel/failure). */
  private readonly steppers = new Map<string, Stepper>();
  private readonly stopWatching: () => void;
  private readonly stopLogging: () => void;
  private readonly syscalls = new Map<string, SyscallTrack>();
  private flushTimer: NodeJS.Timeout | undefined;
  private counter = 0;
  private readonly baseline: { at: number; snapshot: import('../runtime/host-check').HostSnapshot; dataDir: string } | undefined;

  constructor(private readonly runtime: ContainerRuntime, private readonly opts: ServiceOptions = {}) {
    this.stopWatching = runtime.onChange((containers) => {
      // A removed container's terminals can never be written to again.
      const alive = new Set(containers.map((c) => c.id));
      for (const s of this.sessions.values()) {
        if (s.info.containerId && !alive.has(s.info.containerId)) this.dropSession(s.info.terminalId);
      }
      for (const cid of this.syscalls.keys()) if (!alive.has(cid) && !this.steppers.has(cid)) this.syscalls.delete(cid);
      this.emit('containers', containers);
    });
    // The runtime reports libc calls only while someone listens: listen from the start, so a
    // container's log is complete however late a window opens it.
    this.stopLogging = syscallLog.subscribe((e) => this.onSyscall(e));
    // The host as it was at app start, for the host check (only with the real runtime: it owns a data dir).
    const dataDir = (runtime as { dataRoot?: unknown }).dataRoot;
    if (typeof dataDir === 'string') {
      try {
        this.baseline = { at: Date.now(), snapshot: hostCheckModule().snapshotHost(dataDir), dataDir };
      } catch {
        this.baseline = undefined;
      }
    }
  }

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    const set = this.listeners[event] as Set<Listener<E>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Validates the raw argument, runs the call and wraps the outcome; never throws. */
  async dispatch(method: string, arg: unknown): Promise<Envelope<unknown>> {
    try {
      const checked = validateCall(method as CallName, arg);
      const fn = this[method as CallName] as (a: unknown) => Promise<unknown>;
      return { result: await fn.call(this, checked) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  async hostInfo(): Promise<HostInfo> {
    return { hostname: osHostname(), defaultRootfsLabel: 'embedded default (busybox)', uid: process.getuid?.() ?? -1 };
  }

  async listContainers(): Promise<ContainerInfo[]> {
    return this.runtime.list();
  }

  async run(req: CallArg<'run'>): Promise<RunResult> {
    const handle = await this.runtime.run({
      command: req.command,
      rootfs: req.rootfs ? req.rootfs : undefined,
      hostname: req.hostname,
      namespaces: req.namespaces,
      tty: true,
      cols: req.cols,
      rows: req.rows,
      memory: req.memory,
      cpus: req.cpus,
      pidsLimit: req.pidsLimit,
    }, req.stepThrough ? { stepper: this.newStepper() } : {});
    const { info } = handle;
    let terminal: TerminalInfo | undefined;
    if (handle.terminal) {
      terminal = { terminalId: `c-${info.id}`, kind: 'container', containerId: info.id, title: `${info.name}: ${info.command.join(' ')}` };
      this.addSession(terminal, handle.terminal, handle.exited.then((i) => i.exitCode ?? -1));
    }
    return { container: info, terminal };
  }

  async stop(req: CallArg<'stop'>): Promise<ContainerInfo> {
    return this.runtime.stop(req.id, 2000);
  }

  async remove(req: CallArg<'remove'>): Promise<null> {
    await this.runtime.remove(req.id, true);
    for (const s of [...this.sessions.values()]) if (s.info.containerId === req.id) this.dropSession(s.info.terminalId);
    return null;
  }

  async inspect(req: CallArg<'inspect'>): Promise<Inspection> {
    return this.runtime.inspect(req.id);
  }

  async listDir(req: CallArg<'listDir'>): Promise<DirListing> {
    return this.runtime.listDir(req.id, req.side, req.path);
  }

  async listTerminals(req: CallArg<'listTerminals'>): Promise<TerminalInfo[]> {
    return [...this.sessions.values()].filter((s) => s.info.containerId === req.id).map((s) => s.info);
  }

  async openHostShell(req: CallArg<'openHostShell'>): Promise<TerminalInfo> {
    const shell = (this.opts.spawnHostShell ?? spawnHostShell)(req.cols, req.rows);
    const info: TerminalInfo = { terminalId: `h-${++this.counter}`, kind: 'host', title: `host shell (pid ${shell.pid})` };
    this.addSession(info, shell.terminal, shell.exited);
    return info;
  }

  async exec(req: CallArg<'exec'>): Promise<TerminalInfo> {
    const argv = this.opts.execShell ?? ['/bin/sh'];
    const handle = await this.runtime.exec(req.id, argv, { tty: true, cols: req.cols, rows: req.rows });
    if (!handle.terminal) throw new Error('the runtime started the exec without a terminal');
    const n = ++this.counter;
    const info: TerminalInfo = { terminalId: `x-${n}`, kind: 'exec', containerId: req.id, title: `exec ${argv.join(' ')} (host pid ${handle.pid})` };
    this.addSession(info, handle.terminal, handle.exited);
    return info;
  }

  async attachTerminal(req: CallArg<'attachTerminal'>): Promise<TerminalSnapshot> {
    return this.session(req.terminalId).snapshot();
  }

  async writeTerminal(req: CallArg<'writeTerminal'>): Promise<null> {
    this.session(req.terminalId).write(req.data);
    return null;
  }

  async resizeTerminal(req: CallArg<'resizeTerminal'>): Promise<null> {
    this.session(req.terminalId).resize(req.cols, req.rows);
    return null;
  }

  async ackTerminal(req: CallArg<'ackTerminal'>): Promise<null> {
    // Acks may race a close; a vanished terminal has nothing left to resume.
    this.sessions.get(req.terminalId)?.ack(req.bytes);
    return null;
  }

  async closeTerminal(req: CallArg<'closeTerminal'>): Promise<null> {
    this.session(req.terminalId);
    this.dropSession(req.terminalId);
    return null;
  }

  async listLessons(): Promise<LessonList> {
    return loadLessons(this.opts.lessonsDir);
  }

  async verifyStep(req: CallArg<'verifyStep'>): Promise<VerifyResult> {
    const { lessons } = loadLessons(this.opts.lessonsDir);
    const lesson = lessons.find((l) => l.id === req.lessonId);
    if (!lesson) throw new Error(`no lesson "${req.lessonId}"; the lessons are ${lessons.map((l) => l.id).join(', ') || 'none'}`);
    const step = lesson.steps.find((s) => s.id === req.stepId);
    if (!step) throw new Error(`lesson "${lesson.id}" has no step "${req.stepId}"`);
    if (!this.runtime.get(req.id)) throw new Error(`no container "${req.id}"`);
    return verifyRules(step.verify, { runtime: this.runtime, id: req.id });
  }

  async syscallLog(req: CallArg<'syscallLog'>): Promise<SyscallRecord[]> {
    const info = this.runtime.get(req.id);
    // a step-through launch has a log before it is a container (and keeps it for a while when cancelled)
    const track = this.syscalls.get(info?.id ?? req.id);
    if (!info && !track && !this.steppers.has(req.id)) throw new Error(`no container "${req.id}"`);
    // pending entries are in the backlog already and will also arrive as an event: the client dedupes by seq
    return track ? [...track.backlog] : [];
  }

  async preflight(): Promise<PreflightCheck[]> {
    // loaded on first use: the checks pull in the native helper
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const doctor = require('../doctor') as typeof import('../doctor');
    return doctor.runChecks().map((c) => ({ id: c.id, title: c.title, status: c.status, detail: c.detail, ...(c.fix ? { fix: c.fix } : {}) }));
  }

  async equivalent(req: CallArg<'equivalent'>): Promise<EquivalentCommands> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const eq = require('../equivalent') as typeof import('../equivalent');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { validateSpec } = require('../runtime/spec') as typeof import('../runtime/spec');
    const rootless = (process.getuid?.() ?? 0) !== 0;
    const spec = validateSpec({
      command: req.command, rootfs: req.rootfs ? req.rootfs : undefined, hostname: req.hostname, namespaces: req.namespaces, tty: true,
      memory: req.memory, cpus: req.cpus, pidsLimit: req.pidsLimit,
    }, rootless);
    const e = eq.equivalents(eq.equivalentInput(spec, rootless));
    return { unshare: e.unshare, runcConfig: JSON.stringify(e.ociConfig, null, 2), docker: e.docker, notes: e.notes };
  }

  async hostCheck(): Promise<HostCheckReport> {
    const b = this.requireBaseline();
    const hc = hostCheckModule();
    return { since: b.at, leaks: hc.compareHost(b.snapshot, hc.snapshotHost(b.dataDir)) };
  }

  async cleanupHost(): Promise<HostCleanup> {
    const b = this.requireBaseline();
    const hc = hostCheckModule();
    return hc.cleanupLeaks(b.dataDir, hc.compareHost(b.snapshot, hc.snapshotHost(b.dataDir)));
  }

  async listStepping(): Promise<SteppingStatus[]> {
    return [...this.steppers.entries()].map(([id, s]) => steppingStatus(id, s.current));
  }

  async stepNext(req: CallArg<'stepNext'>): Promise<SteppingStatus> {
    const s = this.stepper(req.id);
    s.next();
    return steppingStatus(req.id, s.current);
  }

  async stepRunToEnd(req: CallArg<'stepRunToEnd'>): Promise<SteppingStatus> {
    const s = this.stepper(req.id);
    s.runToEnd();
    return steppingStatus(req.id, s.current);
  }

  async stepCancel(req: CallArg<'stepCancel'>): Promise<SteppingStatus> {
    const s = this.stepper(req.id);
    s.cancel();
    return steppingStatus(req.id, s.current);
  }

  private stepper(id: string): Stepper {
    const s = this.steppers.get(id);
    if (!s) throw new Error(`no step-through launch "${id}" (it has exec'd, ended, or was never started with stepThrough)`);
    return s;
  }

  /** A stepper whose every change goes out as a `stepping` event, after the syscalls that led to it. */
  private newStepper(): Stepper {
    const stepper = new Stepper();
    stepper.onChange((st) => {
      const id = stepper.label;
      if (!id) return;
      const ended = st.state === 'done' || st.state === 'cancelled' || st.state === 'failed';
      if (ended) this.steppers.delete(id);
      else this.steppers.set(id, stepper);
      this.flushSyscalls();
      this.emit('stepping', steppingStatus(id, st));
    });
    return stepper;
  }

  private requireBaseline(): NonNullable<LockerService['baseline']> {
    if (!this.baseline) throw new Error('no host snapshot from app start (this runtime has no data dir on the host)');
    return this.baseline;
  }

  private onSyscall(e: SyscallEntry): void {
    if (!e.container) return;
    let track = this.syscalls.get(e.container);
    if (!track) this.syscalls.set(e.container, (track = { seq: 0, backlog: [], pending: [] }));
    const rec: SyscallRecord = { seq: ++track.seq, where: e.where, name: e.name, args: e.args, result: String(e.result), t: e.t };
    if (e.errno) rec.errno = e.errno;
    track.backlog.push(rec);
    if (track.backlog.length > SYSCALL_BACKLOG) track.backlog.splice(0, track.backlog.length - SYSCALL_BACKLOG);
    track.pending.push(rec);
    this.flushTimer ??= setTimeout(() => this.flushSyscalls(), SYSCALL_BATCH_MS);
  }

  private flushSyscalls(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const [containerId, track] of this.syscalls) {
      if (track.pending.length === 0) continue;
      const entries = track.pending.splice(0).slice(-SYSCALL_BACKLOG);
      this.emit('syscalls', { containerId, entries });
    }
  }

  /** Closes every terminal this service opened (host shells die; containers keep running). */
  dispose(): void {
    // a paused setup would wait forever for a window that is gone
    for (const s of this.steppers.values()) {
      try {
        s.cancel();
      } catch {
        // already running to exec
      }
    }
    this.stopWatching();
    this.stopLogging();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const id of [...this.sessions.keys()]) this.dropSession(id);
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private addSession(info: TerminalInfo, handle: TerminalHandle, exited: Promise<number>): void {
    const session = new TerminalSession(info, handle, exited, {
      data: (ev) => this.emit('terminalData', ev),
      exit: (ev) => this.emit('terminalExit', ev),
    });
    this.sessions.set(info.terminalId, session);
  }

  private session(terminalId: string): TerminalSession {
    const s = this.sessions.get(terminalId);
    if (!s) throw new Error(`no terminal "${terminalId}" (it was closed or its container removed)`);
    return s;
  }

  private dropSession(terminalId: string): void {
    const s = this.sessions.get(terminalId);
    if (!s) return;
    this.sessions.delete(terminalId);
    s.close();
  }

  private emit<E extends EventName>(event: E, payload: LockerEvents[E]): void {
    for (const l of this.listeners[event] as Set<Listener<E>>) {
      try {
        l(payload);
      } catch {
        // one broken subscriber (a closed socket) must not starve the others
      }
    }
  }
}

function steppingStatus(containerId: string, s: StepStatus): SteppingStatus {
  const out: SteppingStatus = { containerId, state: s.state, done: s.done, total: s.total, toEnd: s.toEnd };
  if (s.pid !== undefined) out.pid = s.pid;
  if (s.pending) out.pending = { ...s.pending };
  if (s.error) out.error = s.error;
  return out;
}
