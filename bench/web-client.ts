// The bench's stand-in for the renderer in web mode, run in a worker thread so its own work (parsing
// 100 KB JSON frames) does not count against the event loop of the "main process" being measured.
// It speaks exactly what app/renderer/src/transport/websocket.ts speaks: JSON call messages with ids,
// replies and broadcast events on one WebSocket that offers the token as a subprotocol; and it treats terminal
// output the way TerminalPane does: early events are held until attachTerminal's snapshot, then each
// chunk with offset ≥ snapshot end is shown and acknowledged with exactly its `bytes`.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { Channel, unwrap, type ClientMessage, type Envelope, type RunResult, type ServerMessage, type TerminalData, type TerminalExit, type TerminalSnapshot } from '../app/shared/api';
import type { Namespace } from '../app/shared/types';
import { tokenProtocols } from '../app/shared/web-auth';

export interface ClientData { url: string; token: string; hostPort: string }

/** Requests from the bench (main thread) and what the worker answers. */
export type ClientRequest =
  | { op: 'throughput'; command: string[]; minBytes: number; exactBytes?: number; rootfs?: string }
  | { op: 'flood'; command: string[] }
  | { op: 'ack'; on: boolean }
  | { op: 'refresh'; on: boolean; everyMs?: number }
  | { op: 'stats' }
  | { op: 'remove'; id: string }
  | { op: 'close' };

export interface ClientStats {
  /** Bytes of terminal output this client has seen so far (of the terminals it attached). */
  bytesSeen: number;
  /** Round trips of inspect calls since the last `refresh on`. */
  inspectMs: number[];
  inspectErrors: string[];
}

/** The UI's namespaces by default (LaunchPanel: every namespace but user). */
const NAMESPACES: Namespace[] = ['pid', 'uts', 'mnt', 'ipc', 'net', 'cgroup'];
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

