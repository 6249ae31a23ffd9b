// LockerApi on top of a ContainerRuntime plus host shells: the one implementation that both
// transports (Electron IPC, WebSocket) call. It knows nothing about either of them.
import { hostname as osHostname } from 'node:os';
import {
  SYSCALL_BACKLOG, SYSCALL_BATCH_MS,
  type CallArg, type CallName, type Envelope, type EquivalentCommands, type EventName, type HostCheckReport, type HostCleanup, type HostInfo, type LessonList, type LockerCalls,
  type LockerEvents, type PreflightCheck, type RootfsLayers, type RunResult, type SteppingStatus, type SyscallRecord, type TerminalInfo, type TerminalSnapshot, type VerifyResult,
} from '../../shared/api';
import { Stepper, type StepStatus } from '../../../native/stepper';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import { loadLessons } from '../lessons/loader';
import { EnteredLines } from '../lessons/typed-lines';
import { verifyRules } from '../lessons/verify';
import type { ContainerInfo, DirListing, Inspection } from '../../shared/types';
import type { ContainerRuntime, TerminalHandle } from '../runtime/handles';
import { spawnHostShell, type HostShell } from '../terminals/host-shell';
import { TerminalSession } from '../terminals/session';
import { hostCapabilities } from './capabilities';
import { rootfsLayers } from './rootfs-layers';
import { MissingSource, checkBinds, shareDirFor, volumesInShare } from './share-volumes';
import { sameContainers, type ForeignSource } from './foreign-source';
import { validateCall } from './validate';
import { InspectionWatches } from './inspection-watch';
import type { InspectionEvent } from '../../shared/inspection-diff';

export interface ServiceOptions {
  /** Replaced in tests so they need no real pty. */
  spawnHostShell?: (cols: number, rows: number) => HostShell;
  /** The shell an exec terminal runs inside the container. */
  execShell?: string[];
  /** Where lessons/*.json live (default: the repo's lessons/ or $LOCKER_LESSONS_DIR). */
  lessonsDir?: string;
  /** Other engines' containers, shown beside Locker's own (the real app: discovery on this machine). */
  foreign?: ForeignSource;
  /** How often the machine is scanned for other engines' containers (they send no events). */
  foreignPollMs?: number;
  /** Where the app's volumes may come from (default: $LOCKER_SHARE_DIR, else `<data dir>/share`). */
  shareDir?: string;
}

/** Per-container syscall history (capped) plus what has not been sent yet. */
interface SyscallTrack {
  seq: number;
  backlog: SyscallRecord[];
  pending: SyscallRecord[];
}

/** Loaded on first use, like host-check: inspection pulls in the native helper. */
function inspectModule(): typeof import('../runtime/inspect') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../runtime/inspect') as typeof import('../runtime/inspect');
}

/** Loaded on first use: it pulls in the native helper, which transport tests never need. */
function hostCheckModule(): typeof import('../runtime/host-check') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../runtime/host-check') as typeof import('../runtime/host-check');
}

type Listener<E extends EventName> = (payload: LockerEvents[E]) => void;

export class LockerService implements LockerCalls {
  private readonly sessions = new Map<string, TerminalSession>();
  /** What was entered in each terminal: lesson steps ask whether their command was run. */
  private readonly entered = new EnteredLines();
  /** What else closing a terminal must do (an exec's process is killed). */
  private readonly closers = new Map<string, () => void>();
  private readonly listeners: { [E in EventName]: Set<Listener<E>> } = { containers: new Set(), terminalData: new Set(), terminalExit: new Set(), syscalls: new Set(), stepping: new Set(), terminals: new Set(), inspection: new Set() };
  /** Step-through launches by container id, from clone until exec (or cancel/failure). */
  private readonly steppers = new Map<string, Stepper>();
  private readonly stopWatching: () => void;
  private foreignShown: ContainerInfo[] = [];
  private foreignTimer: NodeJS.Timeout | undefined;
  private readonly stopLogging: () => void;
  private readonly syscalls = new Map<string, SyscallTrack>();
  private flushTimer: NodeJS.Timeout | undefined;
  private counter = 0;
  private readonly baseline: { at: number; snapshot: import('../runtime/host-check').HostSnapshot; dataDir: string } | undefined;
  /** One refresher per watched container, shared by its watchers (inspection-watch.ts). */
  readonly inspections = new InspectionWatches({
    inspect: (id) => this.inspect({ id }),
    gone: (id) => this.goneReason(id),
    emit: (ev) => this.emit('inspection', ev),
  });

