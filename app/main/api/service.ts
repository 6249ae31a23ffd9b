// LockerApi on top of a ContainerRuntime plus host shells: the one implementation that both
// transports (Electron IPC, WebSocket) call. It knows nothing about either of them.
import { hostname as osHostname } from 'node:os';
import type {
  CallArg, CallName, Envelope, EventName, HostInfo, LockerCalls, LockerEvents, RunResult, TerminalInfo, TerminalSnapshot,
} from '../../shared/api';
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
}

type Listener<E extends EventName> = (payload: LockerEvents[E]) => void;

export class LockerService implements LockerCalls {
  private readonly sessions = new Map<string, TerminalSession>();
  private readonly listeners: { [E in EventName]: Set<Listener<E>> } = { containers: new Set(), terminalData: new Set(), terminalExit: new Set() };
  private readonly stopWatching: () => void;
  private counter = 0;

  constructor(private readonly runtime: ContainerRuntime, private readonly opts: ServiceOptions = {}) {
    this.stopWatching = runtime.onChange((containers) => {
      // A removed container's terminals can never be written to again.
      const alive = new Set(containers.map((c) => c.id));
      for (const s of this.sessions.values()) {
        if (s.info.containerId && !alive.has(s.info.containerId)) this.dropSession(s.info.terminalId);
      }
      this.emit('containers', containers);
    });
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
    });
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

  /** Closes every terminal this service opened (host shells die; containers keep running). */
  dispose(): void {
    this.stopWatching();
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