class Client {
  private readonly pending = new Map<number, (env: Envelope<unknown>) => void>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private next = 1;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as ServerMessage;
      if (msg.t === 'reply') {
        this.pending.get(msg.id)?.(msg.env);
        this.pending.delete(msg.id);
      } else {
        this.listeners.get(msg.ch)?.forEach((l) => l(msg.payload));
      }
    });
    ws.on('close', () => {
      for (const resolve of this.pending.values()) resolve({ error: 'the connection to Locker closed' });
      this.pending.clear();
    });
  }

  static connect(d: ClientData): Promise<Client> {
    // The page's origin and the token as a subprotocol, as the browser sends them.
    const ws = new WebSocket(`ws://${d.hostPort}/ws`, tokenProtocols(d.token), { headers: { Origin: `http://${d.hostPort}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`web mode refused the WebSocket: HTTP ${res.statusCode}`)));
    });
  }

  call<T>(name: keyof typeof Channel, arg?: unknown): Promise<T> {
    return new Promise<Envelope<unknown>>((resolve) => {
      const id = this.next++;
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ t: 'call', id, ch: Channel[name], arg } satisfies ClientMessage));
    }).then((env) => unwrap(env) as T);
  }

  on<T>(name: keyof typeof Channel, listener: (payload: T) => void): () => void {
    const ch = Channel[name];
    if (!this.listeners.has(ch)) this.listeners.set(ch, new Set());
    const set = this.listeners.get(ch)!;
    const l = listener as (payload: unknown) => void;
    set.add(l);
    return () => void set.delete(l);
  }

  /** A fire-and-forget call (an ack): no id, no reply. */
  notify(name: keyof typeof Channel, arg?: unknown): void {
    this.ws.send(JSON.stringify({ t: 'notify', ch: Channel[name], arg } satisfies ClientMessage));
  }

  close(): void {
    this.ws.close();
  }
}

/** One terminal pane as TerminalPane wires it; `acking` decides whether rendered chunks are acknowledged. */
class Pane {
  received = 0;
  first = 0;
  last = 0;
  exited: Promise<TerminalExit>;
  private end = -1;
  private readonly early: TerminalData[] = [];
  private readonly offs: (() => void)[] = [];

  constructor(private readonly c: Client, readonly terminalId: string, public acking: boolean) {
    this.offs.push(c.on<TerminalData>('terminalData', (d) => {
      if (d.terminalId !== terminalId) return;
      if (this.end < 0) this.early.push(d);
      else if (d.offset >= this.end) this.show(d);
    }));
    this.exited = new Promise((resolve) => this.offs.push(c.on<TerminalExit>('terminalExit', (e) => e.terminalId === terminalId && resolve(e))));
  }

  async attach(): Promise<void> {
    const snap = await this.c.call<TerminalSnapshot>('attachTerminal', { terminalId: this.terminalId });
    if (snap.end > 0) this.count(snap.end);
    this.end = snap.end;
    for (const d of this.early.splice(0)) if (d.offset >= this.end) this.show(d);
  }

  private show(d: TerminalData): void {
    this.count(d.bytes);
    // xterm would parse it first; the stand-in has nothing to draw, so it acks on arrival
    if (this.acking) this.c.notify('ackTerminal', { terminalId: this.terminalId, bytes: d.bytes });
  }

  private count(bytes: number): void {
    const t = nowMs();
    if (!this.first) this.first = t;
    this.last = t;
    this.received += bytes;
  }

  dispose(): void {
    this.offs.forEach((off) => off());
  }
}

async function serve(d: ClientData): Promise<void> {
  const c = await Client.connect(d);
  const stats: ClientStats = { bytesSeen: 0, inspectMs: [], inspectErrors: [] };
  c.on<TerminalData>('terminalData', (ev) => (stats.bytesSeen += ev.bytes));
  let flood: Pane | undefined;
  let floodId = '';
  let refresh: NodeJS.Timeout | undefined;

  /** What the UI does to show a container's terminal: run (from the form), listTerminals, attach. */
  const start = async (command: string[], acking: boolean, rootfs?: string): Promise<{ id: string; pane: Pane }> => {
    const run = await c.call<RunResult>('run', { command, namespaces: NAMESPACES, cols: 120, rows: 40, ...(rootfs ? { rootfs } : {}) });
    if (!run.terminal) throw new Error('run gave no terminal');
    const pane = new Pane(c, run.terminal.terminalId, acking);
    await pane.attach();
    return { id: run.container.id, pane };
  };

  const handle = async (req: ClientRequest): Promise<unknown> => {
    switch (req.op) {
      case 'throughput': {
        const { id, pane } = await start(req.command, true, req.rootfs);
        await pane.exited;
        // the exit is sent after the last byte of output
        pane.dispose();
        await c.call('remove', { id });
        if (req.exactBytes !== undefined && pane.received !== req.exactBytes) throw new Error(`the web client got ${pane.received} bytes, expected exactly ${req.exactBytes}`);
        if (pane.received < req.minBytes) throw new Error(`the web client got ${pane.received} of ${req.minBytes} bytes`);
        return { bytes: pane.received, seconds: (pane.last - pane.first) / 1000, id };
      }
      case 'flood': {
        const s = await start(req.command, true);
        flood = s.pane;
        floodId = s.id;
        return { id: s.id, terminalId: s.pane.terminalId };
      }
      case 'ack':
        if (flood) flood.acking = req.on;
        return null;
      case 'refresh': {
        if (refresh) clearInterval(refresh);
        refresh = undefined;
        if (!req.on) return null;
        stats.inspectMs = [];
        stats.inspectErrors = [];
        let inFlight = false;
        // SideBySide's refresh: every REFRESH_MS, never queued behind a slow inspection
        const tick = (): void => {
          if (inFlight) return;
          inFlight = true;
          const t0 = nowMs();
          c.call('inspect', { id: floodId }).then(
            () => stats.inspectMs.push(nowMs() - t0),
            (e: Error) => stats.inspectErrors.push(e.message),
          ).finally(() => (inFlight = false));
        };
        tick();
        refresh = setInterval(tick, req.everyMs ?? 500);
        return null;
      }
      case 'stats':
        return { ...stats, inspectMs: [...stats.inspectMs] };
      case 'remove':
        await c.call('remove', { id: req.id });
        return null;
      case 'close':
        if (refresh) clearInterval(refresh);
        flood?.dispose();
        c.close();
        return null;
    }
  };

  parentPort!.on('message', (m: { seq: number; req: ClientRequest }) => {
    handle(m.req).then(
      (result) => parentPort!.postMessage({ seq: m.seq, result }),
      (e: Error) => parentPort!.postMessage({ seq: m.seq, error: e.message }),
    );
  });
  parentPort!.postMessage({ seq: 0, result: 'ready' });
}

if (parentPort && workerData?.locker_bench_client) {
  serve(workerData.locker_bench_client as ClientData).catch((e: Error) => parentPort!.postMessage({ seq: 0, error: e.message }));
}