  constructor(private readonly runtime: ContainerRuntime, private readonly opts: ServiceOptions = {}) {
    this.stopWatching = runtime.onChange((own) => {
      const containers = [...own, ...this.foreignShown];
      // A removed container's terminals can never be written to again.
      const alive = new Set(containers.map((c) => c.id));
      for (const s of this.sessions.values()) {
        if (s.info.containerId && !alive.has(s.info.containerId)) this.dropSession(s.info.terminalId);
      }
      for (const cid of this.syscalls.keys()) if (!alive.has(cid) && !this.steppers.has(cid)) this.syscalls.delete(cid);
      this.emit('containers', containers);
      this.inspections.containersChanged();
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
    if (event === 'containers') this.watchForeign();
    return () => set.delete(listener);
  }

  /** Other engines' containers come and go without telling us: scan while a window listens. */
  private watchForeign(): void {
    const source = this.opts.foreign;
    if (!source || this.foreignTimer) return;
    this.foreignTimer = setInterval(() => {
      if (this.listeners.containers.size === 0) return;
      const own = this.runtime.list();
      let found: ContainerInfo[];
      try {
        found = source.list(own);
      } catch {
        return; // a process vanished mid-scan: the next scan sees the machine as it is
      }
      if (sameContainers(found, this.foreignShown)) return;
      this.foreignShown = found;
      this.emit('containers', [...own, ...found]);
    }, this.opts.foreignPollMs ?? 3000);
    this.foreignTimer.unref();
  }

  /** The foreign container `id`, when it is not one of Locker's own (nor a step-through launch). */
  private foreignId(id: string): ForeignSource | undefined {
    if (!this.opts.foreign || this.runtime.get(id) || this.steppers.has(id)) return undefined;
    return this.opts.foreign;
  }

  /** Validates the raw argument, runs the call and wraps the outcome; never throws. */
  /** `reader` names the connection (a window, a web client): terminal flow control is kept per reader. */
  async dispatch(method: string, arg: unknown, reader = ''): Promise<Envelope<unknown>> {
    try {
      const checked = validateCall(method as CallName, arg);
      const fn = this[method as CallName] as (a: unknown, reader: string) => Promise<unknown>;
      return { result: await fn.call(this, checked, reader) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  async hostInfo(): Promise<HostInfo> {
    return { hostname: osHostname(), defaultRootfsLabel: 'embedded default (busybox)', uid: process.getuid?.() ?? -1, capabilities: hostCapabilities(), shareDir: this.shareDir };
  }

  async listContainers(): Promise<ContainerInfo[]> {
    const own = this.runtime.list();
    if (this.opts.foreign) this.foreignShown = this.opts.foreign.list(own);
    return [...own, ...this.foreignShown];
  }

  /** The one folder the app's volumes may bind from (share-volumes.ts). */
  get shareDir(): string {
    const dataRoot = (this.runtime as { dataRoot?: unknown }).dataRoot;
    return this.opts.shareDir ?? shareDirFor(typeof dataRoot === 'string' ? dataRoot : '/var/lib/locker');
  }

  async run(req: CallArg<'run'>): Promise<RunResult> {
    // a page, a student at the form or a lesson binds only what is inside the share folder
    const volumes = volumesInShare(req.volumes ?? [], this.shareDir);
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
      seccomp: req.seccomp,
      capAdd: req.capAdd,
      capDrop: req.capDrop,
      volumes: volumes.map(({ source, target, readonly, propagation }) => ({ source, target, readonly, ...(propagation ? { propagation } : {}) })),
      publish: req.publish, network: req.network,
    }, req.stepThrough ? { stepper: this.newStepper() } : {});
    const { info } = handle;
    const swapped = checkBinds(info.pid, volumes);
    if (swapped) {
      await this.runtime.remove(info.id, true).catch(() => undefined);
      throw new Error(swapped);
    }
    let terminal: TerminalInfo | undefined;
    if (handle.terminal) {
      terminal = { terminalId: `c-${info.id}`, kind: 'container', containerId: info.id, title: `${info.name}: ${info.command.join(' ')}` };
      this.addSession(terminal, handle.terminal, handle.exited.then((i) => i.exitCode ?? -1));
    }
    return { container: info, terminal };
  }

  async stop(req: CallArg<'stop'>): Promise<ContainerInfo> {
    this.refuseForeign(req.id, 'stop');
    return this.runtime.stop(req.id, 2000);
  }

  async remove(req: CallArg<'remove'>): Promise<null> {
    this.refuseForeign(req.id, 'remove');
    await this.runtime.remove(req.id, true);
    for (const s of [...this.sessions.values()]) if (s.info.containerId === req.id) this.dropSession(s.info.terminalId);
    return null;
  }

  /** The app only looks at (and execs into) another engine's container: its engine stops and removes it. */
  private refuseForeign(id: string, what: string): void {
    const c = this.foreignId(id) && this.foreignShown.find((x) => x.id === id);
    if (c) throw new Error(`${c.name} belongs to ${c.engine}; Locker does not ${what} other engines' containers: use ${c.engine} (e.g. ${c.engine} ${what === 'remove' ? 'rm' : what} ${c.name})`);
  }

  async inspect(req: CallArg<'inspect'>): Promise<Inspection> {
    const foreign = this.foreignId(req.id);
    if (foreign) return foreign.inspect(req.id, this.runtime.list());
    const paused = this.pausedPid(req.id);
    if (paused === undefined) return this.runtime.inspect(req.id);
    // A step-through launch is no container yet, but its process exists from clone on: inspect it
    // as it is, so each call's effect shows (no record yet: no network info, limits or exec pids).
    const inspection = await inspectModule().inspectContainerAsync({ id: req.id, pid: paused });
    try {
      const { interfacesAsync } = inspectModule();
      const [host, container] = await Promise.all([interfacesAsync('host'), interfacesAsync(paused)]);
      inspection.network = { host, container };
    } catch {
      // iproute2 missing or the setup just ended: the rest stands
    }
    return inspection;
  }

  async watchInspection(req: CallArg<'watchInspection'>, reader = ''): Promise<InspectionEvent> {
    return this.inspections.watch(req.id, reader);
  }

  async unwatchInspection(req: CallArg<'unwatchInspection'>, reader = ''): Promise<null> {
    this.inspections.unwatch(req.id, reader);
    return null;
  }

  /** Whether the connection `reader` watches container `id`: only then do its `inspection` events go there. */
  watchingInspection(reader: string, id: string): boolean {
    return this.inspections.watching(reader, id);
  }

  /** Why container `id` can no longer be inspected; undefined while it runs (or is being set up step by step). */
  private goneReason(id: string): string | undefined {
    if (this.steppers.has(id)) return undefined;
    const c = this.runtime.get(id);
    if (c) return c.state === 'running' ? undefined : `container ${c.name} has exited${c.exitCode === undefined ? '' : ` (exit status ${c.exitCode})`}`;
    if (this.foreignShown.some((f) => f.id === id)) return undefined;
    return `container "${id}" is gone (removed, or it ended before it was a container)`;
  }

  async listDir(req: CallArg<'listDir'>): Promise<DirListing> {
    const foreign = this.foreignId(req.id);
    if (foreign) return foreign.listDir(req.id, this.runtime.list(), req.side, req.path);
    const paused = this.pausedPid(req.id);
    if (paused === undefined) return this.runtime.listDir(req.id, req.side, req.path);
    return inspectModule().listDirectory(req.side, paused, req.path);
  }

  async rootfsLayers(req: CallArg<'rootfsLayers'>): Promise<RootfsLayers | null> {
    const pid = this.pausedPid(req.id) ?? this.runtime.get(req.id)?.pid ?? this.foreignShown.find((c) => c.id === req.id)?.pid;
    const info = this.runtime.get(req.id);
    if (pid === undefined || (info && info.state !== 'running')) throw new Error(`no running container "${req.id}"`);
    return rootfsLayers(pid, info?.id ?? req.id, (path) => inspectModule().listDirectory('host', pid, path).entries);
  }

  /** The setup process of a step-through launch that has not exec'd yet (undefined otherwise). */
  private pausedPid(id: string): number | undefined {
    return this.runtime.get(id) ? undefined : this.steppers.get(id)?.current.pid;
  }

  async listTerminals(req: CallArg<'listTerminals'>): Promise<TerminalInfo[]> {
    return this.terminalsOf(req.id);
  }

  private terminalsOf(containerId: string): TerminalInfo[] {
    return [...this.sessions.values()].filter((s) => s.info.containerId === containerId).map((s) => s.info);
  }

  /**
   * A window may list a container's terminals before its launch has returned (a step-through
   * launch becomes a container at exec, and its terminal is added only after): every change goes out.
   */
  private terminalsChanged(containerId: string | undefined): void {
    if (containerId) this.emit('terminals', { containerId, terminals: this.terminalsOf(containerId) });
  }

  async openHostShell(req: CallArg<'openHostShell'>): Promise<TerminalInfo> {
    const shell = (this.opts.spawnHostShell ?? spawnHostShell)(req.cols, req.rows);
    const info: TerminalInfo = { terminalId: `h-${++this.counter}`, kind: 'host', title: `host shell (pid ${shell.pid})` };
    this.addSession(info, shell.terminal, shell.exited);
    return info;
  }

  async exec(req: CallArg<'exec'>): Promise<TerminalInfo> {
    const argv = this.opts.execShell ?? ['/bin/sh'];
    const foreign = this.foreignId(req.id);
    const opts = { tty: true, cols: req.cols, rows: req.rows };
    const handle = foreign ? foreign.exec(req.id, this.runtime.list(), argv, opts) : await this.runtime.exec(req.id, argv, opts);
    if (!handle.terminal) throw new Error('the runtime started the exec without a terminal');
    const n = ++this.counter;
    const info: TerminalInfo = { terminalId: `x-${n}`, kind: 'exec', containerId: req.id, title: `exec ${argv.join(' ')} (host pid ${handle.pid})` };
    // closing the tab (or the page) must end the shell: in a PID-namespaced container closing the pty
    // alone leaves it (and exec's helper, which waits for it) running
    this.addSession(info, handle.terminal, handle.exited, () => handle.kill(9));
    return info;
  }

  async attachTerminal(req: CallArg<'attachTerminal'>, reader = ''): Promise<TerminalSnapshot> {
    return this.session(req.terminalId).snapshot(reader);
  }

  async detachTerminal(req: CallArg<'detachTerminal'>, reader = ''): Promise<null> {
    this.sessions.get(req.terminalId)?.detach(reader);
    return null;
  }

  /** A connection ended: none of its readers holds a terminal back any more. */
  readerGone(reader: string): void {
    for (const s of this.sessions.values()) s.detach(reader);
    this.inspections.readerGone(reader);
  }

  async writeTerminal(req: CallArg<'writeTerminal'>): Promise<null> {
    const s = this.session(req.terminalId);
    s.write(req.data);
    if (!s.exited) this.entered.record({ terminalId: req.terminalId, kind: s.info.kind, containerId: s.info.containerId }, req.data);
    return null;
  }

  async resizeTerminal(req: CallArg<'resizeTerminal'>): Promise<null> {
    this.session(req.terminalId).resize(req.cols, req.rows);
    return null;
  }

  async ackTerminal(req: CallArg<'ackTerminal'>, reader = ''): Promise<null> {
    // Acks may race a close; a vanished terminal has nothing left to resume.
    this.sessions.get(req.terminalId)?.ack(req.bytes, reader);
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
    const container = this.runtime.get(req.id);
    if (!container) throw new Error(`no container "${req.id}"`);
    // only what was entered during this step, in this container's lifetime, counts as done for it
    const since = Math.max(req.since ?? 0, container.createdAt);
    return verifyRules(step.verify, { runtime: this.runtime, id: req.id, container, step, entered: this.entered.since(since), shareDir: this.shareDir });
  }

  async syscallLog(req: CallArg<'syscallLog'>): Promise<SyscallRecord[]> {
    const info = this.runtime.get(req.id);
    // a step-through launch has a log before it is a container (and keeps it for a while when cancelled)
    const track = this.syscalls.get(info?.id ?? req.id);
    // Another engine's container: its launch's calls when `locker oci` made them (podman through bin/locker-runtime), else none seen.
    if (!info && !track && !this.steppers.has(req.id) && this.foreignShown.some((c) => c.id === req.id)) return this.opts.foreign?.syscallLog?.(req.id, this.runtime.list()) ?? [];
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
    // the share rule as Run applies it, without making folders for a form that is still being typed
    const notes: string[] = [];
    const volumes = (req.volumes ?? []).flatMap((v) => {
      try {
        return volumesInShare([v], this.shareDir, { create: false }).map(({ source, target, readonly, propagation }) => ({ source, target, readonly, ...(propagation ? { propagation } : {}) }));
      } catch (e) {
        if (!(e instanceof MissingSource)) throw e;
        notes.push(`-v ${v.source}:${v.target}: ${e.message}; it is left out above until then`);
        return [];
      }
    });
    const spec = validateSpec({
      command: req.command, rootfs: req.rootfs ? req.rootfs : undefined, hostname: req.hostname, namespaces: req.namespaces, tty: true,
      memory: req.memory, cpus: req.cpus, pidsLimit: req.pidsLimit, seccomp: req.seccomp, capAdd: req.capAdd, capDrop: req.capDrop,
      volumes,
      publish: req.publish, network: req.network,
    }, rootless);
    const e = eq.equivalents(eq.equivalentInput(spec, rootless));
    return { unshare: e.unshare, runcConfig: JSON.stringify(e.ociConfig, null, 2), docker: e.docker, notes: [...e.notes, ...notes] };
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
      // each released call's effect shows at once in the watched inspection
      this.inspections.refreshNow(id);
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
    if (e.inferred) rec.inferred = e.inferred;
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
    if (this.foreignTimer) clearInterval(this.foreignTimer);
    this.inspections.dispose();
    for (const id of [...this.sessions.keys()]) this.dropSession(id);
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private addSession(info: TerminalInfo, handle: TerminalHandle, exited: Promise<number>, onClose?: () => void): void {
    const session = new TerminalSession(info, handle, exited, {
      data: (ev) => this.emit('terminalData', ev),
      exit: (ev) => this.emit('terminalExit', ev),
    });
    this.sessions.set(info.terminalId, session);
    if (onClose) this.closers.set(info.terminalId, onClose);
    this.terminalsChanged(info.containerId);
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
    this.entered.forget(terminalId);
    const kill = this.closers.get(terminalId);
    this.closers.delete(terminalId);
    s.close();
    this.terminalsChanged(s.info.containerId);
    if (kill && !s.exited) {
      try {
        kill();
      } catch {
        // it has just exited on its own
      }
    }
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
